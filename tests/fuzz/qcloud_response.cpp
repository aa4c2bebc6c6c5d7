// Fuzz target: the API 2.0 response parsers (lib/qcloud/response.hpp).
// Input: an optional first line naming the requested resources (comma-separated, for
// parse_batch), then the response body. Without a newline the whole input is the body.
// Invariants: no parser throws or crashes; all of them agree with parse_envelope about whether
// the body is well-formed and what its code is; values respect their documented bounds.

#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_check.hpp"
#include "qcloud/error_codes.hpp"
#include "qcloud/response.hpp"

namespace {

using namespace taskpoller::qcloud;

constexpr std::size_t max_text = 1024;  // response.cpp's bound on stored cloud text
constexpr std::size_t max_request_id = 128;

std::vector<std::string> split_ids(std::string_view line) {
    std::vector<std::string> out;
    while (!line.empty()) {
        auto comma = line.find(',');
        out.emplace_back(line.substr(0, comma));
        if (comma == std::string_view::npos) break;
        line.remove_prefix(comma + 1);
    }
    return out;
}

bool safe_request_id(std::string_view id) {
    if (id.empty() || id.size() > max_request_id) return false;
    for (char c : id) {
        bool ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                  c == '-' || c == '_' || c == '.' || c == ':';
        if (!ok) return false;
    }
    return true;
}

// Every parser's error must match the envelope: the same malformed message when the envelope
// itself is malformed, else an api error carrying the envelope's (non-zero) code.
template <class R>
void check_against_envelope(const R& r, const response_result<envelope>& env) {
    if (!env) {
        FUZZ_CHECK(!r);
        FUZZ_CHECK(r.error().what == response_error::kind::malformed);
        FUZZ_CHECK(r.error().message == env.error().message);
        return;
    }
    if (r || r.error().what == response_error::kind::malformed) return;
    FUZZ_CHECK(r.error().code == env->code);
    FUZZ_CHECK(r.error().code != code::success);
}

void check_envelope(const response_result<envelope>& env) {
    if (!env) {
        FUZZ_CHECK(env.error().what == response_error::kind::malformed);
        FUZZ_CHECK(!env.error().message.empty());
        return;
    }
    FUZZ_CHECK(env->message.size() <= max_text);
    FUZZ_CHECK(env->code_desc.size() <= max_text);
    // Throttling named in codeDesc always wins over the numeric code.
    if (env->code != code::success && is_throttle_desc(env->code_desc))
        FUZZ_CHECK(env->code == code::throttled);
    (void)classify(env->code);
    FUZZ_CHECK(!describe(env->code).empty());
}

void check_batch(std::string_view body, const std::vector<std::string>& requested,
                 const response_result<envelope>& env) {
    auto b = parse_batch(body, requested);
    check_against_envelope(b, env);
    if (env && env->code != code::success && env->code != code::operation_failed &&
        env->code != code::partial_success) {
        FUZZ_CHECK(!b && b.error().what == response_error::kind::api);
    }
    if (!b) return;
    FUZZ_CHECK(b->code == env->code);
    // First the distinct requested resources in request order, then extras, none repeated.
    std::vector<std::string> distinct;
    std::set<std::string> seen;
    for (const auto& id : requested)
        if (seen.insert(id).second) distinct.push_back(id);
    FUZZ_CHECK(b->entries.size() >= distinct.size());
    std::set<std::string> ids;
    for (std::size_t i = 0; i < b->entries.size(); ++i) {
        const auto& e = b->entries[i];
        if (i < distinct.size()) FUZZ_CHECK(e.resource_id == distinct[i]);
        FUZZ_CHECK(ids.insert(e.resource_id).second);
        FUZZ_CHECK(e.message.size() <= max_text);
        switch (e.state) {
            case batch_entry::status::accepted:
                FUZZ_CHECK(e.code == code::success);
                FUZZ_CHECK(safe_request_id(e.request_id));
                break;
            case batch_entry::status::rejected:
                FUZZ_CHECK(e.code != code::success);
                FUZZ_CHECK(e.request_id.empty());
                break;
            case batch_entry::status::unknown:
                FUZZ_CHECK(e.request_id.empty());
                break;
        }
    }
}

void check_others(std::string_view body, const response_result<envelope>& env) {
    auto a = parse_async(body);
    check_against_envelope(a, env);
    if (a) {
        FUZZ_CHECK(env->code == code::success);
        FUZZ_CHECK(safe_request_id(*a));
    }
    auto t = parse_task_result(body);
    check_against_envelope(t, env);
    if (t) {
        FUZZ_CHECK(env->code == code::success);
        FUZZ_CHECK(*t == task_status::succeeded || *t == task_status::failed ||
                   *t == task_status::running);
    }
    auto d = parse_describe_instances(body);
    check_against_envelope(d, env);
    if (d) {
        FUZZ_CHECK(env->code == code::success);
        FUZZ_CHECK(d->total_count >= 0);
        for (const auto& i : d->instances)
            FUZZ_CHECK(!i.instance_id.empty() && i.instance_id.size() <= max_request_id);
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view input = taskpoller::fuzz::as_text(data, size);
    std::vector<std::string> requested;
    std::string_view body = input;
    if (auto nl = input.find('\n'); nl != std::string_view::npos) {
        requested = split_ids(input.substr(0, nl));
        body = input.substr(nl + 1);
    }
    auto env = parse_envelope(body);
    check_envelope(env);
    check_batch(body, requested, env);
    check_others(body, env);
    // The whole input too: a body that starts with a newline-free JSON document is common.
    if (body.size() != input.size()) check_envelope(parse_envelope(input));
    return 0;
}
