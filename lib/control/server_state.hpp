#pragma once
// Internal to lib/control (server.cpp, session.cpp, stream_writer.cpp): the server's shared
// state and one connection. Not part of the public API.

#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/basic_stream.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <chrono>
#include <memory>
#include <optional>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "control/admission.hpp"
#include "control/metrics.hpp"
#include "control/server.hpp"

namespace taskpoller::control::detail {

using stream_type = boost::beast::basic_stream<boost::asio::local::stream_protocol>;

struct server_state;

struct connection : std::enable_shared_from_this<connection> {
    connection(boost::asio::local::stream_protocol::socket s, std::shared_ptr<server_state> srv);

    enum class phase { idle, busy, streaming };

    stream_type stream;
    boost::beast::flat_buffer buffer;
    std::shared_ptr<server_state> server;
    std::optional<peer_credentials> peer;
    phase state = phase::idle;
    std::shared_ptr<line_stream> feed;  ///< while streaming
    boost::asio::steady_timer wake;     ///< condition variable for the stream writer
    boost::asio::cancellation_signal cancel;
    bool aborted = false;  ///< cancelled at the end of the shutdown grace period
    bool evicted = false;  ///< closed while idle to make room for a new connection
    std::uint64_t id = 0;
    std::size_t served = 0;  ///< requests answered so far
    /// Deadlines of the request being read: its headers, and the whole request.
    std::chrono::steady_clock::time_point header_deadline, request_deadline;
};

struct server_state final : server_services, std::enable_shared_from_this<server_state> {
    server_state(boost::asio::io_context& ioc, router r, server_options o, core::logger l);

    boost::asio::io_context& ioc;
    router routes;
    server_options opts;
    core::logger log;
    boost::asio::local::stream_protocol::acceptor acceptor;
    boost::asio::steady_timer shutdown_timer;  ///< never expires; cancelled when shutdown begins
    boost::asio::steady_timer grace_timer;
    std::unordered_set<connection*> connections;
    std::unordered_map<std::uint64_t, connection*> by_id;  ///< sessions running, for eviction
    connection_table table;  ///< admission accounting (admitted connections, idle ones)
    std::size_t rejecting = 0;
    bool stopping = false;
    bool accepting = false;
    bool created_socket = false;
    std::uint64_t next_id = 1;
    std::vector<std::function<void()>> on_done;
    waiter_limit waiter_count;

    metric_family<counter>* requests_total = nullptr;
    metric_family<histogram>* request_seconds = nullptr;
    gauge* open_connections = nullptr;
    counter* rejected_connections = nullptr;
    counter* evicted_connections = nullptr;

    // server_services
    bool shutting_down() const override { return stopping; }
    boost::asio::awaitable<void> async_wait_shutdown() override;
    waiter_limit& waiters() override { return waiter_count; }
    std::shared_ptr<line_stream> make_stream() override {
        return std::make_shared<line_stream>(opts.stream_max_lines, opts.stream_max_bytes);
    }

    void register_metrics();
    void record(std::string_view method, std::string_view route, unsigned status,
                std::chrono::steady_clock::duration took);
    boost::asio::awaitable<void> accept_loop();
    /// Starts accept_loop() under supervision (server.hpp: server_options::on_fault).
    void spawn_accept_loop();
    void accept_loop_failed(const std::exception_ptr& e);
    core::restart_budget accept_budget{opts.accept_restarts, std::chrono::seconds(10)};
    /// Reads the peer of a freshly accepted connection and admits it (maybe closing the
    /// longest-idle connection first) or refuses it with 429.
    void admit(std::shared_ptr<connection> c);
    /// Closes an idle connection to make room; it stops being counted at once.
    void evict(std::uint64_t id);
    void begin_shutdown(std::chrono::milliseconds grace);
    void abort_all();
    void check_done();
};

/// Serves one connection until it closes; registers itself in server.connections meanwhile.
boost::asio::awaitable<void> run_session(std::shared_ptr<connection> c);
/// Answers one request on a refused connection with 429 (`why`), then closes.
boost::asio::awaitable<void> run_reject(std::shared_ptr<connection> c, std::string why);
/// Writes a streamed (chunked NDJSON) response fed by c.feed until it ends.
boost::asio::awaitable<void> run_stream(connection& c);

/// Opens the listening socket at `path` (stale-socket handling, mode, group). Returns the fd.
core::result<int> open_unix_listener(const std::string& path, unsigned mode,
                                     const std::string& group);
/// Checks an inherited fd is a listening AF_UNIX stream socket.
core::result<void> check_listening_unix_fd(int fd);

}  // namespace taskpoller::control::detail
