#pragma once
// One PostgreSQL connection driven by libpq in non-blocking mode on an Asio executor (issue 19):
// libpq builds and parses the protocol, Asio waits on its socket. No libpq call that can block
// runs on the executor (no PQconnectdb, PQexec, or PQgetResult while PQisBusy), and no thread
// serves a query; the one exception is a timed-out call's cancel request (PQcancel opens its own
// connection), sent from a short-lived helper thread.
//
// libpq-fe.h stays out of this header (pimpl): only lib/ledger/pg_*.cpp include it.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/system/result.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

struct pg_result;  // libpq's PGresult

namespace taskpoller::ledger {

/// Why a call failed. `message` comes from the server or libpq and never holds the password.
struct pg_error {
    std::string sqlstate{};  ///< five characters (e.g. "23505", "57014"); empty if not the server's
    std::string message{};
    bool connection_lost = false;  ///< the connection is unusable: async_connect again
    bool timed_out = false;        ///< the call's timeout passed (a statement was cancelled)
};

[[noreturn]] void throw_exception_from_error(const pg_error& e, const boost::source_location& loc);

/// What a call yields: a value or a pg_error.
template <class T>
using pg_outcome = boost::system::result<T, pg_error>;

/// A statement parameter in text form; nullopt is SQL NULL.
using pg_param = std::optional<std::string>;

/// One statement of a pipeline.
struct pg_statement {
    std::string sql{};
    std::vector<pg_param> params{};
};

/// One statement's result (rows in text form), owned: PQclear on destruction. Move-only.
class pg_result {
  public:
    pg_result() = default;
    explicit pg_result(::pg_result* r) noexcept : r_(r) {}
    pg_result(pg_result&& o) noexcept : r_(o.r_) { o.r_ = nullptr; }
    pg_result& operator=(pg_result&& o) noexcept;
    pg_result(const pg_result&) = delete;
    pg_result& operator=(const pg_result&) = delete;
    ~pg_result();

    int rows() const noexcept;
    int columns() const noexcept;
    bool is_null(int row, int column) const noexcept;
    /// The value in text form ("" for NULL; tell them apart with is_null). The view lives as long
    /// as this object.
    std::string_view get(int row, int column) const noexcept;
    /// The value as an integer; nullopt for NULL or text that is not one.
    std::optional<std::int64_t> get_int(int row, int column) const noexcept;
    /// Rows affected by INSERT/UPDATE/DELETE (0 if the command reports none).
    std::uint64_t affected_rows() const noexcept;
    /// libpq's result (for lib/ledger's own code); null for an empty object.
    ::pg_result* raw() const noexcept { return r_; }

  private:
    ::pg_result* r_ = nullptr;
};

/// A NOTIFY received on a channel this connection LISTENs to.
struct pg_notification {
    std::string channel{};
    std::string payload{};
    int sender_pid = 0;  ///< the notifying backend's process id
};

/// The timeout of a call that names none.
inline constexpr std::chrono::milliseconds pg_default_timeout{30000};

/// Lifetime and threading: the object must outlive every operation started on it, all calls
/// are made on `executor` (not thread-safe), and one operation at a time (a second one started
/// while one is suspended fails with an error). Destruction closes the connection.
class pg_connection {
  public:
    /// `conninfo` is a libpq connection string or URI (never logged; see conninfo.hpp).
    pg_connection(boost::asio::any_io_executor executor, std::string conninfo);
    ~pg_connection();
    pg_connection(const pg_connection&) = delete;
    pg_connection& operator=(const pg_connection&) = delete;

    /// Connects (closing any previous connection first) with PQconnectStartParams and
    /// PQconnectPoll. A host name in the conninfo is resolved by libpq synchronously: give
    /// addresses (hostaddr) or a Unix socket directory to keep the executor free.
    boost::asio::awaitable<pg_outcome<void>> async_connect(
        std::chrono::milliseconds timeout = pg_default_timeout);

    /// async_connect until it succeeds or `give_up_after` passes, waiting `first_delay`,
    /// doubled after each failure up to `max_delay`, between attempts. Yields the last error.
    boost::asio::awaitable<pg_outcome<void>> async_connect_with_backoff(
        std::chrono::milliseconds give_up_after,
        std::chrono::milliseconds first_delay = std::chrono::milliseconds(50),
        std::chrono::milliseconds max_delay = std::chrono::milliseconds(2000));

    /// One statement with text parameters ($1, $2, ...) over the extended protocol. An SQL
    /// error yields its SQLSTATE and leaves the connection usable. At the timeout the statement
    /// is cancelled (error with timed_out, usually SQLSTATE 57014); if the server does not
    /// answer the cancel within 2 s the connection is closed (connection_lost too). `sql` must
    /// stay valid until the operation completes.
    boost::asio::awaitable<pg_outcome<pg_result>> async_exec(
        std::string_view sql, std::vector<pg_param> params = {},
        std::chrono::milliseconds timeout = pg_default_timeout);

    /// Several statements separated by ';' without parameters (simple protocol; e.g. a
    /// migration). Yields the last statement's result, or the first error.
    boost::asio::awaitable<pg_outcome<pg_result>> async_exec_script(
        std::string_view sql, std::chrono::milliseconds timeout = pg_default_timeout);

    /// The statements in one round trip (libpq pipeline mode, one sync at the end). Yields one
    /// result per statement, or the first error (later statements were not run).
    boost::asio::awaitable<pg_outcome<std::vector<pg_result>>> async_pipeline(
        std::vector<pg_statement> statements,
        std::chrono::milliseconds timeout = pg_default_timeout);

    /// BEGIN; statements...; COMMIT in one round trip (async_pipeline). On an error nothing is
    /// committed: the transaction is rolled back and the error yielded. Results exclude BEGIN
    /// and COMMIT.
    boost::asio::awaitable<pg_outcome<std::vector<pg_result>>> async_transaction(
        std::vector<pg_statement> statements,
        std::chrono::milliseconds timeout = pg_default_timeout);

    /// The next notification for a channel this connection LISTENs to (those that arrived
    /// during earlier calls first). Waits while the connection is idle; at the timeout an error
    /// with timed_out (the connection stays usable).
    boost::asio::awaitable<pg_outcome<pg_notification>> async_wait_notification(
        std::chrono::milliseconds timeout);

    /// Closes the connection; a suspended operation ends with connection_lost. Idempotent.
    void close() noexcept;

    /// True when connected and the last call did not find the connection broken.
    bool connected() const noexcept;
    /// The server process serving this connection (0 when not connected).
    int backend_pid() const noexcept;
    /// True inside a transaction block (BEGIN without COMMIT/ROLLBACK yet, or a failed one).
    bool in_transaction() const noexcept;

    struct impl;

  private:
    std::unique_ptr<impl> impl_;
};

}  // namespace taskpoller::ledger
