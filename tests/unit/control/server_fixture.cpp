// The fixture's blocking client (server_fixture.hpp), compiled once for every test that uses it.
#include "server_fixture.hpp"

#include <boost/asio/write.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>

namespace taskpoller::control::test {

client::client(const std::string& path) : sock(ioc) {
    sock.connect(asio::local::stream_protocol::endpoint(path));
    timeval tv{20, 0};
    ::setsockopt(sock.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
}

http::response<http::string_body> client::request(http::verb method, std::string target,
                                                  std::string body, std::string content_type) {
    http::request<http::string_body> req{method, target, 11};
    req.set(http::field::host, "localhost");
    if (!body.empty() || method == http::verb::post) {
        if (!content_type.empty()) req.set(http::field::content_type, content_type);
        req.body() = std::move(body);
        req.prepare_payload();
    }
    http::write(sock, req);
    return read();
}

http::response<http::string_body> client::read() {
    http::response_parser<http::string_body> p;
    p.body_limit(64 * 1024 * 1024);
    if (head_next) p.skip(true);
    http::read(sock, buffer, p);
    return p.release();
}

void client::write(const http::request<http::string_body>& req) {
    http::write(sock, req);
}

void client::send_raw(std::string_view bytes) {
    asio::write(sock, asio::buffer(bytes));
}

std::string client::read_to_eof() {
    std::string out(static_cast<const char*>(buffer.data().data()), buffer.size());
    buffer.consume(buffer.size());
    char tmp[4096];
    while (true) {
        ssize_t n = ::read(sock.native_handle(), tmp, sizeof tmp);
        if (n <= 0) break;
        out.append(tmp, static_cast<std::size_t>(n));
    }
    return out;
}

}  // namespace taskpoller::control::test
