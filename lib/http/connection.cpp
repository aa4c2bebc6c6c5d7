#include "http/connection.hpp"

#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>
#include <sys/socket.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/http/read.hpp>
#include <cerrno>
#include <memory>

namespace taskpoller::http::detail {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace ssl = boost::asio::ssl;
using tcp = asio::ip::tcp;
using boost::system::error_code;

namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

// The resolver cannot interrupt a getaddrinfo call in progress, so rather than waiting for it
// after a timeout the coroutine waits on a timer that the resolve completion cancels; a late
// completion only writes into this shared state.
struct resolve_state {
    explicit resolve_state(const asio::any_io_executor& ex) : timer(ex), resolver(ex) {}
    asio::steady_timer timer;
    tcp::resolver resolver;
    bool done = false;
    error_code ec;
    tcp::resolver::results_type results;
};

asio::awaitable<error_code> resolve(const endpoint_name& target, steady_clock::time_point deadline,
                                    tcp::resolver::results_type& out, bool& timed_out) {
    auto state = std::make_shared<resolve_state>(co_await asio::this_coro::executor);
    state->timer.expires_at(deadline);
    state->resolver.async_resolve(target.host, std::to_string(target.port),
                                  tcp::resolver::numeric_service,
                                  [state](error_code ec, tcp::resolver::results_type results) {
                                      state->done = true;
                                      state->ec = ec;
                                      state->results = std::move(results);
                                      state->timer.cancel();
                                  });
    auto [wait_ec] = co_await state->timer.async_wait(use_tuple);
    if (!state->done) {
        state->resolver.cancel();
        timed_out = !wait_ec;
        co_return wait_ec ? wait_ec : error_code(asio::error::timed_out);
    }
    out = std::move(state->results);
    co_return state->ec;
}

// Host name verification that records a mismatch in the verify result, so the error message can
// say "hostname mismatch" instead of a bare "certificate verify failed".
struct host_verifier {
    ssl::host_name_verification check;
    bool operator()(bool preverified, ssl::verify_context& ctx) const {
        bool ok = check(preverified, ctx);
        X509_STORE_CTX* store = ctx.native_handle();
        if (!ok && preverified && X509_STORE_CTX_get_error_depth(store) == 0)
            X509_STORE_CTX_set_error(store, X509_V_ERR_HOSTNAME_MISMATCH);
        return ok;
    }
};

bool is_address_literal(const std::string& host) {
    error_code ec;
    asio::ip::make_address(host, ec);
    return !ec;
}

}  // namespace

std::string origin::key() const {
    bool v6 = host.find(':') != std::string::npos;
    std::string h = v6 ? "[" + host + "]" : host;
    return std::string(to_string(scheme)) + "://" + h + ":" + std::to_string(port);
}

connection::connection(asio::any_io_executor executor, ssl::context* tls, origin where,
                       std::size_t read_limit, std::uint64_t id)
    : origin_(std::move(where)),
      stream_(tls ? decltype(stream_)(std::in_place_index<1>, executor, *tls)
                  : decltype(stream_)(std::in_place_index<0>, executor)),
      buffer_(read_limit),
      id_(id) {}

beast::tcp_stream& connection::tcp() noexcept {
    if (auto* plain = std::get_if<0>(&stream_)) return *plain;
    return std::get<1>(stream_).next_layer();
}

asio::awaitable<error_code> connection::async_connect(endpoint_name target,
                                                      steady_clock::time_point deadline,
                                                      bool& timed_out) {
    timed_out = false;
    tcp::resolver::results_type endpoints;
    error_code ec;
    asio::ip::address address = asio::ip::make_address(target.host, ec);
    if (!ec) {
        endpoints = tcp::resolver::results_type::create(tcp::endpoint(address, target.port),
                                                        target.host, std::to_string(target.port));
    } else {
        ec = co_await resolve(target, deadline, endpoints, timed_out);
        if (ec) co_return ec;
    }
    if (steady_clock::now() >= deadline) {
        timed_out = true;
        co_return error_code(asio::error::timed_out);
    }
    tcp().expires_at(deadline);
    auto [connect_ec, ignored] = co_await tcp().async_connect(endpoints, use_tuple);
    tcp().expires_never();
    if (connect_ec == beast::error::timeout) timed_out = true;
    if (!connect_ec) tcp().socket().set_option(tcp::no_delay(true), connect_ec);
    co_return connect_ec;
}

asio::awaitable<error_code> connection::async_handshake(bool verify,
                                                        steady_clock::time_point deadline) {
    auto& stream = std::get<1>(stream_);
    // SNI carries names only; RFC 6066 forbids address literals there.
    if (!is_address_literal(origin_.host) &&
        !SSL_set_tlsext_host_name(stream.native_handle(), origin_.host.c_str()))
        co_return error_code(asio::error::invalid_argument);
    error_code ec;
    if (verify) {
        stream.set_verify_mode(ssl::verify_peer, ec);
        if (!ec)
            stream.set_verify_callback(host_verifier{ssl::host_name_verification(origin_.host)},
                                       ec);
    } else {
        stream.set_verify_mode(ssl::verify_none, ec);
    }
    if (ec) co_return ec;
    tcp().expires_at(deadline);
    auto [hs_ec] = co_await stream.async_handshake(ssl::stream_base::client, use_tuple);
    tcp().expires_never();
    co_return hs_ec;
}

asio::awaitable<std::tuple<error_code, std::size_t>> connection::async_write(
    std::string_view wire, steady_clock::time_point deadline) {
    tcp().expires_at(deadline);
    return std::visit([&](auto& s) { return asio::async_write(s, asio::buffer(wire), use_tuple); },
                      stream_);
}

asio::awaitable<std::tuple<error_code, std::size_t>> connection::async_read(beast_parser& parser) {
    return std::visit(
        [&](auto& s) { return beast::http::async_read(s, buffer_, parser, use_tuple); }, stream_);
}

void connection::read_done() noexcept {
    tcp().expires_never();
}

bool connection::still_usable(bool peek) {
    auto& socket = tcp().socket();
    if (!socket.is_open() || buffer_.size() != 0) return false;
    if (auto* tls = std::get_if<1>(&stream_); tls && SSL_pending(tls->native_handle()) > 0)
        return false;
    if (!peek) return true;
    char byte = 0;
    ssize_t n = ::recv(socket.native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

void connection::close() noexcept {
    error_code ignored;
    tcp().socket().shutdown(tcp::socket::shutdown_both, ignored);
    tcp().close();
}

std::string connection::verify_failure() const {
    auto* tls = std::get_if<1>(&stream_);
    if (!tls) return {};
    long result = SSL_get_verify_result(const_cast<tls_stream*>(tls)->native_handle());
    if (result == X509_V_OK) return {};
    return X509_verify_cert_error_string(result);
}

}  // namespace taskpoller::http::detail
