// GET /_ping, /v1/status, /v1/config, /metrics; POST /v1/reload; and add_api_routes.
// GCC 12 reports a false -Wmismatched-new-delete when it inlines an Asio awaitable frame into a
// route lambda (the frame's operator new/delete pair is Asio's own).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

#include <fmt/format.h>

#include <boost/json/array.hpp>
#include <boost/json/value.hpp>

#include "control/api_common.hpp"
#include "control/router.hpp"
#include "control/views.hpp"
#include "core/states.hpp"
#include "engine/tracker.hpp"
#include "store/store.hpp"

namespace taskpoller::control {

namespace asio = boost::asio;
namespace json = boost::json;
using asio::awaitable;

namespace detail {
namespace {

json::object task_counts_view(const core::task_counts& c) {
    json::object o;
    for (std::size_t i = 0; i < core::task_state_count; ++i)
        o[core::to_string(static_cast<core::task_state>(i))] = c[i];
    return o;
}

json::object batch_counts_view(const std::array<std::uint32_t, core::batch_state_count>& c) {
    json::object o;
    for (std::size_t i = 0; i < core::batch_state_count; ++i)
        o[core::to_string(static_cast<core::batch_state>(i))] = c[i];
    return o;
}

// A clock reading's numbers for /v1/status (engine/clock_skew.hpp); null when not measured.
json::value ms_or_null(const std::optional<engine::clock_reading>& c,
                       std::chrono::milliseconds engine::clock_reading::*field) {
    if (!c) return nullptr;
    return (*c.*field).count();
}

// The latest reading of the cloud's clock, from any answer (the probes' and the polls').
json::object clock_view(api_context& ctx) {
    const auto& c = ctx.tracker.api().last_clock;
    if (!c) {
        return json::object{{"skew_ms", nullptr},     {"uncertainty_ms", nullptr},
                            {"rtt_ms", nullptr},      {"measured_at", nullptr},
                            {"age_seconds", nullptr}, {"service", nullptr},
                            {"level", "not_measured"}};
    }
    const auto age =
        std::chrono::duration_cast<std::chrono::seconds>(ctx.clock.system_now() - c->measured_at);
    return json::object{
        {"skew_ms", c->skew.count()},
        {"uncertainty_ms", c->uncertainty().count()},
        {"rtt_ms", c->rtt.count()},
        {"measured_at", format_time(c->measured_at)},
        {"age_seconds", age.count()},
        {"service", c->service},
        {"level", engine::to_string(engine::judge_skew(c->skew, c->uncertainty()))},
    };
}

json::value status_view(api_context& ctx) {
    json::array limits;
    for (const auto& [key, st] : ctx.tracker.limiter().all_stats(ctx.clock.steady_now())) {
        limits.emplace_back(json::object{{"service", key.service},
                                         {"action", key.action},
                                         {"rate", st.rate},
                                         {"configured_rate", st.configured_rate},
                                         {"throttled", st.throttled}});
    }
    json::object journal =
        ctx.journal_status ? ctx.journal_status() : json::object{{"enabled", false}};
    json::array checks;  // the last signed probe of each service (engine/cloud_check.hpp)
    for (const auto& c : ctx.tracker.cloud_checks()) {
        checks.emplace_back(
            json::object{{"service", c.service},
                         {"action", c.action},
                         {"result", engine::to_string(c.result)},
                         {"message", c.message},
                         {"checked_at", format_time(c.checked_at)},
                         {"clock_skew_ms", ms_or_null(c.clock, &engine::clock_reading::skew)},
                         {"rtt_ms", ms_or_null(c.clock, &engine::clock_reading::rtt)}});
    }
    const auto up = ctx.clock.system_now() - ctx.started_at;
    json::object ledger = ctx.ledger_status ? ctx.ledger_status() : json::object{};
    json::value role = ledger.contains("role") ? ledger.at("role") : json::value("standalone");
    json::object out{
        {"version", ctx.version},
        {"role", std::move(role)},
        {"api_version", 1},
        {"started_at", format_time(ctx.started_at)},
        {"uptime_seconds", std::chrono::duration_cast<std::chrono::seconds>(up).count()},
        {"tasks", task_counts_view(ctx.store.task_counts())},
        {"batches", batch_counts_view(ctx.store.batch_counts())},
        {"rate_limits", std::move(limits)},
        {"journal", std::move(journal)},
        {"events", json::object{{"seq", ctx.store.seq()}, {"subscribers", ctx.events_subscribers}}},
        {"cloud_checks", std::move(checks)},
        {"clock", clock_view(ctx)},
        {"polling", json::object{{"tracked", ctx.tracker.polls().tracked()},
                                 {"inflight", ctx.tracker.polls().inflight()}}},
    };
    if (ctx.ledger_status) out["ledger"] = std::move(ledger);
    return out;
}

awaitable<response> reload(api_context& ctx, request_context& rc) {
    if (!ctx.reload)
        co_return response::error(unavailable("configuration reload is not available"));
    rc.log.info("configuration reload requested by {}", rc.peer_text());
    auto r = co_await ctx.reload();
    set_reload_successful(ctx, r.ok);
    if (!r.ok) {
        json::array details;
        for (const auto& d : r.details)
            details.emplace_back(valid_utf8(d));  // may quote raw key bytes
        json::object err{
            {"code", "invalid_config"},
            {"message", r.message.empty() ? "the configuration is invalid" : r.message},
            {"details", std::move(details)}};
        co_return response::json(400, json::object{{"error", std::move(err)}});
    }
    json::array restart;
    for (const auto& k : r.restart_required) restart.emplace_back(valid_utf8(k));
    co_return response::json(
        200, json::object{{"reloaded", true}, {"restart_required", std::move(restart)}});
}

}  // namespace

void add_system_routes(router& r, api_context& ctx) {
    r.add("GET", "/_ping", [](request_context&) -> awaitable<response> {
        response res;
        res.content_type = "text/plain; charset=utf-8";
        res.body = "OK";
        res.headers.push_back({"Api-Version", "1"});
        co_return res;
    });
    r.add("GET", "/v1/status", [&ctx](request_context&) -> awaitable<response> {
        co_return response::json(200, status_view(ctx));
    });
    r.add("GET", "/v1/config", [&ctx](request_context&) -> awaitable<response> {
        co_return response::json(200, ctx.config_view ? ctx.config_view() : json::object{});
    });
    r.add("POST", "/v1/reload",
          [&ctx](request_context& rc) -> awaitable<response> { return reload(ctx, rc); });
    r.add("GET", "/metrics", [&ctx](request_context&) -> awaitable<response> {
        response res;
        res.content_type = "text/plain; version=0.0.4; charset=utf-8";
        res.body = render_metrics(ctx);
        co_return res;
    });
}

}  // namespace detail

void add_api_routes(router& r, api_context& ctx) {
    detail::add_system_routes(r, ctx);
    detail::add_batch_routes(r, ctx);
    detail::add_task_routes(r, ctx);
    detail::add_event_routes(r, ctx);
}

}  // namespace taskpoller::control
