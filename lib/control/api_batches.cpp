// POST/GET/DELETE /v1/batches.
// GCC 12 reports a false -Wmismatched-new-delete when it inlines an Asio awaitable frame into a
// route lambda (the frame's operator new/delete pair is Asio's own).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

#include <fmt/format.h>

#include <algorithm>
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

constexpr std::array<field_spec, 7> submit_fields{{{"service", json_kind::string, true},
                                                   {"action", json_kind::string, true},
                                                   {"region", json_kind::string},
                                                   {"params", json_kind::object, true},
                                                   {"client_token", json_kind::string},
                                                   {"labels", json_kind::object},
                                                   {"poll", json_kind::object}}};

expected<engine::submission> submission_of(std::string_view body) {
    auto obj = parse_json_object(body, submit_fields);
    if (!obj) return obj.error();
    engine::submission s;
    s.service = std::string(obj->at("service").get_string());
    s.action = std::string(obj->at("action").get_string());
    if (auto r = obj->find("region"); r != obj->end())
        s.region = std::string(r->value().get_string());
    s.params = obj->at("params").get_object();
    if (auto t = obj->find("client_token"); t != obj->end()) {
        s.client_token = std::string(t->value().get_string());
        const bool control = std::any_of(s.client_token.begin(), s.client_token.end(), [](char c) {
            return static_cast<unsigned char>(c) < 0x20 || c == 0x7f;
        });
        if (s.client_token.empty() || s.client_token.size() > 128 || control)
            return invalid_argument(
                "field 'client_token' must be 1 to 128 characters without control characters");
    }
    auto labels = labels_of(*obj, "labels");
    if (!labels) return labels.error();
    s.labels = std::move(*labels);
    auto poll = poll_of(*obj);
    if (!poll) return poll.error();
    s.timeout = poll->timeout;
    s.poll = poll->own;
    return s;
}

awaitable<response> submit(api_context& ctx, request_context& rc) {
    if (rc.services != nullptr && rc.services->shutting_down())
        co_return response::error(shutting_down());
    auto s = submission_of(rc.body);
    if (!s) co_return response::error(s.error());
    const std::string what = s->service + "/" + s->action;
    auto r = co_await ctx.tracker.async_submit(std::move(*s));
    if (!r) {
        rc.log.info("submission {} refused: {} ({})", what, r.error().message, rc.peer_text());
        co_return response::error(from_core(r.error()));
    }
    if (auto e = co_await unless_durable(ctx, r->batch.updated_seq)) {
        rc.log.warn("batch {} ({}) not acknowledged to {}: {}", r->batch.id, what, rc.peer_text(),
                    e->message);
        co_return response::error(std::move(*e));
    }
    rc.log.info("batch {} {} by {}: {}", r->batch.id, r->existing ? "repeated" : "submitted",
                rc.peer_text(), core::to_string(r->batch.state));
    co_return response::json(
        r->existing ? 200 : 202,
        batch_view(r->batch, &ctx.tracker.services(), ctx.tracker.expected_finish(r->batch)));
}

awaitable<response> list(api_context& ctx, request_context& rc) {
    if (auto ok =
            check_query(rc.query, {"state", "service", "action", "label", "limit", "page_token"});
        !ok)
        co_return response::error(ok.error());
    store::batch_filter f;
    if (auto st = rc.query.get("state")) {
        f.state = core::parse_batch_state(*st);
        if (!f.state)
            co_return response::error(bad_request(fmt::format(
                "state '{}' is not a batch state (submitting, submitted, done, rejected, unknown)",
                *st)));
    }
    f.service = std::string(rc.query.get("service").value_or(""));
    f.action = std::string(rc.query.get("action").value_or(""));
    auto labels = label_filter(rc.query);
    if (!labels) co_return response::error(labels.error());
    f.labels = std::move(*labels);
    auto page = page_of(rc.query);
    if (!page) co_return response::error(page.error());
    auto result = ctx.store.list_batches(f, *page);
    if (!result) co_return response::error(bad_request(result.error().message));
    json::array items;
    for (const auto& b : result->items)
        items.emplace_back(batch_view(b, &ctx.tracker.services(), ctx.tracker.expected_finish(b)));
    json::value next = nullptr;
    if (!result->next_page_token.empty()) next = result->next_page_token;
    co_return response::json(
        200, json::object{{"batches", std::move(items)}, {"next_page_token", std::move(next)}});
}

awaitable<response> get(api_context& ctx, request_context& rc) {
    if (auto ok = check_query(rc.query, {"wait"}); !ok) co_return response::error(ok.error());
    const std::string id(rc.param("id"));
    auto b = ctx.store.get_batch(id);
    if (!b) co_return response::error(not_found(fmt::format("no batch '{}'", id)));
    if (!core::is_terminal(b->state)) {
        auto err = co_await long_poll(rc, ctx, [&](std::chrono::milliseconds d) -> awaitable<void> {
            co_await store::async_wait_batch_terminal(ctx.store, id, d);
        });
        if (err) co_return response::error(*err);
        b = ctx.store.get_batch(id);
        if (!b) co_return response::error(not_found(fmt::format("batch '{}' was forgotten", id)));
    } else if (auto w = query_duration(rc.query, "wait", ctx.max_wait); !w) {
        co_return response::error(w.error());
    }
    co_return response::json(
        200, batch_view(*b, &ctx.tracker.services(), ctx.tracker.expected_finish(*b)));
}

awaitable<response> cancel(api_context& ctx, request_context& rc) {
    const std::string id(rc.param("id"));
    if (!ctx.store.get_batch(id))
        co_return response::error(not_found(fmt::format("no batch '{}'", id)));
    auto b = ctx.tracker.cancel_batch(id);
    if (!b) co_return response::error(from_core(b.error()));
    if (auto e = co_await unless_durable(ctx, b->updated_seq))
        co_return response::error(std::move(*e));
    rc.log.info("batch {} cancelled by {}", id, rc.peer_text());
    co_return response::json(
        200, batch_view(*b, &ctx.tracker.services(), ctx.tracker.expected_finish(*b)));
}

}  // namespace

void add_batch_routes(router& r, api_context& ctx) {
    r.add("POST", "/v1/batches",
          [&ctx](request_context& rc) -> awaitable<response> { return submit(ctx, rc); });
    r.add("GET", "/v1/batches",
          [&ctx](request_context& rc) -> awaitable<response> { return list(ctx, rc); });
    r.add("GET", "/v1/batches/{id}",
          [&ctx](request_context& rc) -> awaitable<response> { return get(ctx, rc); });
    r.add("DELETE", "/v1/batches/{id}",
          [&ctx](request_context& rc) -> awaitable<response> { return cancel(ctx, rc); });
}

}  // namespace taskpoller::control::detail
