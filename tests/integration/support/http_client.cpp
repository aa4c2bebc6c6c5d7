#include "support/http_client.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <optional>
#include <stdexcept>

namespace taskpoller::testing {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

struct http_client::impl {
    std::uint16_t port;
    std::string ca_file;
    std::chrono::milliseconds timeout;
    asio::io_context io;
    std::optional<asio::ssl::context> tls;
    std::optional<beast::tcp_stream> plain;
    std::optional<beast::ssl_stream<beast::tcp_stream>> secure;
    beast::flat_buffer buffer;

    beast::tcp_stream& lowest() { return secure ? secure->next_layer() : *plain; }

    // Runs the io_context until `done` is set; Beast's timeouts bound every operation.
    void wait(bool& done) {
        io.restart();
        while (!done && io.run_one() > 0) {
        }
    }

    void drop() {
        plain.reset();
        secure.reset();
        buffer.clear();
    }

    bool connect(boost::system::error_code& ec) {
        if (plain || secure) return true;
        tcp::endpoint ep(asio::ip::make_address("127.0.0.1"), port);
        bool done = false;
        beast::tcp_stream* s = nullptr;
        if (tls) {
            secure.emplace(io, *tls);
            s = &secure->next_layer();
        } else {
            plain.emplace(io);
            s = &*plain;
        }
        s->expires_after(timeout);
        s->async_connect(ep, [&](auto e) { ec = e, done = true; });
        wait(done);
        if (!ec && secure) {
            done = false;
            secure->async_handshake(asio::ssl::stream_base::client,
                                    [&](auto e) { ec = e, done = true; });
            wait(done);
        }
        if (ec) drop();
        return !ec;
    }

    template <class Stream>
    void exchange(Stream& s, http::request<http::string_body>& req, http_reply& reply,
                  boost::system::error_code& ec) {
        bool done = false;
        http::async_write(s, req, [&](auto e, auto) { ec = e, done = true; });
        wait(done);
        if (ec) return;
        http::response_parser<http::string_body> parser;
        parser.body_limit(16 << 20);
        done = false;
        http::async_read(s, buffer, parser, [&](auto e, auto) { ec = e, done = true; });
        wait(done);
        if (ec) return;
        reply.status = parser.get().result_int();
        reply.body = parser.get().body();
        reply.keep_alive = parser.get().keep_alive();
    }
};

http_client::http_client(std::uint16_t port, std::string ca_file, std::chrono::milliseconds timeout)
    : impl_(std::make_unique<impl>()) {
    impl_->port = port;
    impl_->ca_file = std::move(ca_file);
    impl_->timeout = timeout;
    if (!impl_->ca_file.empty()) {
        impl_->tls.emplace(asio::ssl::context::tls_client);
        impl_->tls->load_verify_file(impl_->ca_file);
        impl_->tls->set_verify_mode(asio::ssl::verify_peer);
    }
}

http_client::~http_client() = default;

bool http_client::send(const std::string& method, const std::string& target,
                       const std::string& host, const std::string& body, http_reply& reply,
                       boost::system::error_code& ec) {
    if (!impl_->connect(ec)) return false;
    http::request<http::string_body> req{http::string_to_verb(method), target, 11};
    req.set(http::field::host, host);
    if (method == "POST") req.set(http::field::content_type, "application/x-www-form-urlencoded");
    req.body() = body;
    req.keep_alive(true);
    req.prepare_payload();
    impl_->lowest().expires_after(impl_->timeout);
    if (impl_->secure)
        impl_->exchange(*impl_->secure, req, reply, ec);
    else
        impl_->exchange(*impl_->plain, req, reply, ec);
    if (ec || !reply.keep_alive) impl_->drop();
    return !ec;
}

bool http_client::send(const qcloud::signed_request& r, http_reply& reply,
                       boost::system::error_code& ec) {
    return send(std::string(qcloud::to_string(r.method)), r.target, r.host, r.body, reply, ec);
}

http_reply http_client::get(const std::string& target) {
    http_reply r;
    boost::system::error_code ec;
    // A GET may be repeated: once more on a new connection if the kept-alive one was closed
    // by the server while idle (the simulator closes idle connections).
    if (!send("GET", target, "127.0.0.1", "", r, ec) &&
        !send("GET", target, "127.0.0.1", "", r, ec))
        throw std::runtime_error("GET " + target + ": " + ec.message());
    return r;
}

http_reply http_client::post(const std::string& target) {
    http_reply r;
    boost::system::error_code ec;
    if (!send("POST", target, "127.0.0.1", "", r, ec))
        throw std::runtime_error("POST " + target + ": " + ec.message());
    return r;
}

}  // namespace taskpoller::testing
