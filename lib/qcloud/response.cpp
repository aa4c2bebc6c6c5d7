#include "qcloud/response.hpp"

#include <fmt/format.h>

#include <boost/json/monotonic_resource.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <charconv>
#include <limits>
#include <optional>
#include <stdexcept>
#include <unordered_set>

#include "qcloud/error_codes.hpp"

namespace taskpoller::qcloud {
namespace json = boost::json;

void throw_exception_from_error(const response_error& e, const boost::source_location&) {
    throw std::runtime_error(e.message);
}

namespace {

// Cloud messages are shown to users and stored per entry; a hostile or broken server must not
// be able to make us keep megabytes per entry.
constexpr std::size_t max_text = 1024;
constexpr std::size_t max_request_id = 128;

response_error malformed(std::string what) {
    return response_error{response_error::kind::malformed, 0, std::move(what), {}};
}

std::string text_of(const json::object& o, std::string_view key) {
    const json::value* v = o.if_contains(key);
    if (v == nullptr || v->is_null()) return {};
    std::string s = v->is_string() ? std::string(v->get_string()) : json::serialize(*v);
    if (s.size() > max_text) s.resize(max_text);
    return s;
}

// An integer given as a JSON integer or a numeric string; nullopt for anything else.
std::optional<std::int64_t> integer_of(const json::value& v) {
    if (v.is_int64()) return v.get_int64();
    if (v.is_uint64()) {
        if (v.get_uint64() > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
            return std::nullopt;
        }
        return static_cast<std::int64_t>(v.get_uint64());
    }
    if (v.is_string()) {
        std::string_view s = v.get_string();
        std::int64_t out = 0;
        auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
        if (ec != std::errc{} || end != s.data() + s.size() || s.empty()) return std::nullopt;
        return out;
    }
    return std::nullopt;
}

std::optional<int> small_int_of(const json::value& v) {
    auto i = integer_of(v);
    if (!i || *i < std::numeric_limits<int>::min() || *i > std::numeric_limits<int>::max()) {
        return std::nullopt;
    }
    return static_cast<int>(*i);
}

bool valid_request_id(std::string_view id) {
    if (id.empty() || id.size() > max_request_id) return false;
    for (char c : id) {
        bool ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                  c == '-' || c == '_' || c == '.' || c == ':';
        if (!ok) return false;
    }
    return true;
}

// requestId as an integer (>= 0) or a string of safe characters; nullopt if absent or unusable.
std::optional<std::string> request_id_of(const json::object& o) {
    const json::value* v = o.if_contains("requestId");
    if (v == nullptr) return std::nullopt;
    if (v->is_int64() && v->get_int64() >= 0) return std::to_string(v->get_int64());
    if (v->is_uint64()) return std::to_string(v->get_uint64());
    if (v->is_string() && valid_request_id(v->get_string())) return std::string(v->get_string());
    return std::nullopt;
}

struct parsed {
    json::value root;
    envelope env;
};

// Where a response's JSON tree lives while it is read: a buffer on the caller's stack, so that a
// typical answer (a poll's is ~100 bytes) costs no heap allocation; larger ones spill to the heap.
struct json_arena {
    unsigned char buffer[4096];
    json::monotonic_resource resource{buffer, sizeof buffer};
};

// `arena` must outlive the returned tree.
response_result<parsed> parse_body(std::string_view body, json_arena& arena) {
    boost::system::error_code ec;
    json::value root = json::parse(body, ec, &arena.resource);
    if (ec) return malformed(fmt::format("response is not valid JSON: {}", ec.message()));
    if (!root.is_object()) return malformed("response is not a JSON object");
    const auto& o = root.get_object();
    const json::value* c = o.if_contains("code");
    if (c == nullptr) return malformed("response has no \"code\"");
    envelope env;
    env.message = text_of(o, "message");
    env.code_desc = text_of(o, "codeDesc");
    if (auto n = small_int_of(*c)) {
        env.code = *n;
    } else if (c->is_string() && !c->get_string().empty()) {
        // A symbolic code such as "InvalidRequest.LimitExceeded".
        std::string s(std::string_view(c->get_string()).substr(0, max_text));
        env.code = is_throttle_desc(s) ? code::throttled : code::unrecognised;
        if (env.code_desc.empty()) env.code_desc = std::move(s);
    } else {
        return malformed("response \"code\" is neither an integer nor a numeric string");
    }
    if (env.code != code::success && is_throttle_desc(env.code_desc)) env.code = code::throttled;
    return parsed{std::move(root), std::move(env)};
}

response_error api_error(const envelope& env) {
    return response_error{response_error::kind::api, env.code, env.message, env.code_desc};
}

}  // namespace

response_result<envelope> parse_envelope(std::string_view body) {
    json_arena arena;
    auto p = parse_body(body, arena);
    if (!p) return p.error();
    return std::move(p->env);
}

response_result<std::string> parse_async(std::string_view body) {
    json_arena arena;
    auto p = parse_body(body, arena);
    if (!p) return p.error();
    if (p->env.code != code::success) return api_error(p->env);
    auto id = request_id_of(p->root.get_object());
    if (!id) return malformed("response has no usable \"requestId\"");
    return std::move(*id);
}

namespace {

batch_entry entry_from_detail(std::string resource_id, const json::value& v) {
    batch_entry e;
    e.resource_id = std::move(resource_id);
    if (!v.is_object()) {
        e.state = batch_entry::status::unknown;
        e.message = "detail entry is not a JSON object";
        return e;
    }
    const auto& o = v.get_object();
    e.message = text_of(o, "message");
    const json::value* c = o.if_contains("code");
    auto code = c ? small_int_of(*c) : std::optional<int>{};
    if (!code) {
        e.state = batch_entry::status::unknown;
        e.message = "detail entry has no usable \"code\"";
        return e;
    }
    e.code = *code;
    if (e.code != code::success) {
        e.state = batch_entry::status::rejected;
        return e;
    }
    if (auto id = request_id_of(o)) {
        e.state = batch_entry::status::accepted;
        e.request_id = std::move(*id);
    } else {
        e.state = batch_entry::status::unknown;
        e.message = "detail entry has code 0 but no usable \"requestId\"";
    }
    return e;
}

// `detail` as a map; PHP encodes an empty map as `[]`, so an empty array is accepted too.
response_result<const json::object*> detail_of(const json::object& root) {
    static const json::object empty;
    const json::value* d = root.if_contains("detail");
    if (d == nullptr || d->is_null()) return nullptr;
    if (d->is_object()) return &d->get_object();
    if (d->is_array() && d->get_array().empty()) return &empty;
    return malformed("response \"detail\" is not an object");
}

}  // namespace

response_result<batch_result> parse_batch(std::string_view body,
                                          std::span<const std::string> requested) {
    json_arena arena;
    auto p = parse_body(body, arena);
    if (!p) return p.error();
    const envelope& env = p->env;
    if (env.code != code::success && env.code != code::operation_failed &&
        env.code != code::partial_success) {
        return api_error(env);
    }
    auto detail = detail_of(p->root.get_object());
    if (!detail) return detail.error();
    if (*detail == nullptr && env.code != code::operation_failed) {
        return malformed(fmt::format("batch response with code {} has no \"detail\"", env.code));
    }

    batch_result out{env.code, env.message, env.code_desc, {}};
    std::unordered_set<std::string_view> seen;
    for (const auto& id : requested) {
        if (!seen.insert(id).second) continue;
        const json::value* v = *detail ? (*detail)->if_contains(id) : nullptr;
        if (v != nullptr) {
            out.entries.push_back(entry_from_detail(id, *v));
        } else if (env.code == code::operation_failed) {
            // "All failed": a resource the answer does not mention failed with the outer error.
            out.entries.push_back({id, batch_entry::status::rejected, env.code, env.message, {}});
        } else {
            out.entries.push_back({id,
                                   batch_entry::status::unknown,
                                   0,
                                   "resource missing from the response's detail",
                                   {}});
        }
    }
    if (*detail != nullptr) {
        for (const auto& kv : **detail) {
            if (seen.contains(kv.key())) continue;
            out.entries.push_back(entry_from_detail(std::string(kv.key()), kv.value()));
        }
    }
    return out;
}

response_result<task_status> parse_task_result(std::string_view body) {
    json_arena arena;
    auto p = parse_body(body, arena);
    if (!p) return p.error();
    if (p->env.code != code::success) return api_error(p->env);
    const json::value* data = p->root.get_object().if_contains("data");
    if (data == nullptr || !data->is_object()) return malformed("response has no \"data\" object");
    const json::value* s = data->get_object().if_contains("status");
    auto status = s ? small_int_of(*s) : std::optional<int>{};
    if (!status) return malformed("response has no usable \"data.status\"");
    switch (*status) {
        case 0:
            return task_status::succeeded;
        case 1:
            return task_status::failed;
        case 2:
            return task_status::running;
        default:
            return malformed(fmt::format("unknown task status {}", *status));
    }
}

response_result<instances_page> parse_describe_instances(std::string_view body) {
    json_arena arena;
    auto p = parse_body(body, arena);
    if (!p) return p.error();
    if (p->env.code != code::success) return api_error(p->env);
    const auto& root = p->root.get_object();
    instances_page out;
    const json::value* total = root.if_contains("totalCount");
    auto count = total ? integer_of(*total) : std::optional<std::int64_t>{};
    if (!count || *count < 0) return malformed("response has no usable \"totalCount\"");
    out.total_count = *count;
    const json::value* set = root.if_contains("instanceSet");
    if (set == nullptr || set->is_null()) {
        if (out.total_count == 0) return out;
        return malformed("response has no \"instanceSet\"");
    }
    if (!set->is_array()) return malformed("response \"instanceSet\" is not an array");
    out.instances.reserve(set->get_array().size());
    for (const auto& item : set->get_array()) {
        const json::object* o = item.if_object();
        const json::value* id = o ? o->if_contains("unInstanceId") : nullptr;
        const json::value* st = o ? o->if_contains("status") : nullptr;
        auto status = st ? small_int_of(*st) : std::optional<int>{};
        if (id == nullptr || !id->is_string() || id->get_string().empty() ||
            id->get_string().size() > max_request_id || !status) {
            return malformed("an instanceSet item lacks a usable \"unInstanceId\" or \"status\"");
        }
        out.instances.push_back({std::string(id->get_string()), *status});
    }
    return out;
}

}  // namespace taskpoller::qcloud
