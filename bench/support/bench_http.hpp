#pragma once
// Benchmark support: a small asynchronous HTTP/1.1 client (Beast, C++20 coroutines) over a
// keep-alive stream socket, TCP (the simulator) or Unix (the daemon's control socket), plus an
// NDJSON line reader for streamed responses (GET /v1/events). Single-threaded: every connection
// lives on one io_context. Transport errors throw boost::system::system_error.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/generic/stream_protocol.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/verb.hpp>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace taskpoller::bench {

/// Extra request headers (name, value), sent as given.
using header_list = std::vector<std::pair<std::string, std::string>>;

/// Where to connect, and the Host header to send.
struct endpoint {
    boost::asio::generic::stream_protocol::endpoint address;
    bool tcp = false;
    std::string host = "localhost";
};

endpoint tcp_endpoint(std::uint16_t port, std::string host = "localhost");
endpoint unix_endpoint(const std::string& path);

struct reply {
    unsigned status = 0;
    std::string body;
};

/// One keep-alive connection, opened on first use and again after the server closed it.
class connection {
  public:
    connection(boost::asio::any_io_executor ex, endpoint ep);

    /// Sends one request and reads the whole answer. `content_type` is sent when `body` is not
    /// empty. `host` overrides the endpoint's Host header (the simulator picks the service by
    /// Host). `headers` are added as given (API 3.0's Authorization and X-TC-*).
    boost::asio::awaitable<reply> request(boost::beast::http::verb method, std::string_view target,
                                          std::string_view body = {},
                                          std::string_view content_type = "application/json",
                                          std::string_view host = {},
                                          const header_list* headers = nullptr);

    /// GETs `target` and hands each line of a 200 streamed body to `on_line` (without '\n') as it
    /// arrives, until `on_line` returns false or the stream ends. Returns the status; on another
    /// status the body is read whole and returned in `error_body`.
    boost::asio::awaitable<unsigned> stream_lines(
        std::string_view target, const std::function<bool(std::string_view)>& on_line,
        std::string* error_body = nullptr);

    void close();

  private:
    boost::asio::awaitable<void> ensure_open();

    endpoint ep_;
    boost::asio::generic::stream_protocol::socket socket_;
    boost::beast::flat_buffer buffer_;
    bool open_ = false;
};

}  // namespace taskpoller::bench
