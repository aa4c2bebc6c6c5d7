#pragma once
// The HTTP(S) front of the simulator: Beast, one io_context, C++20 coroutines. It reads requests,
// passes them to the simulator and carries out the returned plan (delay, close, slow drip).

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "core/logger.hpp"
#include "sim/simulator.hpp"

namespace boost::asio {
class io_context;
}

namespace taskpoller::sim {

struct server_options {
    std::string address = "127.0.0.1";
    std::uint16_t port = 0;  ///< 0 binds a free port
    std::string tls_cert;    ///< PEM certificate chain; empty serves plain HTTP
    std::string tls_key;     ///< PEM private key
    std::size_t body_limit = 1 << 20;
    std::chrono::milliseconds idle_timeout{60000};  ///< keep-alive and read timeout
    std::chrono::milliseconds write_timeout{30000};
    std::chrono::milliseconds shutdown_grace{5000};  ///< in-flight requests get this long
    /// At most this many API answers a second, evenly spaced, the others answered late
    /// (sim/answer_pacer.hpp); 0: as fast as it can. /_sim/ requests are not counted.
    double answer_rate = 0;
};

class server {
  public:
    /// Binds and listens at once (so port() is known), loading the TLS files if given. Throws
    /// std::runtime_error on a bad address, a busy port or unreadable TLS files (start-up
    /// errors). `io` and `sim` must outlive the server.
    server(boost::asio::io_context& io, simulator& sim, server_options opts, core::logger log);
    ~server();
    server(const server&) = delete;
    server& operator=(const server&) = delete;

    /// The bound port.
    std::uint16_t port() const noexcept;
    /// Starts accepting; returns at once.
    void start();
    /// Graceful stop: no new connections; idle ones close now; requests in flight finish within
    /// shutdown_grace, then their connections are closed. io_context::run() returns once every
    /// session has ended. Idempotent.
    void stop();

  private:
    struct impl;
    std::shared_ptr<impl> impl_;
};

}  // namespace taskpoller::sim
