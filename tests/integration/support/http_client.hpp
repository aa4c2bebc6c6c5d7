#pragma once
// Test support: a small blocking HTTP/1.1 client (Beast) with keep-alive and optional TLS, so the
// integration tests can talk to taskpoller-sim. Every operation is bounded by a timeout.

#include <boost/system/error_code.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "qcloud/request.hpp"

namespace taskpoller::testing {

struct http_reply {
    unsigned status = 0;
    std::string body;
    bool keep_alive = true;
};

class http_client {
  public:
    /// Connects lazily to 127.0.0.1:`port`. With `ca_file`, speaks TLS and verifies the server's
    /// certificate against it.
    explicit http_client(std::uint16_t port, std::string ca_file = {},
                         std::chrono::milliseconds timeout = std::chrono::seconds(10));
    ~http_client();

    /// Sends one request on the kept-alive connection (reconnecting if needed). On a transport
    /// error (including the server closing without answering) returns false and sets `ec`;
    /// the connection is then dropped.
    bool send(const std::string& method, const std::string& target, const std::string& host,
              const std::string& body, http_reply& reply, boost::system::error_code& ec);

    /// Sends a request built by qcloud::build_request.
    bool send(const qcloud::signed_request& r, http_reply& reply, boost::system::error_code& ec);

    /// Convenience: GET `target` (sent again on a new connection if the first attempt fails);
    /// throws std::runtime_error on a transport error.
    http_reply get(const std::string& target);
    /// Convenience: POST with an empty body; throws on a transport error.
    http_reply post(const std::string& target);

  private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

}  // namespace taskpoller::testing
