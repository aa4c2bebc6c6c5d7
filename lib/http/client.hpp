#pragma once
// Async HTTP/1.1 client over plain TCP or TLS (OpenSSL), with a keep-alive connection pool per
// origin (scheme, host, port). Beast and OpenSSL stay behind the pimpl; only Asio's awaitable and
// executor types appear here.
//
// Threading: one io_context, one thread. The client, its executor and every coroutine calling
// async_send run on the same single-threaded io_context; nothing here is thread-safe.
//
// Stale connections (the residual race): before an idle pooled connection is reused, the client
// peeks at its socket without blocking; EOF, an error or any unexpected byte (a server never
// speaks first on HTTP/1.1, so data means a close_notify, an error page or garbage) means the
// server is gone or misbehaving and the connection is discarded, so a retry on a fresh connection
// is not turned into outcome_unknown. A server can still close the connection after that check
// and before our request reaches it (its keep-alive timeout firing in that window); that request
// then fails as outcome_unknown. Keep client_options::idle_timeout below the server's keep-alive
// timeout to make this rare, and set request::reuse_connection = false for requests that must
// never be ambiguous for this reason (non-idempotent submissions).
//
// Idempotent requests (request::retry_if_stale) close that window instead: if the reused
// connection fails before any byte of a response arrives (the write fails, or the server closes
// or resets it), the request is sent once more on a fresh connection within the same deadline.
// Such a request skips the peek (a system call per request) on connections idle for less than
// client_options::stale_check_after, the common case under load.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/logger.hpp"
#include "core/result.hpp"
#include "http/types.hpp"

namespace taskpoller::http {

struct client_options {
    /// DNS resolution plus TCP connect (all resolved addresses in turn).
    std::chrono::milliseconds connect_timeout{5000};
    std::chrono::milliseconds tls_handshake_timeout{5000};
    /// The whole request: pool wait, connect, handshake, write and read. Per-request override:
    /// request::timeout. Every sub-step is also bounded by this deadline.
    std::chrono::milliseconds request_timeout{30000};
    /// An idle keep-alive connection is closed after this long without use.
    std::chrono::milliseconds idle_timeout{15000};
    /// An idle connection reused by a retry_if_stale request is peeked at only when it has been
    /// idle at least this long (0: always); requests without retry_if_stale always peek.
    std::chrono::milliseconds stale_check_after{1000};
    /// Connections per origin, in use and idle together; further requests wait (bounded by their
    /// timeout) for one to become free.
    std::size_t max_connections_per_host = 8;
    std::size_t body_limit = 8 * 1024 * 1024;  ///< bytes of response body
    std::size_t header_limit = 16 * 1024;      ///< bytes of response status line plus headers
    /// PEM file of trusted CAs; empty uses OpenSSL's system default trust store.
    std::string ca_file;
    /// false disables certificate and host name verification. For tests only: every client
    /// constructed so logs a warning.
    bool verify_peer = true;
    /// Like curl --connect-to: key "host:port", "host" or "*" (tried in that order) maps to
    /// "address:port", "[v6address]:port" or "address" (keeps the port). The TCP connection goes
    /// there; Host header, SNI and certificate verification keep the real host.
    std::map<std::string, std::string> connect_to;
    std::string user_agent = "taskpoller/0.1";
};

/// Checks options for mistakes a constructor would refuse: zero timeouts or limits, malformed
/// connect_to entries, an unreadable ca_file. The error names the offending option.
core::result<void> validate_options(const client_options& options);

struct host_stats {
    std::string origin;       ///< "https://host:port"
    std::size_t open = 0;     ///< connections counted against the cap (connecting, busy, idle)
    std::size_t idle = 0;     ///< pooled and ready for reuse
    std::size_t waiting = 0;  ///< requests waiting for a free connection
};

struct client_stats {
    std::uint64_t requests = 0;            ///< async_send calls
    std::uint64_t connections_opened = 0;  ///< TCP (and TLS) connections established
    std::uint64_t connections_reused = 0;  ///< requests sent over a pooled idle connection
    std::uint64_t stale_checks = 0;        ///< peeks at idle connections before reuse
    std::uint64_t stale_discarded = 0;     ///< idle connections found closed by the server
    std::uint64_t stale_retried = 0;  ///< retry_if_stale requests sent again (fresh connection)
    std::uint64_t idle_expired = 0;   ///< idle connections closed by idle_timeout
    std::uint64_t failed_not_sent = 0;
    std::uint64_t failed_outcome_unknown = 0;
    std::vector<host_stats> hosts;  ///< origins with open connections or waiters
};

class client {
  public:
    /// Throws std::invalid_argument when validate_options fails (a start-up error). Logs a
    /// warning when options.verify_peer is false.
    client(boost::asio::any_io_executor executor, core::logger log, client_options options);
    /// Calls shutdown(). Operations still in flight keep the internals alive until they finish.
    ~client();
    client(const client&) = delete;
    client& operator=(const client&) = delete;

    /// Sends one request and reads its response. Returns the response for any HTTP status, or an
    /// error classified not_sent / outcome_unknown (see types.hpp). Every wait is bounded by the
    /// request timeout. Cancellation (terminal, e.g. a cancellation_signal bound to co_spawn or
    /// awaitable operators) aborts the request, closes its connection and returns an error with
    /// `cancelled` set (not_sent if the write had not started); if the caller's coroutine has
    /// throw_if_cancelled enabled, Asio may instead throw operation_aborted at the caller's next
    /// co_await, as usual. The client may be destroyed while this is in flight.
    boost::asio::awaitable<send_result> async_send(request req);

    /// Closes every connection, fails waiting and in-flight requests (as cancelled) and refuses
    /// new ones as not_sent. Idempotent; returns immediately.
    void shutdown();

    client_stats stats() const;

  private:
    class impl;
    std::shared_ptr<impl> impl_;
};

}  // namespace taskpoller::http
