// GET/POST/DELETE /v1/tasks.
// GCC 12 reports a false -Wmismatched-new-delete when it inlines an Asio awaitable frame into a
// route lambda (the frame's operator new/delete pair is Asio's own).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

#include <fmt/format.h>

#include <array>
#include <boost/json/array.hpp>
#include <boost/json/value.hpp>

#include "control/api_common.hpp"
#include "control/json_body.hpp"
#include "control/router.hpp"
#include "control/views.hpp"
#include "core/states.hpp"
#include "engine/tracker.hpp"
#include "store/store.hpp"
#include "store/waiters.hpp"

namespace taskpoller::control::detail {

namespace asio = boost::asio;
namespace json = boost::json;
using asio::awaitable;

namespace {

constexpr std::array<field_spec, 7> adopt_fields{{{"service", json_kind::string, true},
                                                  {"request_id", json_kind::string, true},
                                                  {"action", json_kind::string},
                                                  {"resources", json_kind::array},
                                                  {"region", json_kind::string},
                                                  {"labels", json_kind::object},
                                                  {"poll", json_kind::object}}};

std::string str(const json::object& o, std::string_view name) {
    auto it = o.find(name);
    return it == o.end() ? std::string() : std::string(it->value().get_string());
}

expected<engine::adoption> adoption_of(std::string_view body) {
    auto obj = parse_json_object(body, adopt_fields);
    if (!obj) return obj.error();
    engine::adoption a;
    a.key = {str(*obj, "service"), str(*obj, "request_id")};
    if (auto ok = core::validate_service_name(a.key.service); !ok)
        return invalid_argument(ok.error().message);
    if (auto ok = core::validate_request_id(a.key.request_id); !ok)
        return invalid_argument(ok.error().message);
    a.action = str(*obj, "action");
    // The store needs an action for every task; outside cvm (whose completion rule depends on
    // it, so the engine requires it) the client may not know it.
    if (a.action.empty()) a.action = "unknown";
    a.region = str(*obj, "region");
    if (auto it = obj->find("resources"); it != obj->end()) {
        std::size_t i = 0;
        for (const auto& v : it->value().get_array()) {
            if (!v.is_string() || v.get_string().empty())
                return bad_request(
                    fmt::format("field 'resources[{}]' must be a non-empty string, "
                                "got {}",
                                i, json_kind_name(v)));
            a.resources.emplace_back(v.get_string());
            ++i;
        }
    }
    auto labels = labels_of(*obj, "labels");
    if (!labels) return labels.error();
    a.labels = std::move(*labels);
    auto poll = poll_of(*obj);
    if (!poll) return poll.error();
    a.timeout = poll->timeout;
    a.poll = poll->own;
    return a;
}

// The task a route names: service and requestId from the path, `?region=` and `?batch=` to
// choose among tasks that share them (core/task_key.hpp); 404, or 409 naming each candidate.
expected<core::task_key> key_of(const request_context& rc, const store::store& st) {
    core::task_key key{std::string(rc.param("service")), std::string(rc.param("request_id")),
                       std::string(rc.query.get("region").value_or("")),
                       std::string(rc.query.get("batch").value_or(""))};
    if (auto ok = core::validate_service_name(key.service); !ok)
        return invalid_argument(ok.error().message);
    if (auto ok = core::validate_request_id(key.request_id); !ok)
        return invalid_argument(ok.error().message);
    auto exact = st.resolve_task(key);
    if (!exact) return from_core(exact.error());
    return std::move(*exact);
}

awaitable<response> list(api_context& ctx, request_context& rc) {
    if (auto ok = check_query(
            rc.query, {"state", "service", "action", "batch", "label", "limit", "page_token"});
        !ok)
        co_return response::error(ok.error());
    store::task_filter f;
    if (auto st = rc.query.get("state")) {
        f.state = core::parse_task_state(*st);
        if (!f.state)
            co_return response::error(bad_request(
                fmt::format("state '{}' is not a task state (pending, running, succeeded, failed, "
                            "timed_out, not_found, cancelled)",
                            *st)));
    }
    f.service = std::string(rc.query.get("service").value_or(""));
    f.action = std::string(rc.query.get("action").value_or(""));
    f.batch_id = std::string(rc.query.get("batch").value_or(""));
    auto labels = label_filter(rc.query);
    if (!labels) co_return response::error(labels.error());
    f.labels = std::move(*labels);
    auto page = page_of(rc.query);
    if (!page) co_return response::error(page.error());
    auto result = ctx.store.list_tasks(f, *page);
    if (!result) co_return response::error(bad_request(result.error().message));
    json::array items;
    for (const auto& t : result->items)
        items.emplace_back(task_view(t, &ctx.tracker.services(), ctx.tracker.expected_finish(t)));
    json::value next = nullptr;
    if (!result->next_page_token.empty()) next = result->next_page_token;
    co_return response::json(
        200, json::object{{"tasks", std::move(items)}, {"next_page_token", std::move(next)}});
}

awaitable<response> get(api_context& ctx, request_context& rc) {
    if (auto ok = check_query(rc.query, {"wait", "region", "batch"}); !ok)
        co_return response::error(ok.error());
    auto key = key_of(rc, ctx.store);
    if (!key) co_return response::error(key.error());
    const std::string name = core::format_task_key(*key);
    auto t = ctx.store.get_task(*key);
    if (!t) co_return response::error(not_found(fmt::format("no task '{}'", name)));
    if (!core::is_terminal(t->state)) {
        auto err = co_await long_poll(rc, ctx, [&](std::chrono::milliseconds d) -> awaitable<void> {
            co_await store::async_wait_terminal(ctx.store, *key, d);
        });
        if (err) co_return response::error(*err);
        t = ctx.store.get_task(*key);
        if (!t) co_return response::error(not_found(fmt::format("task '{}' was forgotten", name)));
    } else if (auto w = query_duration(rc.query, "wait", ctx.max_wait); !w) {
        co_return response::error(w.error());
    }
    co_return response::json(
        200, task_view(*t, &ctx.tracker.services(), ctx.tracker.expected_finish(*t)));
}

awaitable<response> adopt(api_context& ctx, request_context& rc) {
    if (rc.services != nullptr && rc.services->shutting_down())
        co_return response::error(shutting_down());
    auto a = adoption_of(rc.body);
    if (!a) co_return response::error(a.error());
    const std::string name = core::format_task_key(a->key);
    // The same requestId adopted again in its region is answered idempotently; in another
    // region it is another task (a collision the store logs), never this one.
    if (auto existing = ctx.store.get_task(ctx.tracker.identity_of(*a))) {
        if (existing->poll != a->poll)
            co_return response::error(
                conflict(fmt::format("task {} is already tracked with other poll settings", name)));
        if (auto e = co_await unless_durable(ctx, existing->updated_seq))
            co_return response::error(std::move(*e));
        co_return response::json(200, task_view(*existing, &ctx.tracker.services(),
                                                ctx.tracker.expected_finish(*existing)));
    }
    auto t = ctx.tracker.adopt(*a);
    if (!t) co_return response::error(from_core(t.error()));
    if (auto e = co_await unless_durable(ctx, t->updated_seq))
        co_return response::error(std::move(*e));
    rc.log.info("task {} adopted by {}", name, rc.peer_text());
    co_return response::json(
        201, task_view(*t, &ctx.tracker.services(), ctx.tracker.expected_finish(*t)));
}

awaitable<response> cancel(api_context& ctx, request_context& rc) {
    if (auto ok = check_query(rc.query, {"region", "batch"}); !ok)
        co_return response::error(ok.error());
    auto key = key_of(rc, ctx.store);
    if (!key) co_return response::error(key.error());
    const std::string name = core::format_task_key(*key);
    auto existing = ctx.store.get_task(*key);
    if (!existing) co_return response::error(not_found(fmt::format("no task '{}'", name)));
    if (core::is_terminal(existing->state))
        co_return response::error(conflict(
            fmt::format("task '{}' is already {}", name, core::to_string(existing->state))));
    auto t = ctx.tracker.cancel_task(*key);
    if (!t) co_return response::error(from_core(t.error()));
    if (auto e = co_await unless_durable(ctx, t->updated_seq))
        co_return response::error(std::move(*e));
    rc.log.info("task {} cancelled by {}", name, rc.peer_text());
    co_return response::json(
        200, task_view(*t, &ctx.tracker.services(), ctx.tracker.expected_finish(*t)));
}

}  // namespace

void add_task_routes(router& r, api_context& ctx) {
    r.add("GET", "/v1/tasks",
          [&ctx](request_context& rc) -> awaitable<response> { return list(ctx, rc); });
    r.add("POST", "/v1/tasks",
          [&ctx](request_context& rc) -> awaitable<response> { return adopt(ctx, rc); });
    r.add("GET", "/v1/tasks/{service}/{request_id}",
          [&ctx](request_context& rc) -> awaitable<response> { return get(ctx, rc); });
    r.add("DELETE", "/v1/tasks/{service}/{request_id}",
          [&ctx](request_context& rc) -> awaitable<response> { return cancel(ctx, rc); });
}

}  // namespace taskpoller::control::detail
