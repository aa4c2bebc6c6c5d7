#include "sim/server.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <list>
#include <optional>
#include <stdexcept>
#include <vector>

#include "sim/answer_pacer.hpp"

namespace taskpoller::sim {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

namespace {

// What stop() needs to reach into a live session.
struct session_handle {
    beast::tcp_stream* tcp = nullptr;
    asio::steady_timer* timer = nullptr;
    bool busy = false;  // between a complete request and the end of its answer
    void close() {
        timer->cancel();
        beast::error_code ec;
        tcp->socket().shutdown(tcp::socket::shutdown_both, ec);
        tcp->socket().close(ec);
    }
};

std::string raw_response(const http_out& out, bool keep_alive) {
    auto status = http::int_to_status(out.status);
    std::string raw = "HTTP/1.1 " + std::to_string(out.status) + " " +
                      std::string(http::obsolete_reason(status)) + "\r\n";
    raw += "Server: taskpoller-sim\r\nContent-Type: " + out.content_type + "\r\n";
    if (!out.date.empty()) raw += "Date: " + out.date + "\r\n";
    raw += "Content-Length: " + std::to_string(out.body.size()) + "\r\n";
    raw += keep_alive ? "Connection: keep-alive\r\n\r\n" : "Connection: close\r\n\r\n";
    return raw + out.body;
}

}  // namespace

struct server::impl : std::enable_shared_from_this<impl> {
    impl(asio::io_context& io, simulator& s, server_options o, core::logger l)
        : io_(io), sim_(s), opts_(std::move(o)), log_(std::move(l)), acceptor_(io), grace_(io) {}

    asio::io_context& io_;
    simulator& sim_;
    server_options opts_;
    core::logger log_;
    tcp::acceptor acceptor_;
    std::optional<asio::ssl::context> tls_;
    asio::steady_timer grace_;
    std::list<session_handle> sessions_;
    bool stopping_ = false;
    std::uint16_t port_ = 0;
    std::optional<answer_pacer> pacer_ = opts_.answer_rate > 0
                                             ? std::optional<answer_pacer>(opts_.answer_rate)
                                             : std::nullopt;

    // Erases the session's handle however its coroutine ends.
    struct session_guard {
        impl* self;
        std::list<session_handle>::iterator it;
        ~session_guard() { self->end_session(it); }
    };

    void listen() {
        beast::error_code ec;
        auto addr = asio::ip::make_address(opts_.address, ec);
        if (ec) throw std::runtime_error("invalid listen address " + opts_.address);
        tcp::endpoint ep(addr, opts_.port);
        acceptor_.open(ep.protocol());
        acceptor_.set_option(asio::socket_base::reuse_address(true));
        acceptor_.bind(ep, ec);
        if (ec)
            throw std::runtime_error("cannot bind " + opts_.address + ":" +
                                     std::to_string(opts_.port) + ": " + ec.message());
        acceptor_.listen(asio::socket_base::max_listen_connections);
        port_ = acceptor_.local_endpoint().port();
        if (opts_.tls_cert.empty()) return;
        tls_.emplace(asio::ssl::context::tls_server);
        tls_->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                          asio::ssl::context::no_sslv3);
        try {
            tls_->use_certificate_chain_file(opts_.tls_cert);
            tls_->use_private_key_file(opts_.tls_key, asio::ssl::context::pem);
        } catch (const std::exception& e) {
            throw std::runtime_error("cannot load TLS certificate/key: " + std::string(e.what()));
        }
    }

    asio::awaitable<void> accept_loop() {
        auto self = shared_from_this();
        for (;;) {
            auto [ec, sock] = co_await acceptor_.async_accept(use_tuple);
            if (stopping_) co_return;
            if (ec) {
                log_.warn("accept failed: {}", ec.message());
                continue;
            }
            sock.set_option(tcp::no_delay(true), ec);
            asio::co_spawn(io_, run_session(std::move(sock)), asio::detached);
        }
    }

    asio::awaitable<void> run_session(tcp::socket sock) {
        auto self = shared_from_this();
        asio::steady_timer timer(io_);
        try {
            if (tls_) {
                beast::ssl_stream<beast::tcp_stream> stream(std::move(sock), *tls_);
                session_guard g{this, sessions_.insert(sessions_.end(),
                                                       {&beast::get_lowest_layer(stream), &timer})};
                stream.next_layer().expires_after(opts_.idle_timeout);
                auto [ec] =
                    co_await stream.async_handshake(asio::ssl::stream_base::server, use_tuple);
                if (!ec) co_await serve(stream, *g.it, true);
            } else {
                beast::tcp_stream stream(std::move(sock));
                session_guard g{this, sessions_.insert(sessions_.end(), {&stream, &timer})};
                co_await serve(stream, *g.it, false);
            }
        } catch (const std::exception& e) {
            // Only a bug gets here: I/O errors are values.
            log_.error("session failed: {}", e.what());
        }
    }

