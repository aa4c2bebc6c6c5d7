// Failure classification: every way a request can fail is either not_sent or outcome_unknown.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/ip/tcp.hpp>

#include "http/client.hpp"
#include "unit/http/test_server.hpp"
#include "unit/http/test_support.hpp"

namespace taskpoller::http::test {
namespace {
namespace asio = boost::asio;
using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;

// A listening socket whose accept queue is full, so further connects hang in SYN-SENT: a local,
// network-free way to make connect time out.
class full_backlog_listener {
  public:
    full_backlog_listener() {
        fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t len = sizeof addr;
        if (::bind(fd_, reinterpret_cast<sockaddr*>(&addr), len) != 0 || ::listen(fd_, 0) != 0 ||
            ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0)
            throw std::runtime_error("full_backlog_listener: setup failed");
        port_ = ntohs(addr.sin_port);
        for (int i = 0; i < 16; ++i) {  // connect until one no longer completes at once
            int s = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
            fillers_.push_back(s);
            ::connect(s, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
            pollfd p{s, POLLOUT, 0};
            if (::poll(&p, 1, 200) == 0) return;
        }
        throw std::runtime_error("full_backlog_listener: accept queue never filled");
    }
    ~full_backlog_listener() {
        for (int s : fillers_) ::close(s);
        ::close(fd_);
    }
    std::uint16_t port() const { return port_; }

  private:
    int fd_ = -1;
    std::uint16_t port_ = 0;
    std::vector<int> fillers_;
};

std::uint16_t unused_port(asio::io_context& ioc) {
    asio::ip::tcp::acceptor a(ioc, {asio::ip::make_address("127.0.0.1"), 0});
    return a.local_endpoint().port();  // closed on return: connecting there is refused
}

server_reply reply_of(server_reply::kind k) {
    server_reply r;
    r.what = k;
    return r;
}

void expect_failure(const send_result& r, failure_class kind, failure_stage stage) {
    ASSERT_FALSE(r.has_value()) << describe(r);
    EXPECT_EQ(r.error().kind, kind) << describe(r);
    EXPECT_EQ(r.error().stage, stage) << describe(r);
}

TEST(HttpClientFailure, ConnectionRefusedIsNotSent) {
    run_async([](asio::io_context& ioc) -> asio::awaitable<void> {
        client c(ioc.get_executor(), {}, loopback_options());
        auto r = co_await c.async_send(get_request(unused_port(ioc)));
        expect_failure(r, failure_class::not_sent, failure_stage::connect);
        CO_ASSERT(!r);
        EXPECT_FALSE(r.error().timed_out);
        EXPECT_NE(r.error().message.find("refused"), std::string::npos) << r.error().message;
        EXPECT_EQ(c.stats().failed_not_sent, 1u);
        EXPECT_TRUE(c.stats().hosts.empty());
    });
}

TEST(HttpClientFailure, ConnectTimeoutIsNotSent) {
    run_async([](asio::io_context& ioc) -> asio::awaitable<void> {
        full_backlog_listener listener;
        auto opts = loopback_options();
        opts.connect_timeout = 300ms;
        client c(ioc.get_executor(), {}, opts);
        auto start = clock_type::now();
        auto r = co_await c.async_send(get_request(listener.port()));
        auto elapsed = clock_type::now() - start;
        expect_failure(r, failure_class::not_sent, failure_stage::connect);
        CO_ASSERT(!r);
        EXPECT_TRUE(r.error().timed_out);
        EXPECT_GE(elapsed, 250ms);
        EXPECT_LT(elapsed, 3s);
    });
}

TEST(HttpClientFailure, UnresolvableHostIsNotSent) {
    run_async([](asio::io_context& ioc) -> asio::awaitable<void> {
        auto opts = loopback_options();
        opts.connect_timeout = 2s;
        client c(ioc.get_executor(), {}, opts);
        request r = get_request(80);
        r.host = "no-such-host.invalid";
        auto got = co_await c.async_send(r);
        CO_ASSERT(!got);
        EXPECT_EQ(got.error().kind, failure_class::not_sent) << describe(got);
        // Without a resolver answer the bounded wait ends it instead; either way, not sent.
        EXPECT_TRUE(got.error().stage == failure_stage::resolve || got.error().timed_out)
            << describe(got);
    });
}

TEST(HttpClientFailure, ServerClosingAfterReadingIsOutcomeUnknown) {
    run_async([](asio::io_context& ioc) -> asio::awaitable<void> {
        test_server server(ioc, [](auto&) { return reply_of(server_reply::kind::close_silently); });
        client c(ioc.get_executor(), {}, loopback_options());
        request post = get_request(server.port());
        post.method = method::post;
        post.body = "Action=StopInstances";
        auto r = co_await c.async_send(post);
        expect_failure(r, failure_class::outcome_unknown, failure_stage::read);
        CO_ASSERT(!r);
        EXPECT_NE(r.error().message.find("without answering"), std::string::npos);
        EXPECT_EQ(server.requests().size(), 1u);  // it did arrive: the outcome really is unknown
        EXPECT_EQ(c.stats().failed_outcome_unknown, 1u);
    });
}

// The stale-connection retry is for reused connections only: a fresh connection that ends
// without an answer is the server's doing, not a leftover keep-alive, and is not sent again.
TEST(HttpClientFailure, FreshConnectionClosedWithoutAnswerIsNotRetried) {
    run_async([](asio::io_context& ioc) -> asio::awaitable<void> {
        test_server server(ioc, [](auto&) { return reply_of(server_reply::kind::close_silently); });
        client c(ioc.get_executor(), {}, loopback_options());
        request r = get_request(server.port());
        r.retry_if_stale = true;
        auto got = co_await c.async_send(r);
        expect_failure(got, failure_class::outcome_unknown, failure_stage::read);
        EXPECT_EQ(server.requests().size(), 1u);
        EXPECT_EQ(c.stats().stale_retried, 0u);
    });
}

// A reused connection that ends without an answer is retried once, not again and again.
TEST(HttpClientFailure, StaleRetryHappensOnlyOnce) {
    run_async([](asio::io_context& ioc) -> asio::awaitable<void> {
        int seen = 0;
        test_server server(ioc, [&seen](auto&) {
            return reply_of(++seen == 1 ? server_reply::kind::respond
                                        : server_reply::kind::close_silently);
        });
        auto opts = loopback_options();
        opts.stale_check_after = 10s;
        client c(ioc.get_executor(), {}, opts);
        request r = get_request(server.port());
        r.retry_if_stale = true;
        CO_ASSERT_OK(co_await c.async_send(r));
        auto got = co_await c.async_send(r);
        expect_failure(got, failure_class::outcome_unknown, failure_stage::read);
        EXPECT_EQ(server.requests().size(), 3u);  // first answer, the reused try, one retry
        EXPECT_EQ(server.accepted(), 2u);
        EXPECT_EQ(c.stats().stale_retried, 1u);
        EXPECT_EQ(c.stats().failed_outcome_unknown, 1u);
    });
}

TEST(HttpClientFailure, NoAnswerTimesOutAsOutcomeUnknown) {
    run_async([](asio::io_context& ioc) -> asio::awaitable<void> {
        test_server server(ioc, [](auto&) { return reply_of(server_reply::kind::never_answer); });
        client c(ioc.get_executor(), {}, loopback_options());
        request r = get_request(server.port());
        r.timeout = 300ms;
        auto start = clock_type::now();
        auto got = co_await c.async_send(r);
        auto elapsed = clock_type::now() - start;
        expect_failure(got, failure_class::outcome_unknown, failure_stage::read);
        CO_ASSERT(!got);
        EXPECT_TRUE(got.error().timed_out);
        EXPECT_GE(elapsed, 250ms);
        EXPECT_LT(elapsed, 3s);
        EXPECT_TRUE(c.stats().hosts.empty());  // the connection was closed, not pooled
        co_await sleep_for(50ms);
        EXPECT_EQ(server.open_now(), 0u);
    });
}

TEST(HttpClientFailure, OversizedBodyIsOutcomeUnknown) {
    run_async([](asio::io_context& ioc) -> asio::awaitable<void> {
        test_server server(ioc, [](auto&) {
            server_reply r;
            r.body.assign(4096, 'x');
            return r;
        });
        auto opts = loopback_options();
        opts.body_limit = 1024;
        client c(ioc.get_executor(), {}, opts);
        auto r = co_await c.async_send(get_request(server.port()));
        expect_failure(r, failure_class::outcome_unknown, failure_stage::read);
        CO_ASSERT(!r);
        EXPECT_NE(r.error().message.find("body exceeds the limit of 1024 bytes"), std::string::npos)
            << r.error().message;
        EXPECT_TRUE(c.stats().hosts.empty());
    });
}

TEST(HttpClientFailure, OversizedHeaderIsOutcomeUnknown) {
    run_async([](asio::io_context& ioc) -> asio::awaitable<void> {
        test_server server(ioc, [](auto&) {
            server_reply r;
            r.headers = {{"X-Big", std::string(4096, 'h')}};
            return r;
        });
        auto opts = loopback_options();
        opts.header_limit = 1024;
        client c(ioc.get_executor(), {}, opts);
        auto r = co_await c.async_send(get_request(server.port()));
        expect_failure(r, failure_class::outcome_unknown, failure_stage::read);
        CO_ASSERT(!r);
        EXPECT_NE(r.error().message.find("header exceeds the limit"), std::string::npos);
    });
}

TEST(HttpClientFailure, MalformedResponseIsOutcomeUnknown) {
    run_async([](asio::io_context& ioc) -> asio::awaitable<void> {
        test_server server(ioc, [](auto&) {
            server_reply r;
            r.what = server_reply::kind::raw;
            r.raw = "HTTP/1.1 200 OK\r\nContent-Length: twelve\r\n\r\nhello";
            return r;
        });
        client c(ioc.get_executor(), {}, loopback_options());
        auto r = co_await c.async_send(get_request(server.port()));
        expect_failure(r, failure_class::outcome_unknown, failure_stage::read);
        CO_ASSERT(!r);
        EXPECT_NE(r.error().message.find("malformed response"), std::string::npos)
            << r.error().message;
    });
}

TEST(HttpClientFailure, WriteTimeoutAfterPartialWriteIsOutcomeUnknown) {
    run_async([](asio::io_context& ioc) -> asio::awaitable<void> {
        // Accepts but never reads, so a large body stalls once the socket buffers are full.
        asio::ip::tcp::acceptor acceptor(ioc, {asio::ip::make_address("127.0.0.1"), 0});
        asio::ip::tcp::socket peer(ioc);
        acceptor.async_accept(peer, [](boost::system::error_code) {});
        client c(ioc.get_executor(), {}, loopback_options());
        request r = get_request(acceptor.local_endpoint().port());
        r.method = method::post;
        r.body.assign(32 * 1024 * 1024, 'b');  // well beyond loopback socket buffers
        r.timeout = 500ms;
        auto got = co_await c.async_send(r);
        expect_failure(got, failure_class::outcome_unknown, failure_stage::write);
        CO_ASSERT(!got);
        EXPECT_TRUE(got.error().timed_out);
        EXPECT_NE(got.error().message.find("after"), std::string::npos);
    });
}

}  // namespace
}  // namespace taskpoller::http::test
