// Round trips, keep-alive reuse, the per-host cap and idle handling against an in-process server.
#include <gtest/gtest.h>

#include <algorithm>

#include "http/client.hpp"
#include "unit/http/test_server.hpp"
#include "unit/http/test_support.hpp"

namespace taskpoller::http::test {
namespace {
namespace asio = boost::asio;
using namespace std::chrono_literals;

// Answers as keep-alive, then closes the connection anyway (a server-side idle timeout).
server_reply keep_alive_then_close(const received_request&) {
    server_reply r;
    r.what = server_reply::kind::respond_then_close;
    return r;
}

server_reply echo(const received_request& r) {
    server_reply reply;
    reply.body = r.method + " " + r.target + " " + r.content_type + " " + r.body;
    reply.headers = {{"X-Echo-Host", r.host}};
    return reply;
}

TEST(HttpClient, GetAndPostRoundTrip) {
    run_async([](asio::io_context& ioc) -> asio::awaitable<void> {
        test_server server(ioc, echo);
        client c(ioc.get_executor(), {}, loopback_options());
        auto got = co_await c.async_send(get_request(server.port(), "/a?b=c"));
        CO_ASSERT_OK(got);
        EXPECT_EQ(got->status, 200u);
        EXPECT_EQ(got->body, "GET /a?b=c  ");
        CO_ASSERT(got->header("x-echo-host") != nullptr);
        EXPECT_EQ(*got->header("X-ECHO-HOST"), "127.0.0.1:" + std::to_string(server.port()));

        request post = get_request(server.port(), "/v2/index.php");
        post.method = method::post;
        post.body = "Action=Foo&x=1";
        post.content_type = "application/x-www-form-urlencoded";
        post.headers = {{"X-Trace", "abc"}};
        auto posted = co_await c.async_send(post);
        CO_ASSERT_OK(posted);
        EXPECT_EQ(posted->body,
                  "POST /v2/index.php application/x-www-form-urlencoded Action=Foo&x=1");
        EXPECT_TRUE(posted->connection_reused);
    });
}

TEST(HttpClient, NonSuccessStatusIsAResponseNotAnError) {
    run_async([](asio::io_context& ioc) -> asio::awaitable<void> {
        test_server server(ioc, [](const received_request&) {
            server_reply r;
            r.status = 503;
            r.body = "busy";
            return r;
        });
        client c(ioc.get_executor(), {}, loopback_options());
        auto got = co_await c.async_send(get_request(server.port()));
        CO_ASSERT_OK(got);
        EXPECT_EQ(got->status, 503u);
        EXPECT_EQ(got->reason, "Service Unavailable");
        EXPECT_EQ(got->body, "busy");
        EXPECT_EQ(c.stats().failed_not_sent + c.stats().failed_outcome_unknown, 0u);
    });
}

TEST(HttpClient, KeepAliveReusesOneConnection) {
    run_async([](asio::io_context& ioc) -> asio::awaitable<void> {
        test_server server(ioc, echo);
        client c(ioc.get_executor(), {}, loopback_options());
        for (int i = 0; i < 5; ++i) {
            auto r = co_await c.async_send(get_request(server.port()));
            CO_ASSERT_OK(r);
            EXPECT_EQ(r->connection_reused, i > 0);
        }
        EXPECT_EQ(server.accepted(), 1u);
        auto s = c.stats();
        EXPECT_EQ(s.requests, 5u);
        EXPECT_EQ(s.connections_opened, 1u);
        EXPECT_EQ(s.connections_reused, 4u);
        CO_ASSERT(s.hosts.size() == 1);
        EXPECT_EQ(s.hosts[0].origin, "http://127.0.0.1:" + std::to_string(server.port()));
        EXPECT_EQ(s.hosts[0].open, 1u);
        EXPECT_EQ(s.hosts[0].idle, 1u);
    });
}

TEST(HttpClient, ServerConnectionCloseIsHonoured) {
    run_async([](asio::io_context& ioc) -> asio::awaitable<void> {
        test_server server(ioc, [](const received_request&) {
            server_reply r;
            r.keep_alive = false;  // "Connection: close", then the server closes
            return r;
        });
        client c(ioc.get_executor(), {}, loopback_options());
        for (int i = 0; i < 3; ++i) CO_ASSERT_OK(co_await c.async_send(get_request(server.port())));
        EXPECT_EQ(server.accepted(), 3u);
        EXPECT_EQ(c.stats().connections_reused, 0u);
        EXPECT_TRUE(c.stats().hosts.empty());
    });
}

TEST(HttpClient, FreshConnectionWhenReuseIsDisabled) {
    run_async([](asio::io_context& ioc) -> asio::awaitable<void> {
        test_server server(ioc, echo);
        auto opts = loopback_options();
        opts.max_connections_per_host = 1;  // must close the idle one to make room
        client c(ioc.get_executor(), {}, opts);
        request r = get_request(server.port());
        r.reuse_connection = false;
        for (int i = 0; i < 3; ++i) {
            auto got = co_await c.async_send(r);
            CO_ASSERT_OK(got);
            EXPECT_FALSE(got->connection_reused);
        }
        EXPECT_EQ(server.accepted(), 3u);
        EXPECT_EQ(c.stats().connections_opened, 3u);
        co_await sleep_for(50ms);
        EXPECT_LE(server.open_now(), 1u);  // earlier connections were closed, not leaked
    });
}

TEST(HttpClient, PerHostCapBoundsConcurrentConnections) {
    run_async([](asio::io_context& ioc) -> asio::awaitable<void> {
        test_server server(ioc, [](const received_request&) {
            server_reply r;
            r.delay = 50ms;  // keep connections busy so requests pile up
            return r;
        });
        auto opts = loopback_options();
        opts.max_connections_per_host = 2;
        client c(ioc.get_executor(), {}, opts);
        std::vector<request> reqs(8, get_request(server.port()));
        auto results = co_await send_all(c, reqs);
        for (const auto& r : results) CO_ASSERT_OK(r);
        EXPECT_EQ(server.max_open(), 2u);
        EXPECT_EQ(server.accepted(), 2u);
        EXPECT_EQ(c.stats().connections_reused, 6u);
    });
}

TEST(HttpClient, WaitingForAFreeConnectionIsBoundedByTheTimeout) {
    run_async([](asio::io_context& ioc) -> asio::awaitable<void> {
        test_server server(ioc, [](const received_request& r) {
            server_reply reply;
            if (r.target == "/slow") reply.delay = 1500ms;
            return reply;
        });
        auto opts = loopback_options();
        opts.max_connections_per_host = 1;
        client c(ioc.get_executor(), {}, opts);
        request slow = get_request(server.port(), "/slow");
        request quick = get_request(server.port(), "/quick");
        quick.timeout = 200ms;
        std::vector<request> both{slow, quick};
        auto results = co_await send_all(c, both);
        CO_ASSERT_OK(results[0]);
        CO_ASSERT(!results[1]);
        EXPECT_EQ(results[1].error().kind, failure_class::not_sent);
        EXPECT_EQ(results[1].error().stage, failure_stage::pool_wait);
        EXPECT_TRUE(results[1].error().timed_out);
        EXPECT_EQ(server.requests().size(), 1u);  // the quick one never reached the server
    });
}

TEST(HttpClient, IdleConnectionsExpire) {
    run_async([](asio::io_context& ioc) -> asio::awaitable<void> {
        test_server server(ioc, echo);
        auto opts = loopback_options();
        opts.idle_timeout = 150ms;
        client c(ioc.get_executor(), {}, opts);
        CO_ASSERT_OK(co_await c.async_send(get_request(server.port())));
        EXPECT_EQ(c.stats().hosts.size(), 1u);
        co_await sleep_for(600ms);
        EXPECT_EQ(c.stats().idle_expired, 1u);
        EXPECT_TRUE(c.stats().hosts.empty());
        EXPECT_EQ(server.open_now(), 0u);  // the server saw the close
        auto again = co_await c.async_send(get_request(server.port()));
        CO_ASSERT_OK(again);
        EXPECT_FALSE(again->connection_reused);
        EXPECT_EQ(server.accepted(), 2u);
    });
}

TEST(HttpClient, IdleConnectionClosedByServerIsNotReused) {
    run_async([](asio::io_context& ioc) -> asio::awaitable<void> {
        test_server server(ioc, keep_alive_then_close);
        client c(ioc.get_executor(), {}, loopback_options());
        for (int i = 0; i < 3; ++i) {
            CO_ASSERT_OK(co_await c.async_send(get_request(server.port())));
            co_await sleep_for(50ms);  // let the FIN arrive
        }
        EXPECT_EQ(server.accepted(), 3u);
        EXPECT_EQ(c.stats().stale_discarded, 2u);
        EXPECT_EQ(c.stats().connections_reused, 0u);
        EXPECT_EQ(c.stats().failed_outcome_unknown, 0u);
    });
}

// An idempotent request skips the peek on a briefly idle connection; when the server had closed
// that connection, the request goes out again on a fresh one and the caller sees no failure.
TEST(HttpClient, StaleConnectionIsRetriedForIdempotentRequests) {
    run_async([](asio::io_context& ioc) -> asio::awaitable<void> {
        test_server server(ioc, keep_alive_then_close);
        auto opts = loopback_options();
        opts.stale_check_after = 10s;  // every reuse below skips the peek
        client c(ioc.get_executor(), {}, opts);
        for (int i = 0; i < 3; ++i) {
            request r = get_request(server.port());
            r.retry_if_stale = true;
            auto got = co_await c.async_send(r);
            CO_ASSERT_OK(got);
            EXPECT_EQ(got->status, 200u);
            EXPECT_FALSE(got->connection_reused);  // answered on the fresh connection
            co_await sleep_for(50ms);              // let the FIN arrive
        }
        EXPECT_EQ(server.accepted(), 3u);
        EXPECT_EQ(server.requests().size(), 3u);  // the stale connection delivered nothing
        EXPECT_EQ(c.stats().stale_checks, 0u);
        EXPECT_EQ(c.stats().stale_retried, 2u);
        EXPECT_EQ(c.stats().failed_outcome_unknown, 0u);
        EXPECT_EQ(c.stats().failed_not_sent, 0u);
    });
}

// Requests that may not be sent twice keep the peek whatever the idle time.
TEST(HttpClient, RequestsWithoutRetryAlwaysPeek) {
    run_async([](asio::io_context& ioc) -> asio::awaitable<void> {
        test_server server(ioc, keep_alive_then_close);
        auto opts = loopback_options();
        opts.stale_check_after = 10s;
        client c(ioc.get_executor(), {}, opts);
        for (int i = 0; i < 3; ++i) {
            CO_ASSERT_OK(co_await c.async_send(get_request(server.port())));
            co_await sleep_for(50ms);
        }
        EXPECT_EQ(c.stats().stale_checks, 2u);
        EXPECT_EQ(c.stats().stale_discarded, 2u);
        EXPECT_EQ(c.stats().stale_retried, 0u);
        EXPECT_EQ(c.stats().failed_outcome_unknown, 0u);
    });
}

// A connection idle longer than stale_check_after is peeked at even for an idempotent request.
TEST(HttpClient, LongIdleConnectionIsPeekedBeforeReuse) {
    run_async([](asio::io_context& ioc) -> asio::awaitable<void> {
        test_server server(ioc, keep_alive_then_close);
        auto opts = loopback_options();
        opts.stale_check_after = 20ms;
        client c(ioc.get_executor(), {}, opts);
        for (int i = 0; i < 2; ++i) {
            request r = get_request(server.port());
            r.retry_if_stale = true;
            CO_ASSERT_OK(co_await c.async_send(r));
            co_await sleep_for(100ms);
        }
        EXPECT_EQ(c.stats().stale_checks, 1u);
        EXPECT_EQ(c.stats().stale_discarded, 1u);
        EXPECT_EQ(c.stats().stale_retried, 0u);
    });
}

// Busy keep-alive reuse by idempotent requests still works (no peek, no retry, one connection).
TEST(HttpClient, IdempotentRequestsReuseWithoutPeeking) {
    run_async([](asio::io_context& ioc) -> asio::awaitable<void> {
        test_server server(ioc, echo);
        client c(ioc.get_executor(), {}, loopback_options());
        for (int i = 0; i < 5; ++i) {
            request r = get_request(server.port());
            r.retry_if_stale = true;
            auto got = co_await c.async_send(r);
            CO_ASSERT_OK(got);
            EXPECT_EQ(got->connection_reused, i > 0);
        }
        EXPECT_EQ(server.accepted(), 1u);
        EXPECT_EQ(c.stats().connections_reused, 4u);
        EXPECT_EQ(c.stats().stale_checks, 0u);
        EXPECT_EQ(c.stats().stale_retried, 0u);
    });
}

TEST(HttpClient, InvalidRequestsAreRefusedBeforeSending) {
    run_async([](asio::io_context& ioc) -> asio::awaitable<void> {
        test_server server(ioc, echo);
        client c(ioc.get_executor(), {}, loopback_options());
        std::vector<request> bad(5, get_request(server.port()));
        bad[0].host = "";
        bad[1].target = "no-slash";
        bad[2].headers = {{"X-Evil", "a\r\nInjected: yes"}};
        bad[3].headers = {{"Content-Length", "5"}};
        bad[4].headers = {{"bad name", "x"}};
        for (const auto& r : bad) {
            auto got = co_await c.async_send(r);
            CO_ASSERT(!got);
            EXPECT_EQ(got.error().kind, failure_class::not_sent);
            EXPECT_EQ(got.error().stage, failure_stage::invalid_request) << got.error().message;
        }
        EXPECT_EQ(server.accepted(), 0u);
    });
}

}  // namespace
}  // namespace taskpoller::http::test
