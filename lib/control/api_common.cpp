// GCC 12 reports a false -Wmismatched-new-delete when it inlines an Asio awaitable frame into a
// route lambda (the frame's operator new/delete pair is Asio's own).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

#include "control/api_common.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/json/value.hpp>
#include <charconv>

#include "control/json_body.hpp"
#include "engine/durable.hpp"
#include "store/store.hpp"

namespace taskpoller::control::detail {

namespace asio = boost::asio;
namespace json = boost::json;

api_error invalid_argument(std::string message) {
    return api_error{400, "invalid_argument", std::move(message)};
}

api_error from_core(const core::error& e) {
    switch (e.kind) {
        case core::error_kind::not_found:
            return not_found(e.message);
        case core::error_kind::conflict:
            return conflict(e.message);
        case core::error_kind::unavailable:
            return unavailable(e.message);
        case core::error_kind::invalid:
            break;
    }
    return invalid_argument(e.message);
}

boost::asio::awaitable<std::optional<api_error>> unless_durable(const api_context& ctx,
                                                                std::uint64_t seq) {
    if (auto d = ctx.store.durability(); !d) co_return from_core(d.error());
    if (auto d = co_await engine::async_durable(ctx.store, seq); !d) co_return from_core(d.error());
    co_return std::nullopt;
}

expected<void> check_query(const query_params& q, std::initializer_list<std::string_view> allowed) {
    std::string unknown;
    for (const auto& [name, value] : q.items()) {
        if (std::find(allowed.begin(), allowed.end(), name) != allowed.end()) continue;
        if (unknown.find("'" + name + "'") != std::string::npos) continue;
        unknown += (unknown.empty() ? "'" : ", '") + name + "'";
    }
    if (unknown.empty()) return {};
    std::string names;
    for (auto a : allowed) names += (names.empty() ? "" : ", ") + std::string(a);
    return bad_request(fmt::format("unknown query parameter{} {} (allowed: {})",
                                   unknown.find(',') == std::string::npos ? "" : "s", unknown,
                                   names));
}

expected<store::page_request> page_of(const query_params& q) {
    store::page_request p;
    if (auto limit = q.get("limit")) {
        std::size_t n = 0;
        auto [end, ec] = std::from_chars(limit->data(), limit->data() + limit->size(), n);
        if (ec != std::errc{} || end != limit->data() + limit->size() || n < 1 ||
            n > store::max_page_limit)
            return bad_request(fmt::format("limit must be an integer from 1 to {}, got '{}'",
                                           store::max_page_limit, *limit));
        p.limit = n;
    }
    if (auto token = q.get("page_token")) p.page_token = std::string(*token);
    return p;
}

expected<core::labels> label_filter(const query_params& q) {
    core::labels out;
    for (auto text : q.all("label")) {
        auto kv = core::parse_label(text);
        if (!kv) return bad_request("label filter: " + kv.error().message);
        out[kv->first] = kv->second;
    }
    return out;
}

expected<core::labels> labels_of(const json::object& body, std::string_view field) {
    core::labels out;
    auto it = body.find(field);
    if (it == body.end()) return out;
    for (const auto& [k, v] : it->value().as_object()) {
        if (!v.is_string())
            return bad_request(fmt::format("field '{}.{}' must be a string, got {}", field,
                                           std::string_view(k), json_kind_name(v)));
        out[std::string(k)] = std::string(v.get_string());
    }
    if (auto ok = core::validate_labels(out); !ok) return invalid_argument(ok.error().message);
    return out;
}

expected<poll_request> poll_of(const json::object& body) {
    poll_request out;
    auto it = body.find("poll");
    if (it == body.end()) return out;
    static constexpr std::array<field_spec, 4> fields{{{"timeout", json_kind::string},
                                                       {"interval", json_kind::string},
                                                       {"initial_delay", json_kind::string},
                                                       {"max_interval", json_kind::string}}};
    const auto& poll = it->value().as_object();
    if (auto ok = check_fields(poll, fields, "poll."); !ok) return ok.error();
    const std::pair<std::string_view, std::optional<std::chrono::milliseconds>*> targets[] = {
        {"timeout", &out.timeout},
        {"initial_delay", &out.own.initial_delay},
        {"interval", &out.own.interval},
        {"max_interval", &out.own.max_interval}};
    for (const auto& [name, target] : targets) {
        auto f = poll.find(name);
        if (f == poll.end()) continue;
        const auto field = fmt::format("poll.{}", name);
        auto d = parse_duration(f->value().get_string(), field);
        if (!d) return d.error();
        if (d->count() <= 0)
            return invalid_argument(fmt::format("field '{}' must be positive", field));
        *target = *d;
    }
    return out;
}

asio::awaitable<std::optional<api_error>> long_poll(request_context& rc, api_context& ctx,
                                                    const wait_starter& start) {
    using namespace asio::experimental::awaitable_operators;
    auto wait = query_duration(rc.query, "wait", ctx.max_wait);
    if (!wait) co_return wait.error();
    if (!*wait || (*wait)->count() <= 0 || rc.services == nullptr) co_return std::nullopt;
    auto slot = rc.services->waiters().try_acquire();
    if (!slot)
        co_return too_many_requests(fmt::format("too many long waiters (limit {}); retry later",
                                                rc.services->waiters().max()));
    if (rc.services->shutting_down()) co_return std::nullopt;
    co_await (start(**wait) || rc.services->async_wait_shutdown());
    co_return std::nullopt;
}

}  // namespace taskpoller::control::detail
