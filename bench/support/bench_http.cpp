// GCC 12 reports a false -Wmismatched-new-delete for coroutine frames whose promise type has a
// sized operator delete (Asio's awaitable); see GCC bug 109224.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

#include "support/bench_http.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <limits>

namespace taskpoller::bench {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::use_awaitable;

endpoint tcp_endpoint(std::uint16_t port, std::string host) {
    asio::ip::tcp::endpoint ep(asio::ip::make_address("127.0.0.1"), port);
    return endpoint{asio::generic::stream_protocol::endpoint(ep), true, std::move(host)};
}

endpoint unix_endpoint(const std::string& path) {
    asio::local::stream_protocol::endpoint ep(path);
    return endpoint{asio::generic::stream_protocol::endpoint(ep), false, "localhost"};
}

connection::connection(asio::any_io_executor ex, endpoint ep) : ep_(std::move(ep)), socket_(ex) {}

void connection::close() {
    boost::system::error_code ignored;
    socket_.close(ignored);
    buffer_.clear();
    open_ = false;
}

asio::awaitable<void> connection::ensure_open() {
    if (open_) co_return;
    buffer_.clear();
    co_await socket_.async_connect(ep_.address, use_awaitable);
    if (ep_.tcp) socket_.set_option(asio::ip::tcp::no_delay(true));
    open_ = true;
}

asio::awaitable<reply> connection::request(http::verb method, std::string_view target,
                                           std::string_view body, std::string_view content_type,
                                           std::string_view host, const header_list* headers) {
    co_await ensure_open();
    http::request<http::string_body> req{method, target, 11};
    req.set(http::field::host, host.empty() ? std::string_view(ep_.host) : host);
    if (headers)
        for (const auto& [name, value] : *headers) req.set(name, value);
    if (!body.empty()) {
        req.set(http::field::content_type, content_type);
        req.body() = body;
    }
    req.prepare_payload();
    try {
        co_await http::async_write(socket_, req, use_awaitable);
        http::response_parser<http::string_body> parser;
        parser.body_limit(std::numeric_limits<std::uint64_t>::max());
        co_await http::async_read(socket_, buffer_, parser, use_awaitable);
        auto& res = parser.get();
        reply out{res.result_int(), std::move(res.body())};
        if (!res.keep_alive()) close();
        co_return out;
    } catch (...) {
        close();
        throw;
    }
}

asio::awaitable<unsigned> connection::stream_lines(
    std::string_view target, const std::function<bool(std::string_view)>& on_line,
    std::string* error_body) {
    co_await ensure_open();
    http::request<http::empty_body> req{http::verb::get, target, 11};
    req.set(http::field::host, ep_.host);
    std::string partial;
    bool stop = false;
    http::response_parser<http::string_body> parser;
    parser.body_limit(std::numeric_limits<std::uint64_t>::max());
    auto on_chunk = [&](std::uint64_t, std::string_view data, boost::system::error_code&) {
        std::size_t n = data.size();
        while (!stop && !data.empty()) {
            auto nl = data.find('\n');
            if (nl == std::string_view::npos) {
                partial.append(data);
                break;
            }
            if (partial.empty()) {
                stop = !on_line(data.substr(0, nl));
            } else {
                partial.append(data.substr(0, nl));
                stop = !on_line(partial);
                partial.clear();
            }
            data.remove_prefix(nl + 1);
        }
        return n;  // consumed: nothing goes to the string body
    };
    parser.on_chunk_body(on_chunk);
    try {
        co_await http::async_write(socket_, req, use_awaitable);
        co_await http::async_read_header(socket_, buffer_, parser, use_awaitable);
        unsigned status = parser.get().result_int();
        while (!stop && !parser.is_done()) {
            co_await http::async_read_some(socket_, buffer_, parser, use_awaitable);
        }
        if (status != 200 && error_body) *error_body = parser.get().body();
        close();  // streams end the connection
        co_return status;
    } catch (...) {
        close();
        throw;
    }
}

}  // namespace taskpoller::bench
