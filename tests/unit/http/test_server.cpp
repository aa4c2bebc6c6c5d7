#include "unit/http/test_server.hpp"

#include <openssl/ssl.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <map>
#include <optional>

namespace taskpoller::http::test {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;

namespace {
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);
}

struct test_server::state {
    explicit state(asio::io_context& ioc) : acceptor(ioc) {}
    tcp::acceptor acceptor;
    handler on_request;
    std::shared_ptr<asio::ssl::context> tls;
    std::size_t accepted = 0, open = 0, max_open = 0;
    std::vector<received_request> requests;
    std::map<std::uint64_t, std::function<void()>> closers;  // live sessions
    bool stopped = false;
    std::uint16_t port = 0;
};

namespace {

using server_state = test_server::state;

template <class Stream>
asio::awaitable<void> answer(Stream& s, const server_reply& reply, unsigned version) {
    if (reply.what == server_reply::kind::raw) {
        co_await asio::async_write(s, asio::buffer(reply.raw), use_tuple);
        co_return;
    }
    bhttp::response<bhttp::string_body> res{static_cast<bhttp::status>(reply.status), version};
    for (const auto& [n, v] : reply.headers) res.insert(n, v);
    res.body() = reply.body;
    res.keep_alive(reply.keep_alive || reply.what == server_reply::kind::respond_then_close);
    res.prepare_payload();
    co_await bhttp::async_write(s, res, use_tuple);
}

template <class Stream>
asio::awaitable<void> serve(std::shared_ptr<server_state> st, Stream& s, std::uint64_t id,
                            std::string sni, asio::steady_timer& timer) {
    beast::flat_buffer buffer;
    for (;;) {
        bhttp::request<bhttp::string_body> req;
        auto [ec, n] = co_await bhttp::async_read(s, buffer, req, use_tuple);
        if (ec || st->stopped) co_return;
        received_request r{std::string(req.method_string()),
                           std::string(req.target()),
                           std::string(req[bhttp::field::host]),
                           std::string(req[bhttp::field::content_type]),
                           req.body(),
                           sni,
                           id};
        st->requests.push_back(r);
        server_reply reply = st->on_request(r);
        if (reply.what == server_reply::kind::close_silently) co_return;
        if (reply.what == server_reply::kind::never_answer) {
            char sink[512];  // reading only to notice when the client gives up and closes
            for (;;) {
                auto [read_ec, ignored] = co_await s.async_read_some(asio::buffer(sink), use_tuple);
                if (read_ec) co_return;
            }
        }
        if (reply.delay.count() > 0) {
            timer.expires_after(reply.delay);
            auto [wait_ec] = co_await timer.async_wait(use_tuple);
            if (wait_ec || st->stopped) co_return;
        }
        co_await answer(s, reply, req.version());
        if (reply.what != server_reply::kind::respond || !reply.keep_alive) co_return;
    }
}

asio::awaitable<void> session(std::shared_ptr<server_state> st, tcp::socket socket) {
    const std::uint64_t id = ++st->accepted;
    st->max_open = std::max(st->max_open, ++st->open);
    asio::steady_timer timer(socket.get_executor());
    beast::tcp_stream tcp_stream(std::move(socket));
    std::optional<asio::ssl::stream<beast::tcp_stream&>> tls;
    st->closers[id] = [&] {
        beast::error_code ignored;
        tcp_stream.socket().close(ignored);
        timer.cancel();
    };
    if (st->tls) {
        tls.emplace(tcp_stream, *st->tls);
        auto [ec] = co_await tls->async_handshake(asio::ssl::stream_base::server, use_tuple);
        if (!ec) {
            const char* name = SSL_get_servername(tls->native_handle(), TLSEXT_NAMETYPE_host_name);
            co_await serve(st, *tls, id, name ? name : "", timer);
        }
    } else {
        co_await serve(st, tcp_stream, id, "", timer);
    }
    st->closers.erase(id);
    --st->open;
    beast::error_code ignored;
    tcp_stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
    tcp_stream.socket().close(ignored);
}

asio::awaitable<void> accept_loop(std::shared_ptr<server_state> st) {
    for (;;) {
        auto [ec, socket] = co_await st->acceptor.async_accept(use_tuple);
        if (ec || st->stopped) co_return;
        asio::co_spawn(st->acceptor.get_executor(), session(st, std::move(socket)), asio::detached);
    }
}

}  // namespace

test_server::test_server(asio::io_context& ioc, handler h, std::shared_ptr<asio::ssl::context> tls)
    : state_(std::make_shared<state>(ioc)) {
    state_->on_request = std::move(h);
    state_->tls = std::move(tls);
    tcp::endpoint ep(asio::ip::make_address("127.0.0.1"), 0);
    state_->acceptor.open(ep.protocol());
    state_->acceptor.set_option(tcp::acceptor::reuse_address(true));
    state_->acceptor.bind(ep);
    state_->acceptor.listen();
    state_->port = state_->acceptor.local_endpoint().port();
    asio::co_spawn(ioc, accept_loop(state_), asio::detached);
}

test_server::~test_server() {
    stop();
}

void test_server::stop() {
    if (state_->stopped) return;
    state_->stopped = true;
    beast::error_code ignored;
    state_->acceptor.close(ignored);
    auto closers = state_->closers;  // closing may end sessions, which erase themselves
    for (auto& [id, close] : closers) close();
}

std::uint16_t test_server::port() const {
    return state_->port;
}
std::size_t test_server::accepted() const {
    return state_->accepted;
}
std::size_t test_server::open_now() const {
    return state_->open;
}
std::size_t test_server::max_open() const {
    return state_->max_open;
}
const std::vector<received_request>& test_server::requests() const {
    return state_->requests;
}

std::shared_ptr<asio::ssl::context> make_server_tls(const std::string& cert_pem,
                                                    const std::string& key_pem) {
    auto ctx = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_server);
    ctx->use_certificate_chain(asio::buffer(cert_pem));
    ctx->use_private_key(asio::buffer(key_pem), asio::ssl::context::pem);
    return ctx;
}

}  // namespace taskpoller::http::test
