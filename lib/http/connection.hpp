#pragma once
// Internal to lib/http (includes Beast): one TCP or TLS connection and the I/O steps on it. The
// client composes these steps and classifies their failures; nothing here decides policy.

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <variant>

#include "http/connect_to.hpp"
#include "http/types.hpp"

namespace taskpoller::http::detail {

using steady_clock = std::chrono::steady_clock;
using beast_parser = boost::beast::http::response_parser<boost::beast::http::string_body>;

/// What a pool is keyed by: the request's real scheme, host and port.
struct origin {
    http::scheme scheme = scheme::https;
    std::string host;
    std::uint16_t port = 0;

    /// "https://host:port": the name in stats and messages.
    std::string key() const;
    /// The pool's order (scheme, host, port); compares without building key().
    friend auto operator<=>(const origin& a, const origin& b) = default;
};

class connection {
  public:
    /// `tls` must be non-null for an https origin and outlive the connection.
    connection(boost::asio::any_io_executor executor, boost::asio::ssl::context* tls, origin where,
               std::size_t read_limit, std::uint64_t id);

    /// Resolves `target` (address literals skip DNS) and connects to its addresses in turn,
    /// all before `deadline`. On failure `timed_out` tells a deadline from a refusal.
    boost::asio::awaitable<boost::system::error_code> async_connect(
        endpoint_name target, steady_clock::time_point deadline, bool& timed_out);

    /// TLS client handshake with SNI and (when `verify`) chain plus host name verification
    /// against origin().host.
    boost::asio::awaitable<boost::system::error_code> async_handshake(
        bool verify, steady_clock::time_point deadline);

    /// Writes the whole request before `deadline`; yields the error and the bytes the stream
    /// accepted (0 on failure means none reached the kernel). Not a coroutine of its own: the
    /// operation starts when the result is awaited, which must be at once.
    boost::asio::awaitable<std::tuple<boost::system::error_code, std::size_t>> async_write(
        std::string_view wire, steady_clock::time_point deadline);

    /// Reads one response into `parser` before the deadline set by async_write (then call
    /// read_done()). Started when awaited, like async_write.
    boost::asio::awaitable<std::tuple<boost::system::error_code, std::size_t>> async_read(
        beast_parser& parser);

    /// Clears the deadline after a complete response, so an idle connection has none.
    void read_done() noexcept;

    /// True when an idle connection can carry another request: open, nothing buffered, and
    /// (when `peek`) a non-blocking peek finds neither EOF, an error nor unexpected bytes from the
    /// server. Without `peek` only the checks that need no system call are made.
    bool still_usable(bool peek);

    /// Closes the socket without a TLS close_notify: pending operations complete with an error.
    void close() noexcept;

    /// The OpenSSL certificate verification result as text, or "" when verification passed.
    std::string verify_failure() const;

    const origin& where() const noexcept { return origin_; }
    std::uint64_t id() const noexcept { return id_; }
    steady_clock::time_point idle_since;
    std::size_t busy_slot = 0;  ///< the pool's index of this connection while it is leased

  private:
    using tls_stream = boost::beast::ssl_stream<boost::beast::tcp_stream>;
    boost::beast::tcp_stream& tcp() noexcept;

    origin origin_;
    std::variant<boost::beast::tcp_stream, tls_stream> stream_;
    boost::beast::flat_buffer buffer_;
    std::uint64_t id_;
};

}  // namespace taskpoller::http::detail
