#pragma once
// Internal to lib/ledger/pg_*.cpp (includes libpq-fe.h): the state behind pg_connection and the
// socket waits its operations are built from.

#include <libpq-fe.h>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <chrono>
#include <deque>
#include <optional>
#include <string>

#include "ledger/pg_connection.hpp"

namespace taskpoller::ledger {

using steady_clock = std::chrono::steady_clock;

/// What a socket wait ended with (several may be true at once).
struct pg_ready {
    bool readable = false;
    bool writable = false;
    bool timed_out = false;  ///< the deadline passed first
    bool closed = false;     ///< no socket (closed, or libpq dropped it)
};

struct pg_connection::impl {
    impl(boost::asio::any_io_executor ex, std::string info)
        : executor(std::move(ex)), conninfo(std::move(info)) {}
    ~impl() { close(); }

    boost::asio::any_io_executor executor;
    std::string conninfo;
    PGconn* conn = nullptr;
    // libpq owns the socket: the descriptor only watches it and is release()d, never closed.
    std::optional<boost::asio::posix::stream_descriptor> socket;
    int socket_fd = -1;
    bool busy = false;  ///< an operation is in progress
    std::deque<pg_notification> notifications;

    /// Releases the descriptor and PQfinish()es; a suspended wait ends with `closed`.
    void close() noexcept;
    /// Watches PQsocket() afresh (it may change while connecting; libpq may drop it).
    void rewatch();
    /// Stops watching a socket libpq has closed or replaced, before its number is reused.
    void sync_socket() noexcept;
    bool ok() const noexcept { return conn != nullptr && PQstatus(conn) == CONNECTION_OK; }

    /// Waits until the socket is readable (want_read) or writable (want_write), or `deadline`.
    boost::asio::awaitable<pg_ready> wait(bool want_read, bool want_write,
                                          steady_clock::time_point deadline);

    /// Sends all queued output before `deadline`, reading input meanwhile as libpq
    /// asks. On failure fills `err` and yields false; a timeout closes the connection.
    boost::asio::awaitable<bool> flush(steady_clock::time_point deadline, pg_error& err);

    /// The next result of the running statement (empty at the end of its results), waiting while
    /// libpq is busy. At `deadline` it sends a cancel request once and waits 2 s more, then
    /// closes. `timed_out` tells whether the deadline passed; on failure `err` is set and the
    /// result is empty with `failed` true.
    boost::asio::awaitable<pg_result> next_result(steady_clock::time_point& deadline,
                                                  bool& timed_out, bool& failed, pg_error& err);

    /// The connection's own error (PQerrorMessage), connection_lost when it is broken.
    pg_error connection_error(std::string_view context = {});
    /// The error of a connection that failed while a statement ran: the server's own reason
    /// (SQLSTATE) when it sent one, else connection_error.
    pg_error lost_error();
    /// Starts an operation: an error when not connected or another operation runs.
    std::optional<pg_error> begin_operation();
    /// Moves pending NOTIFY messages from libpq to `notifications`.
    void take_notifications();
    /// Sends a cancel request for the running statement from a helper thread.
    void send_cancel() noexcept;
    /// PQconnectPoll until connected or `deadline`; then non-blocking mode. The error if not.
    boost::asio::awaitable<std::optional<pg_error>> poll_connect(steady_clock::time_point deadline);
};

/// Marks the connection busy for one operation, however the coroutine ends.
class busy_guard {
  public:
    explicit busy_guard(pg_connection::impl& s) : s_(s) { s_.busy = true; }
    ~busy_guard() { s_.busy = false; }
    busy_guard(const busy_guard&) = delete;
    busy_guard& operator=(const busy_guard&) = delete;

  private:
    pg_connection::impl& s_;
};

/// The error a failed result reports (SQLSTATE, primary message); nullopt if it is no error.
std::optional<pg_error> result_error(const PGresult* r, const PGconn* conn);

/// Trailing whitespace and newlines removed (libpq's messages end with "\n").
std::string trimmed_message(const char* text);

}  // namespace taskpoller::ledger
