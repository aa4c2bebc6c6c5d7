#pragma once
// An in-process HTTP/1.1 server for client tests, plain or TLS, on 127.0.0.1 port 0, running on
// the test's io_context. A handler decides, per request, how the server misbehaves. The
// destructor stops it: closes the acceptor and every session, however the test ends.

#include <boost/asio/io_context.hpp>
#include <boost/asio/ssl/context.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace taskpoller::http::test {

struct received_request {
    std::string method;
    std::string target;
    std::string host;          ///< Host header
    std::string content_type;  ///< Content-Type header
    std::string body;
    std::string sni;               ///< TLS server name the client sent ("" for plain or none)
    std::uint64_t connection = 0;  ///< 1-based number of the accepted connection
};

struct server_reply {
    enum class kind {
        respond,             ///< answer, keep the connection if keep_alive
        respond_then_close,  ///< answer as keep-alive, then close anyway (a server-side timeout)
        close_silently,      ///< read the request, close without answering
        never_answer,        ///< read the request, hold the connection until stopped
        raw,                 ///< write `raw` bytes verbatim, then close
    };
    kind what = kind::respond;
    unsigned status = 200;
    std::string body;
    std::vector<std::pair<std::string, std::string>> headers;
    bool keep_alive = true;
    std::chrono::milliseconds delay{0};  ///< wait this long before answering
    std::string raw;
};

class test_server {
  public:
    using handler = std::function<server_reply(const received_request&)>;

    /// Plain HTTP when `tls` is null; otherwise TLS with the given server context.
    test_server(boost::asio::io_context& ioc, handler h,
                std::shared_ptr<boost::asio::ssl::context> tls = nullptr);
    ~test_server();
    test_server(const test_server&) = delete;
    test_server& operator=(const test_server&) = delete;

    std::uint16_t port() const;
    void stop();

    std::size_t accepted() const;  ///< connections accepted so far
    std::size_t open_now() const;  ///< sessions alive now
    std::size_t max_open() const;  ///< most sessions alive at once
    const std::vector<received_request>& requests() const;

    struct state;

  private:
    std::shared_ptr<state> state_;
};

/// A TLS server context using the given PEM certificate and key.
std::shared_ptr<boost::asio::ssl::context> make_server_tls(const std::string& cert_pem,
                                                           const std::string& key_pem);

}  // namespace taskpoller::http::test