    void end_session(std::list<session_handle>::iterator it) {
        sessions_.erase(it);
        if (stopping_ && sessions_.empty()) grace_.cancel();
    }

    template <class Stream>
    asio::awaitable<void> serve(Stream& stream, session_handle& h, bool tls) {
        beast::flat_buffer buffer;
        std::vector<header_field> headers;  // views into the current request
        for (;;) {
            http::request_parser<http::string_body> parser;
            parser.body_limit(opts_.body_limit);
            h.tcp->expires_after(opts_.idle_timeout);
            auto [ec, n] = co_await http::async_read(stream, buffer, parser, use_tuple);
            if (ec) co_return;
            h.busy = true;
            auto& req = parser.get();
            headers.clear();
            for (const auto& f : req) headers.push_back({f.name_string(), f.value()});
            auto out = sim_.handle({req.method_string(), req.target(), req[http::field::host],
                                    req.body(), tls, headers});
            auto wait = std::chrono::duration_cast<answer_pacer::clock::duration>(out.delay);
            if (pacer_ && !req.target().starts_with("/_sim/"))
                wait = pacer_->delay(answer_pacer::clock::now(), wait);
            if (wait.count() > 0) {
                h.timer->expires_after(wait);
                co_await h.timer->async_wait(use_tuple);
                if (!h.tcp->socket().is_open()) co_return;
            }
            if (out.how == http_out::delivery::close_before ||
                out.how == http_out::delivery::close_after) {
                h.close();
                co_return;
            }
            bool keep_alive = req.keep_alive() && !stopping_;
            h.tcp->expires_after(opts_.write_timeout);
            bool ok = out.how == http_out::delivery::slow_drip
                          ? co_await drip(stream, h, raw_response(out, keep_alive))
                          : co_await write(stream, out, keep_alive, req.version());
            h.busy = false;
            if (!ok || !keep_alive) break;
        }
        co_await close_gracefully(stream);
    }

    template <class Stream>
    asio::awaitable<bool> write(Stream& stream, http_out& out, bool keep_alive, unsigned version) {
        http::response<http::string_body> res{http::int_to_status(out.status), version};
        res.set(http::field::server, "taskpoller-sim");
        if (!out.date.empty()) res.set(http::field::date, out.date);
        res.set(http::field::content_type, out.content_type);
        res.keep_alive(keep_alive);
        res.body() = std::move(out.body);
        res.prepare_payload();
        auto [ec, n] = co_await http::async_write(stream, res, use_tuple);
        co_return !ec;
    }

    template <class Stream>
    asio::awaitable<bool> drip(Stream& stream, session_handle& h, std::string raw) {
        const auto chunk = sim_.settings().faults.drip_chunk;
        for (std::size_t off = 0; off < raw.size(); off += chunk) {
            auto len = std::min(chunk, raw.size() - off);
            auto [ec, n] =
                co_await asio::async_write(stream, asio::buffer(raw.data() + off, len), use_tuple);
            if (ec) co_return false;
            h.timer->expires_after(sim_.settings().faults.drip_interval);
            co_await h.timer->async_wait(use_tuple);
            if (!h.tcp->socket().is_open()) co_return false;
        }
        co_return true;
    }

    asio::awaitable<void> close_gracefully(beast::tcp_stream& s) {
        beast::error_code ec;
        s.socket().shutdown(tcp::socket::shutdown_send, ec);
        co_return;
    }

    asio::awaitable<void> close_gracefully(beast::ssl_stream<beast::tcp_stream>& s) {
        s.next_layer().expires_after(std::chrono::seconds(2));
        co_await s.async_shutdown(use_tuple);
    }

    void stop() {
        if (stopping_) return;
        stopping_ = true;
        beast::error_code ec;
        acceptor_.close(ec);
        for (auto& s : sessions_)
            if (!s.busy) s.close();
        if (sessions_.empty()) return;
        grace_.expires_after(opts_.shutdown_grace);
        grace_.async_wait([self = shared_from_this()](beast::error_code ec) {
            if (ec) return;
            for (auto& s : self->sessions_) s.close();
        });
    }
};

server::server(asio::io_context& io, simulator& sim, server_options opts, core::logger log)
    : impl_(std::make_shared<impl>(io, sim, std::move(opts), std::move(log))) {
    impl_->listen();
}

server::~server() = default;

std::uint16_t server::port() const noexcept {
    return impl_->port_;
}

void server::start() {
    asio::co_spawn(impl_->io_, impl_->accept_loop(), asio::detached);
}

void server::stop() {
    impl_->stop();
}

}  // namespace taskpoller::sim
