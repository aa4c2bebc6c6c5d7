// Fuzz target: control-API request handling short of the handlers — request-target splitting,
// routing (the v1 route table), query-string and duration parsing, and the strict JSON body
// checks of the two routes that take a body.
// Input: a request line "METHOD TARGET", a newline, then the body (without a newline: the whole
// input is the target of a GET).
// Why not the real handlers: they need the store, the engine's tracker and its HTTP client, i.e.
// all of lib/ plus Asio/Beast/OpenSSL compiled with clang and sanitizers, which costs more CI time
// than the fuzz budget allows (see docs/reliability.md). The route table and the field specs
// below are copies of lib/control/api_*.cpp's: keep them in sync.
// Invariants: nothing throws or crashes; a match is consistent with the method and the pattern
// (params decoded, non-empty, no NUL from %00); every error is a 4xx whose JSON document parses
// back (valid UTF-8 even when the input is not); a body that passes the checks has exactly the
// declared shape.

#include <algorithm>
#include <array>
#include <boost/asio/awaitable.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <chrono>
#include <string>
#include <string_view>

#include "control/api_error.hpp"
#include "control/json_body.hpp"
#include "control/query.hpp"
#include "control/router.hpp"
#include "fuzz_check.hpp"

namespace {

namespace json = boost::json;
using namespace taskpoller::control;
using namespace std::chrono_literals;

constexpr std::array<field_spec, 7> submit_fields{{{"service", json_kind::string, true},
                                                   {"action", json_kind::string, true},
                                                   {"region", json_kind::string},
                                                   {"params", json_kind::object, true},
                                                   {"client_token", json_kind::string},
                                                   {"labels", json_kind::object},
                                                   {"poll", json_kind::object}}};
constexpr std::array<field_spec, 7> adopt_fields{{{"service", json_kind::string, true},
                                                  {"request_id", json_kind::string, true},
                                                  {"action", json_kind::string},
                                                  {"resources", json_kind::array},
                                                  {"region", json_kind::string},
                                                  {"labels", json_kind::object},
                                                  {"poll", json_kind::object}}};
constexpr std::array<field_spec, 4> poll_fields{{{"timeout", json_kind::string},
                                                 {"interval", json_kind::string},
                                                 {"initial_delay", json_kind::string},
                                                 {"max_interval", json_kind::string}}};

handler no_op() {
    return [](request_context&) -> boost::asio::awaitable<response> { co_return response{}; };
}

const router& v1_routes() {
    static const router r = [] {
        router out;
        for (auto [method, pattern] : std::initializer_list<std::pair<const char*, const char*>>{
                 {"POST", "/v1/batches"},
                 {"GET", "/v1/batches"},
                 {"GET", "/v1/batches/{id}"},
                 {"DELETE", "/v1/batches/{id}"},
                 {"GET", "/v1/events"},
                 {"GET", "/_ping"},
                 {"GET", "/v1/status"},
                 {"GET", "/v1/config"},
                 {"POST", "/v1/reload"},
                 {"GET", "/metrics"},
                 {"GET", "/v1/tasks"},
                 {"POST", "/v1/tasks"},
                 {"GET", "/v1/tasks/{service}/{request_id}"},
                 {"DELETE", "/v1/tasks/{service}/{request_id}"}})
            out.add(method, pattern, no_op());
        return out;
    }();
    return r;
}

// The error a client would receive: a 4xx whose document is valid JSON naming the code.
void check_error(const api_error& e) {
    FUZZ_CHECK(e.status >= 400 && e.status < 500);
    FUZZ_CHECK(!e.code.empty() && !e.message.empty());
    boost::system::error_code ec;
    json::value doc = json::parse(to_json(e), ec);
    FUZZ_CHECK(!ec);
    FUZZ_CHECK(doc.is_object() && doc.as_object().contains("error"));
    const json::value& err = doc.as_object().at("error");
    FUZZ_CHECK(err.is_object() && err.as_object().contains("code"));
    FUZZ_CHECK(err.as_object().at("code") == json::value(e.code));
}

void check_match(const router::match_result& m, std::string_view method, std::string_view path) {
    switch (m.kind) {
        case router::outcome::found: {
            FUZZ_CHECK(m.matched != nullptr);
            FUZZ_CHECK(m.matched->method == method ||
                       (method == "HEAD" && m.matched->method == "GET"));
            std::size_t expected = std::ranges::count_if(
                m.matched->segments, [](const std::string& s) { return s.starts_with('{'); });
            FUZZ_CHECK(m.params.items().size() == expected);
            for (const auto& [name, value] : m.params.items()) {
                FUZZ_CHECK(!name.empty() && !value.empty());
                // %00 is refused; a raw NUL only gets here because no HTTP parser ran first.
                FUZZ_CHECK(value.find('\0') == std::string::npos ||
                           path.find('\0') != std::string_view::npos);
            }
            break;
        }
        case router::outcome::method_not_allowed:
            FUZZ_CHECK(m.error.status == 405);
            FUZZ_CHECK(!m.allowed.empty() && std::ranges::is_sorted(m.allowed));
            FUZZ_CHECK(std::ranges::find(m.allowed, method) == m.allowed.end());
            FUZZ_CHECK(!allow_header(m.allowed).empty());
            check_error(m.error);
            break;
        case router::outcome::not_found:
            FUZZ_CHECK(m.error.status == 404);
            check_error(m.error);
            break;
        case router::outcome::bad_path:
            FUZZ_CHECK(m.error.status == 400);
            check_error(m.error);
            break;
    }
}

bool has_kind(const json::value& v, json_kind k) {
    switch (k) {
        case json_kind::string:
            return v.is_string();
        case json_kind::integer:
            return v.is_int64() || v.is_uint64();
        case json_kind::number:
            return v.is_number();
        case json_kind::boolean:
            return v.is_bool();
        case json_kind::object:
            return v.is_object();
        case json_kind::array:
            return v.is_array();
        case json_kind::any:
            return true;
    }
    return false;
}

// A body that passed has every required field, no unknown one, each of its declared kind.
void check_body(std::string_view body, std::span<const field_spec> fields) {
    auto obj = parse_json_object(body, fields);
    if (!obj) {
        FUZZ_CHECK(obj.error().code == "invalid_json" || obj.error().code == "bad_request");
        check_error(obj.error());
        return;
    }
    for (const auto& f : fields)
        if (f.required) FUZZ_CHECK(obj->contains(f.name));
    for (const auto& kv : *obj) {
        auto spec = std::ranges::find(fields, std::string_view(kv.key()), &field_spec::name);
        FUZZ_CHECK(spec != fields.end());
        FUZZ_CHECK(has_kind(kv.value(), spec->kind));
    }
    if (auto* poll = obj->if_contains("poll")) {
        auto ok = check_fields(poll->as_object(), poll_fields, "poll.");
        if (!ok) check_error(ok.error());
    }
}

void check_query(std::string_view query) {
    auto q = parse_query(query);
    if (!q) {
        FUZZ_CHECK(q.error().status == 400);
        check_error(q.error());
        return;
    }
    auto wait = query_duration(*q, "wait", 60s);
    if (!wait) {
        check_error(wait.error());
    } else if (*wait) {
        FUZZ_CHECK(**wait >= 0ms && **wait <= 60s);
    }
    for (const auto& [name, value] : q->items()) {
        auto d = parse_duration(value, name);
        if (d)
            FUZZ_CHECK(*d >= 0ms);
        else
            check_error(d.error());
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view input = taskpoller::fuzz::as_text(data, size);
    std::string_view line = input, body;
    if (auto nl = input.find('\n'); nl != std::string_view::npos) {
        line = input.substr(0, nl);
        body = input.substr(nl + 1);
    }
    std::string_view method = "GET", target = line;
    if (auto sp = line.find(' '); sp != std::string_view::npos) {
        method = line.substr(0, sp);
        target = line.substr(sp + 1);
    }

    auto [path, query] = split_target(target);
    FUZZ_CHECK(path.size() + query.size() + (path.size() < target.size() ? 1 : 0) == target.size());
    FUZZ_CHECK(target.starts_with(path));

    const auto m = v1_routes().match(method, path);
    check_match(m, method, path);
    check_query(query);

    if (m.kind == router::outcome::found && m.matched->pattern == "/v1/tasks") {
        check_body(body, adopt_fields);
    } else if (m.kind == router::outcome::found && m.matched->pattern == "/v1/batches") {
        check_body(body, submit_fields);
    } else if (!body.empty()) {
        check_body(body, submit_fields);
        check_body(body, adopt_fields);
    }
    return 0;
}
