#include "engine/cloud_v2.hpp"

// GCC 12 reports a false -Wmismatched-new-delete for coroutine frames whose promise type has a
// sized operator delete (Asio's awaitable); see GCC bug 109224.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

#include <fmt/format.h>

#include "engine/registry.hpp"
#include "engine/submission_rules.hpp"
#include "qcloud/error_codes.hpp"
#include "qcloud/response.hpp"

namespace taskpoller::engine {
namespace asio = boost::asio;

namespace v2 {
namespace {

// Codes that say the account, credentials or endpoint are wrong rather than this request.
bool is_account_wide(int c) noexcept {
    return (c >= qcloud::code::auth_failure && c < qcloud::code::request_expired) ||
           c == qcloud::code::access_denied || c == qcloud::code::protocol_not_supported ||
           c == qcloud::code::api_unavailable;
}

struct v2_submission final : prepared_submission {
    qcloud::param_list params;
};

}  // namespace

failure_class classify(int code, std::string_view code_desc) noexcept {
    if (qcloud::is_throttle_desc(code_desc)) return failure_class::throttled;
    if (code == qcloud::code::unrecognised) return failure_class::transient;
    if (code == qcloud::code::resource_not_found) return failure_class::missing;
    switch (qcloud::classify(code)) {
        case qcloud::error_class::throttled:
            return failure_class::throttled;
        case qcloud::error_class::retry_backoff:
            return failure_class::transient;
        case qcloud::error_class::resign_once:
            return failure_class::resign;
        case qcloud::error_class::success:
        case qcloud::error_class::partial:
            // Answered 0/5400 where an error was expected: says nothing about the request.
            return failure_class::transient;
        case qcloud::error_class::final:
            break;
    }
    return is_account_wide(code) ? failure_class::account : failure_class::final;
}

call_failure failure_of(const qcloud::response_error& e) {
    if (e.what != qcloud::response_error::kind::api) {
        return call_failure{call_failure::kind::malformed,
                            failure_class::transient,
                            {},
                            fmt::format("malformed response: {}", e.message)};
    }
    std::string_view text = e.message.empty() ? qcloud::describe(e.code) : e.message;
    return call_failure{call_failure::kind::api, classify(e.code, e.code_desc),
                        e.code == qcloud::code::unrecognised ? e.code_desc : std::to_string(e.code),
                        fmt::format("code {}: {}", e.code, text)};
}

task_poll_answer read_task_poll(const call_outcome& out) {
    if (auto f = transport_failure(out)) return {std::move(f)};
    auto r = qcloud::parse_task_result(out.body);
    if (!r) return {failure_of(r.error())};
    switch (*r) {
        case qcloud::task_status::running:
            return {std::nullopt, remote_status::running};
        case qcloud::task_status::succeeded:
            return {std::nullopt, remote_status::succeeded};
        case qcloud::task_status::failed:
            return {std::nullopt, remote_status::failed};
    }
    return {std::nullopt, remote_status::running};
}

instances_answer read_instances(const call_outcome& out) {
    if (auto f = transport_failure(out)) return {std::move(f), {}};
    auto r = qcloud::parse_describe_instances(out.body);
    if (!r) return {failure_of(r.error()), {}};
    instances_answer a;
    a.instances.reserve(r->instances.size());
    for (auto& i : r->instances)
        a.instances.push_back({.instance_id = std::move(i.instance_id), .status = i.status});
    return a;
}

submission_answer read_submission(response_kind response, const call_outcome& out,
                                  const std::vector<std::string>& resources) {
    using k = submission_answer::kind;
    if (out.what == call_outcome::kind::not_sent) return {k::not_sent, 0, out.error, {}};
    if (out.what == call_outcome::kind::outcome_unknown) return {k::unknown, 0, out.error, {}};
    std::optional<qcloud::response_error> err;
    submission_answer a{k::accepted, 0, {}, {}};
    if (response == response_kind::batch) {
        auto parsed = qcloud::parse_batch(out.body, resources);
        if (!parsed) {
            err = parsed.error();
        } else {
            a.code = parsed->code;
            a.message = parsed->message;
            for (const auto& e : parsed->entries) a.entries.push_back(entry_of(e));
        }
    } else {
        auto parsed = qcloud::parse_async(out.body);
        if (!parsed) {
            err = parsed.error();
        } else {
            for (const auto& res : call_resources(resources)) {
                a.entries.push_back({res, core::entry_outcome::accepted, 0, {}, *parsed, {}});
            }
        }
    }
    if (!err) return a;
    auto f = failure_of(*err);
    if (f.what == call_failure::kind::malformed) {
        return {k::unknown, 0, "the answer could not be understood: " + err->message, {}};
    }
    switch (f.cls) {
        case failure_class::throttled:
            return {k::throttled, err->code, std::move(f.message), {}};
        case failure_class::resign:
            return {k::resign, err->code, std::move(f.message), {}};
        case failure_class::transient:
            // A server error (6000, 6200) or a code we cannot read does not prove that nothing
            // was started: the outcome is unknown (never re-sent, reconciled read-only).
            return {k::unknown, err->code, "the cloud answered " + f.message, {}};
        default:
            return {k::rejected, err->code, std::move(f.message), {}};
    }
}

}  // namespace v2

cloud_v2::cloud_v2(api_client& api, const registry& reg) : registry_(reg), api_(api) {}

void cloud_v2::reconfigure(qcloud::credentials creds, const api_settings& settings) {
    api_.set_credentials(std::move(creds));
    api_.set_settings(settings);
}

namespace {

std::string_view label_of(const submission_answer& a) noexcept {
    switch (a.what) {
        case submission_answer::kind::accepted:
            return "ok";
        case submission_answer::kind::unknown:
            // Answered with an error code that proves nothing (6000, 6200), or unreadable.
            return a.code != 0 ? "api_error" : "malformed";
        case submission_answer::kind::throttled:
            return "throttled";
        default:
            return "api_error";
    }
}

}  // namespace

void cloud_v2::count(std::string_view service, std::string_view action, std::string_view label) {
    api_.count_answer(service, action, label);
}

core::result<std::unique_ptr<prepared_submission>> cloud_v2::prepare(
    const service_profile& service, const action_profile& action, std::string_view region,
    const boost::json::object& params) const {
    auto flat = qcloud::flatten_params(params);
    if (!flat) return flat.error();
    // Refused before anything is journaled or sent: such a request could never be signed.
    if (auto names = check_param_names(*flat); !names) return names.error();
    auto resources = resources_of(registry_, service.name, action, *flat);
    if (!resources) return resources.error();
    auto p = std::make_unique<v2::v2_submission>();
    p->resources = std::move(*resources);
    p->fingerprint = fingerprint(service.name, action.name, region, *flat);
    p->params = std::move(*flat);
    return std::unique_ptr<prepared_submission>(std::move(p));
}

// The profiles passed in belong to the registry, which a reload replaces: everything needed
// after the first suspension is copied before it (engine/cloud.hpp).

asio::awaitable<submission_answer> cloud_v2::async_submit(const service_profile& service,
                                                          const action_profile& action,
                                                          std::string_view region,
                                                          const prepared_submission& p,
                                                          std::size_t /*call: never chunked*/) {
    const auto& sub = static_cast<const v2::v2_submission&>(p);
    const std::string svc = service.name;
    const std::string act = action.name;
    const response_kind response = action.response;
    auto out = co_await api_.async_call(svc, act, region, sub.params, true);
    auto answer = v2::read_submission(response, out, p.resources);
    // Transport failures were counted by api_client.
    if (out.what == call_outcome::kind::answered) count(svc, act, label_of(answer));
    co_return answer;
}

asio::awaitable<task_poll_answer> cloud_v2::async_poll_task(const service_profile& service,
                                                            std::string_view region,
                                                            std::string_view request_id) {
    const std::string svc = service.name;
    const std::string act = service.result_action;
    // By reference: async_call reads these only until it has signed the request.
    const qcloud::param_view param{service.result_param, request_id};
    auto out = co_await api_.async_call(svc, act, region, std::span(&param, 1), false);
    auto answer = v2::read_task_poll(out);
    if (out.what == call_outcome::kind::answered) count(svc, act, stats_label(answer.failure));
    answer.clock = std::move(out.clock);
    co_return answer;
}

asio::awaitable<instances_answer> cloud_v2::async_poll_instances(const service_profile& service,
                                                                 std::string_view region,
                                                                 std::span<const std::string> ids) {
    const std::string svc = service.name;
    const std::string act = service.result_action;
    auto params = qcloud::describe_instances_params(ids);
    auto out = co_await api_.async_call(svc, act, region, params, false);
    auto answer = v2::read_instances(out);
    if (out.what == call_outcome::kind::answered) count(svc, act, stats_label(answer.failure));
    answer.clock = std::move(out.clock);
    co_return answer;
}

}  // namespace taskpoller::engine
