// TLS: verification against a CA file, host name checks, SNI and Host with connect_to, and the
// verification-off escape hatch. Certificates are generated per test run.
#include <gtest/gtest.h>

#include <boost/asio/ip/tcp.hpp>

#include "http/client.hpp"
#include "unit/http/test_pki.hpp"
#include "unit/http/test_server.hpp"
#include "unit/http/test_support.hpp"

namespace taskpoller::http::test {
namespace {
namespace asio = boost::asio;
using namespace std::chrono_literals;

const test_pki& pki() {
    static const test_pki instance({"sim.test", "cvm.api.qcloud.com"});
    return instance;
}

std::shared_ptr<asio::ssl::context> server_tls() {
    return make_server_tls(pki().server_cert_pem(), pki().server_key_pem());
}

server_reply ok(const received_request&) {
    server_reply r;
    r.body = R"({"code":0})";
    return r;
}

client_options tls_options(std::uint16_t port) {
    auto o = loopback_options();
    o.ca_file = pki().ca_file();
    o.connect_to = {{"*", "127.0.0.1:" + std::to_string(port)}};
    return o;
}

request https_to(std::string host) {
    request r;
    r.scheme = scheme::https;
    r.host = std::move(host);
    r.target = "/v2/index.php";
    return r;
}

TEST(HttpClientTls, VerifiesAgainstCaFileAndKeepsRealHostName) {
    run_async([](asio::io_context& ioc) -> asio::awaitable<void> {
        test_server server(ioc, ok, server_tls());
        client c(ioc.get_executor(), {}, tls_options(server.port()));
        for (int i = 0; i < 2; ++i) {
            auto r = co_await c.async_send(https_to("cvm.api.qcloud.com"));
            CO_ASSERT_OK(r);
            EXPECT_EQ(r->body, R"({"code":0})");
        }
        CO_ASSERT(server.requests().size() == 2);
        EXPECT_EQ(server.requests()[0].sni, "cvm.api.qcloud.com");
        EXPECT_EQ(server.requests()[0].host, "cvm.api.qcloud.com");  // default port: no suffix
        EXPECT_EQ(server.accepted(), 1u);                            // TLS keep-alive reuse
        EXPECT_EQ(c.stats().connections_reused, 1u);
        EXPECT_EQ(c.stats().hosts.at(0).origin, "https://cvm.api.qcloud.com:443");
    });
}

TEST(HttpClientTls, ConnectToByHostAndPortKey) {
    run_async([](asio::io_context& ioc) -> asio::awaitable<void> {
        test_server server(ioc, ok, server_tls());
        auto opts = loopback_options();
        opts.ca_file = pki().ca_file();
        opts.connect_to = {{"sim.test:8443", "127.0.0.1:" + std::to_string(server.port())}};
        client c(ioc.get_executor(), {}, opts);
        request r = https_to("sim.test");
        r.port = 8443;
        CO_ASSERT_OK(co_await c.async_send(r));
        CO_ASSERT(server.requests().size() == 1);
        EXPECT_EQ(server.requests()[0].host, "sim.test:8443");
        EXPECT_EQ(server.requests()[0].sni, "sim.test");
    });
}

TEST(HttpClientTls, WrongHostNameIsRefusedBeforeSending) {
    run_async([](asio::io_context& ioc) -> asio::awaitable<void> {
        test_server server(ioc, ok, server_tls());
        client c(ioc.get_executor(), {}, tls_options(server.port()));
        auto r = co_await c.async_send(https_to("evil.test"));
        CO_ASSERT(!r);
        EXPECT_EQ(r.error().kind, failure_class::not_sent);
        EXPECT_EQ(r.error().stage, failure_stage::tls_handshake);
        EXPECT_NE(r.error().message.find("hostname mismatch"), std::string::npos)
            << r.error().message;
        EXPECT_TRUE(server.requests().empty());
    });
}

TEST(HttpClientTls, UntrustedCertificateIsRefusedWithTheSystemStore) {
    run_async([](asio::io_context& ioc) -> asio::awaitable<void> {
        test_server server(ioc, ok, server_tls());
        auto opts = tls_options(server.port());
        opts.ca_file.clear();  // system trust store: does not know our test CA
        client c(ioc.get_executor(), {}, opts);
        auto r = co_await c.async_send(https_to("sim.test"));
        CO_ASSERT(!r);
        EXPECT_EQ(r.error().kind, failure_class::not_sent);
        EXPECT_EQ(r.error().stage, failure_stage::tls_handshake);
        EXPECT_NE(r.error().message.find("certificate verification failed"), std::string::npos)
            << r.error().message;
        EXPECT_TRUE(server.requests().empty());
    });
}

TEST(HttpClientTls, VerificationOffWorksAndWarnsOnEveryConstruction) {
    run_async([](asio::io_context& ioc) -> asio::awaitable<void> {
        test_server server(ioc, ok, server_tls());
        log_capture logs;
        auto opts = tls_options(server.port());
        opts.ca_file.clear();
        opts.verify_peer = false;
        client c(ioc.get_executor(), logs.logger(core::log_level::warn), opts);
        EXPECT_TRUE(logs.contains("WARN http: TLS CERTIFICATE VERIFICATION IS DISABLED"));
        CO_ASSERT_OK(co_await c.async_send(https_to("evil.test")));
        client second(ioc.get_executor(), logs.logger(core::log_level::warn), opts);
        EXPECT_EQ(logs.lines().size(), 2u);
    });
}

TEST(HttpClientTls, VerificationOnLogsNoWarning) {
    run_async([](asio::io_context& ioc) -> asio::awaitable<void> {
        log_capture logs;
        client c(ioc.get_executor(), logs.logger(core::log_level::warn), tls_options(443));
        EXPECT_TRUE(logs.lines().empty());
        co_return;
    });
}

TEST(HttpClientTls, ServerClosedIdleTlsConnectionIsNotReused) {
    run_async([](asio::io_context& ioc) -> asio::awaitable<void> {
        test_server server(
            ioc,
            [](const received_request&) {
                server_reply r;
                r.what = server_reply::kind::respond_then_close;
                return r;
            },
            server_tls());
        client c(ioc.get_executor(), {}, tls_options(server.port()));
        for (int i = 0; i < 3; ++i) {
            CO_ASSERT_OK(co_await c.async_send(https_to("sim.test")));
            co_await sleep_for(50ms);
        }
        EXPECT_EQ(server.accepted(), 3u);
        EXPECT_EQ(c.stats().stale_discarded, 2u);
        EXPECT_EQ(c.stats().failed_outcome_unknown, 0u);
    });
}

TEST(HttpClientTls, SilentPeerTimesOutTheHandshakeAsNotSent) {
    run_async([](asio::io_context& ioc) -> asio::awaitable<void> {
        // Accepts TCP but never says a word of TLS.
        asio::ip::tcp::acceptor acceptor(ioc, {asio::ip::make_address("127.0.0.1"), 0});
        asio::ip::tcp::socket peer(ioc);
        acceptor.async_accept(peer, [](boost::system::error_code) {});
        auto opts = tls_options(acceptor.local_endpoint().port());
        opts.tls_handshake_timeout = 300ms;
        client c(ioc.get_executor(), {}, opts);
        auto r = co_await c.async_send(https_to("sim.test"));
        CO_ASSERT(!r);
        EXPECT_EQ(r.error().kind, failure_class::not_sent);
        EXPECT_EQ(r.error().stage, failure_stage::tls_handshake);
        EXPECT_TRUE(r.error().timed_out) << r.error().message;
    });
}

}  // namespace
}  // namespace taskpoller::http::test
