#pragma once
// Routes used by the socket tests.

#include <array>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <stdexcept>

#include "control/json_body.hpp"
#include "control/router.hpp"

namespace taskpoller::control::test {

namespace json = boost::json;

inline boost::asio::awaitable<void> sleep_for(std::chrono::milliseconds d) {
    boost::asio::steady_timer t(co_await boost::asio::this_coro::executor, d);
    co_await t.async_wait(boost::asio::use_awaitable);
}

// Pushes `n` numbered lines of about `size` bytes, yielding now and then so the writer runs.
inline boost::asio::awaitable<void> produce(std::shared_ptr<line_stream> s, int n, std::size_t size,
                                            bool finish) {
    for (int i = 0; i < n; ++i) {
        std::string pad(size, 'x');
        if (!s->push(json::serialize(json::value{{"seq", i}, {"pad", pad}}))) co_return;
        if (i % 50 == 0) co_await boost::asio::post(boost::asio::use_awaitable);
    }
    if (finish) s->finish();
}

inline router make_test_routes() {
    using boost::asio::awaitable;
    router r;
    r.add("GET", "/ping", [](request_context&) -> awaitable<response> {
        co_return response::json(200, json::value{{"ok", true}});
    });
    r.add("GET", "/v1/items/{id}", [](request_context& ctx) -> awaitable<response> {
        co_return response::json(
            200, json::value{{"id", ctx.param("id")}, {"x", ctx.query.get("x").value_or("")}});
    });
    r.add("POST", "/v1/items", [](request_context& ctx) -> awaitable<response> {
        static constexpr std::array<field_spec, 2> fields{
            {{"name", json_kind::string, true}, {"count", json_kind::integer}}};
        auto body = parse_json_object(ctx.body, fields);
        if (!body) co_return response::error(body.error());
        co_return response::json(
            201, json::value{{"name", body->at("name")}, {"uid", ctx.peer ? ctx.peer->uid : 0}});
    });
    r.add("DELETE", "/v1/items/{id}", [](request_context&) -> awaitable<response> {
        co_return response::json(200, json::value{{"deleted", true}});
    });
    r.add("GET", "/boom", [](request_context&) -> awaitable<response> {
        throw std::runtime_error("secret internal detail");
        co_return response{};
    });
    r.add("GET", "/slow", [](request_context& ctx) -> awaitable<response> {
        auto ms = parse_duration(ctx.query.get("for").value_or("100ms"));
        if (!ms) co_return response::error(ms.error());
        co_await sleep_for(*ms);
        co_return response::json(200, json::value{{"slept", ms->count()}});
    });
    r.add("GET", "/wait", [](request_context& ctx) -> awaitable<response> {
        auto slot = ctx.services->waiters().try_acquire();
        if (!slot) co_return response::error(too_many_requests("too many waiters"));
        using namespace boost::asio::experimental::awaitable_operators;
        auto which =
            co_await (ctx.services->async_wait_shutdown() || sleep_for(std::chrono::seconds(20)));
        co_return response::json(200, json::value{{"shutdown", which.index() == 0}});
    });
    r.add("GET", "/stream", [](request_context& ctx) -> awaitable<response> {
        int n = std::stoi(std::string(ctx.query.get("n").value_or("10")));
        auto size = std::stoul(std::string(ctx.query.get("size").value_or("10")));
        bool forever = ctx.query.get("forever").has_value();
        auto s = ctx.services->make_stream();
        boost::asio::co_spawn(co_await boost::asio::this_coro::executor,
                              produce(s, n, size, !forever), boost::asio::detached);
        co_return response::streaming(s);
    });
    return r;
}

}  // namespace taskpoller::control::test
