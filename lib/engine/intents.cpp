#include "engine/intents.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "engine/tracker.hpp"

namespace taskpoller::engine {
namespace json = boost::json;

namespace {

void put_ms(json::object& o, const char* key, const std::optional<std::chrono::milliseconds>& d) {
    if (d) o[key] = d->count();
}

std::optional<std::chrono::milliseconds> get_ms(const json::object& o, const char* key) {
    auto* v = o.if_contains(key);
    if (v == nullptr || !v->is_int64()) return std::nullopt;
    return std::chrono::milliseconds(v->as_int64());
}

std::string get_str(const json::object& o, const char* key) {
    auto* v = o.if_contains(key);
    return v != nullptr && v->is_string() ? std::string(v->as_string()) : std::string();
}

}  // namespace

std::string submission_to_json(const submission& s) {
    json::object labels;
    for (const auto& [k, v] : s.labels) labels[k] = v;
    json::object poll;
    put_ms(poll, "initial_delay_ms", s.poll.initial_delay);
    put_ms(poll, "interval_ms", s.poll.interval);
    put_ms(poll, "max_interval_ms", s.poll.max_interval);
    json::object o{{"service", s.service},
                   {"action", s.action},
                   {"region", s.region},
                   {"params", s.params},
                   {"client_token", s.client_token},
                   {"labels", std::move(labels)},
                   {"poll", std::move(poll)}};
    put_ms(o, "timeout_ms", s.timeout);
    return json::serialize(o);
}

core::result<submission> submission_from_json(std::string_view text) {
    boost::system::error_code ec;
    auto v = json::parse(text, ec);
    if (ec || !v.is_object()) return core::error{"an intent's request is not a JSON object"};
    const auto& o = v.as_object();
    submission s;
    s.service = get_str(o, "service");
    s.action = get_str(o, "action");
    s.region = get_str(o, "region");
    s.client_token = get_str(o, "client_token");
    if (auto* p = o.if_contains("params"); p != nullptr && p->is_object())
        s.params = p->as_object();
    if (auto* l = o.if_contains("labels"); l != nullptr && l->is_object()) {
        for (const auto& [k, val] : l->as_object()) {
            if (val.is_string()) s.labels[std::string(k)] = std::string(val.as_string());
        }
    }
    if (auto* p = o.if_contains("poll"); p != nullptr && p->is_object()) {
        s.poll.initial_delay = get_ms(p->as_object(), "initial_delay_ms");
        s.poll.interval = get_ms(p->as_object(), "interval_ms");
        s.poll.max_interval = get_ms(p->as_object(), "max_interval_ms");
    }
    s.timeout = get_ms(o, "timeout_ms");
    if (s.service.empty() || s.action.empty() || s.client_token.empty()) {
        return core::error{"an intent's request lacks its service, action or client_token"};
    }
    return s;
}

}  // namespace taskpoller::engine
