#pragma once
// The control API server: HTTP/1.1 with keep-alive over a Unix stream socket, like Docker's API
// socket (`curl --unix-socket PATH http://localhost/v1/status`). One io_context, one thread,
// one coroutine per connection. See docs/api.md for the behaviour clients see (errors, limits,
// access policy).

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>

#include "control/access.hpp"
#include "control/router.hpp"
#include "core/logger.hpp"
#include "core/result.hpp"
#include "core/supervise.hpp"

namespace boost::asio {
class io_context;
}

namespace taskpoller::control {

class metrics_registry;
namespace detail {
struct server_state;
}

struct server_options {
    /// Where to listen. Ignored when `listen_fd` is set.
    std::string socket_path;
    /// An already-listening AF_UNIX stream socket to adopt (systemd socket activation); the
    /// server takes ownership. -1: bind `socket_path` instead.
    int listen_fd = -1;
    unsigned socket_mode = 0660;  ///< applied to a socket the server creates
    std::string socket_group;     ///< group name or gid for a created socket; empty: unchanged

    std::size_t header_limit = 16 * 1024;  ///< request line + headers, bytes → 431
    std::size_t body_limit = 1024 * 1024;  ///< request body, bytes → 413
    /// Request line and headers must have arrived this long after the first byte (on a new
    /// connection: after accept); a slower client is closed without an answer.
    std::chrono::milliseconds header_timeout{5'000};
    std::chrono::milliseconds request_timeout{10'000};  ///< first byte → whole request read
    std::chrono::milliseconds idle_timeout{60'000};     ///< keep-alive wait for the next request
    std::chrono::milliseconds write_timeout{30'000};    ///< each response write (and stream chunk)
    /// Open connections at most. At the limit the longest-idle keep-alive connection is closed
    /// to make room; with none idle, the newcomer gets 429 and is closed (control/admission.hpp).
    std::size_t max_connections = 1024;
    std::size_t max_connections_per_uid = 256;   ///< per non-admin peer uid (same eviction rule)
    std::size_t admin_reserved_connections = 4;  ///< of max_connections, only for admin peers
    std::size_t max_waiters = 256;          ///< long-polls + streams (handlers enforce via 429)
    std::size_t stream_max_lines = 10'000;  ///< per-stream queue bound (slow reader cut-off)
    std::size_t stream_max_bytes = 8 * 1024 * 1024;

    access_policy access;
    group_lookup groups = system_group_lookup;
    /// Reads a connected peer's credentials (SO_PEERCRED); replaceable in tests.
    peer_reader read_peer = read_peer_credentials;
    /// When set, the server registers and maintains taskpoller_control_* metrics in it. Must
    /// outlive the server.
    metrics_registry* metrics = nullptr;

    /// Supervision (docs/design.md "Faults"): an exception out of the accept loop is logged at
    /// critical and the loop restarted, at most accept_restarts times within 10 s; beyond that
    /// `on_fault` is called (the daemon ends with a non-zero status; empty: std::terminate).
    core::fault_handler on_fault;
    unsigned accept_restarts = 5;
    /// Called after each accepted connection, before its session starts: the fault-injection
    /// point of the supervision tests. Empty in the daemon.
    std::function<void()> after_accept;
};

class server {
  public:
    /// Nothing happens until open() and start(). `ioc` must outlive the server and run on one
    /// thread; every member function must be called on that thread (or before it runs).
    server(boost::asio::io_context& ioc, router routes, server_options options, core::logger log);
    ~server();
    server(const server&) = delete;
    server& operator=(const server&) = delete;

    /// Binds `socket_path` (removing a stale socket file nobody answers on; refusing a non-socket
    /// file or a live socket), applies mode and group, listens; or adopts `listen_fd` after
    /// checking it is a listening AF_UNIX stream socket. Fails with a start-up message.
    core::result<void> open();
    /// Starts accepting connections (after a successful open()).
    void start();
    /// Graceful shutdown: stop accepting, close idle connections, end streams cleanly, let
    /// in-flight requests finish (answered with `Connection: close`); after `grace`, cancel
    /// what remains. `done` runs on the io thread once every connection is gone. Idempotent;
    /// the socket file is removed if the server created it.
    void shutdown(std::chrono::milliseconds grace, std::function<void()> done = {});

    /// Takes the settings a configuration reload may change from `o`: access policy,
    /// max_connections, max_connections_per_uid, admin_reserved_connections, body_limit,
    /// header_timeout, request_timeout. Connections already open are not closed by lower
    /// limits (only the next admissions see them). Connections already open keep the limits
    /// of the request they are reading; the next request (and the next connection) sees the new
    /// ones. The socket, its mode and group, max_waiters and the timeouts of writes, idle
    /// keep-alive and streams stay as they were started (docs/configuration.md: restart).
    void reconfigure(const server_options& o);

    std::size_t connection_count() const noexcept;
    bool shutting_down() const noexcept;

  private:
    std::shared_ptr<detail::server_state> state_;
};

}  // namespace taskpoller::control
