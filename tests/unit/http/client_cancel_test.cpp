// Cancellation and shutdown: requests end promptly with a classified error, connections are
// closed rather than leaked, and the io_context runs dry afterwards (checked by run_async).
#include <gtest/gtest.h>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <optional>

#include "http/client.hpp"
#include "unit/http/test_server.hpp"
#include "unit/http/test_support.hpp"

namespace taskpoller::http::test {
namespace {
namespace asio = boost::asio;
using namespace std::chrono_literals;

server_reply slow_or_silent(const received_request& r) {
    server_reply reply;
    if (r.target == "/silent") reply.what = server_reply::kind::never_answer;
    if (r.target == "/slow") reply.delay = 800ms;
    return reply;
}

// Starts a send on its own coroutine, optionally cancellable; the result lands in `out`.
void spawn_send(asio::io_context& ioc, client& c, request r, std::optional<send_result>& out,
                asio::cancellation_signal* signal = nullptr) {
    auto done = [&out](std::exception_ptr, send_result result) { out = std::move(result); };
    if (signal)
        asio::co_spawn(ioc, c.async_send(std::move(r)),
                       asio::bind_cancellation_slot(signal->slot(), done));
    else
        asio::co_spawn(ioc, c.async_send(std::move(r)), done);
}

asio::awaitable<void> wait_until_set(const std::optional<send_result>& out) {
    for (int i = 0; i < 300 && !out; ++i) co_await sleep_for(10ms);
}

TEST(HttpClientCancel, CancelWhileAwaitingResponseClosesConnection) {
    run_async([](asio::io_context& ioc) -> asio::awaitable<void> {
        test_server server(ioc, slow_or_silent);
        client c(ioc.get_executor(), {}, loopback_options());
        asio::cancellation_signal signal;
        std::optional<send_result> out;
        spawn_send(ioc, c, get_request(server.port(), "/silent"), out, &signal);
        co_await sleep_for(100ms);
        CO_ASSERT(!out);
        signal.emit(asio::cancellation_type::terminal);
        co_await wait_until_set(out);
        CO_ASSERT(out.has_value() && !out->has_value());
        EXPECT_EQ(out->error().kind, failure_class::outcome_unknown) << describe(*out);
        EXPECT_TRUE(out->error().cancelled);
        EXPECT_TRUE(c.stats().hosts.empty());
        co_await sleep_for(50ms);
        EXPECT_EQ(server.open_now(), 0u);
    });
}

TEST(HttpClientCancel, CancelWhileWaitingForConnectionIsNotSent) {
    run_async([](asio::io_context& ioc) -> asio::awaitable<void> {
        test_server server(ioc, slow_or_silent);
        auto opts = loopback_options();
        opts.max_connections_per_host = 1;
        client c(ioc.get_executor(), {}, opts);
        asio::cancellation_signal signal;
        std::optional<send_result> slow, waiting;
        spawn_send(ioc, c, get_request(server.port(), "/slow"), slow);
        spawn_send(ioc, c, get_request(server.port(), "/after"), waiting, &signal);
        co_await sleep_for(100ms);
        CO_ASSERT(c.stats().hosts.size() == 1);
        EXPECT_EQ(c.stats().hosts[0].waiting, 1u);
        signal.emit(asio::cancellation_type::terminal);
        co_await wait_until_set(waiting);
        CO_ASSERT(waiting.has_value() && !waiting->has_value());
        EXPECT_EQ(waiting->error().kind, failure_class::not_sent);
        EXPECT_EQ(waiting->error().stage, failure_stage::pool_wait);
        EXPECT_TRUE(waiting->error().cancelled);
        co_await wait_until_set(slow);
        CO_ASSERT(slow.has_value());
        CO_ASSERT_OK(*slow);
        EXPECT_EQ(server.requests().size(), 1u);
    });
}

TEST(HttpClientCancel, LosingAnAwaitableOperatorRaceReleasesTheConnection) {
    run_async([](asio::io_context& ioc) -> asio::awaitable<void> {
        using namespace asio::experimental::awaitable_operators;
        test_server server(ioc, slow_or_silent);
        client c(ioc.get_executor(), {}, loopback_options());
        auto winner =
            co_await (c.async_send(get_request(server.port(), "/silent")) || sleep_for(150ms));
        EXPECT_EQ(winner.index(), 1u);
        EXPECT_TRUE(c.stats().hosts.empty());
        EXPECT_EQ(c.stats().failed_outcome_unknown, 1u);
        // The client still works afterwards.
        CO_ASSERT_OK(co_await c.async_send(get_request(server.port(), "/fine")));
    });
}

TEST(HttpClientCancel, ShutdownFailsEverythingAndRefusesNewRequests) {
    run_async([](asio::io_context& ioc) -> asio::awaitable<void> {
        test_server server(ioc, slow_or_silent);
        auto opts = loopback_options();
        opts.max_connections_per_host = 1;
        client c(ioc.get_executor(), {}, opts);
        std::optional<send_result> in_flight, queued;
        spawn_send(ioc, c, get_request(server.port(), "/silent"), in_flight);
        spawn_send(ioc, c, get_request(server.port(), "/queued"), queued);
        co_await sleep_for(100ms);
        c.shutdown();
        co_await wait_until_set(in_flight);
        co_await wait_until_set(queued);
        CO_ASSERT(in_flight.has_value() && !in_flight->has_value());
        EXPECT_EQ(in_flight->error().kind, failure_class::outcome_unknown);
        EXPECT_TRUE(in_flight->error().cancelled) << describe(*in_flight);
        CO_ASSERT(queued.has_value() && !queued->has_value());
        EXPECT_EQ(queued->error().kind, failure_class::not_sent);
        EXPECT_TRUE(queued->error().cancelled);
        auto late = co_await c.async_send(get_request(server.port(), "/late"));
        CO_ASSERT(!late);
        EXPECT_EQ(late.error().kind, failure_class::not_sent);
        EXPECT_NE(late.error().message.find("shut down"), std::string::npos);
        EXPECT_TRUE(c.stats().hosts.empty());
        EXPECT_EQ(server.requests().size(), 1u);
    });
}

TEST(HttpClientCancel, DestroyingTheClientMidRequestIsSafe) {
    run_async([](asio::io_context& ioc) -> asio::awaitable<void> {
        test_server server(ioc, slow_or_silent);
        auto c = std::make_unique<client>(ioc.get_executor(), core::logger{}, loopback_options());
        std::optional<send_result> out;
        spawn_send(ioc, *c, get_request(server.port(), "/silent"), out);
        co_await sleep_for(100ms);
        c.reset();
        co_await wait_until_set(out);
        CO_ASSERT(out.has_value() && !out->has_value());
        EXPECT_TRUE(out->error().cancelled);
        co_await sleep_for(50ms);
        EXPECT_EQ(server.open_now(), 0u);
    });
}

}  // namespace
}  // namespace taskpoller::http::test
