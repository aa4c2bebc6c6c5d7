#include "engine/cloud_v3.hpp"

// GCC 12 reports a false -Wmismatched-new-delete for coroutine frames whose promise type has a
// sized operator delete (Asio's awaitable); see GCC bug 109224.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

#include <fmt/format.h>

#include <boost/json/serialize.hpp>

#include "engine/submission_rules.hpp"
#include "http/types.hpp"
#include "qcloud/request.hpp"

namespace taskpoller::engine {
namespace asio = boost::asio;
namespace json = boost::json;

namespace v3 {
namespace {

struct v3_submission final : prepared_submission {
    std::vector<std::string> bodies;  ///< one per call
};

call_failure malformed(const core::error& e) {
    return call_failure{call_failure::kind::malformed,
                        failure_class::transient,
                        {},
                        "malformed response: " + e.message};
}

// The string ids a parameter names: a string, or an array of strings.
core::result<std::vector<std::string>> ids_of(const json::value& v, std::string_view name) {
    std::vector<std::string> out;
    if (v.is_string()) {
        out.emplace_back(v.get_string());
    } else if (v.is_array()) {
        for (const auto& e : v.get_array()) {
            if (!e.is_string() || e.get_string().empty())
                return core::error{fmt::format("params.{} must hold non-empty strings", name)};
            out.emplace_back(e.get_string());
        }
    } else {
        return core::error{fmt::format("params.{} must be a string or an array of strings", name)};
    }
    return out;
}

// A string that JSON carries as it is: printable ASCII without '"' or '\\'.
bool plain_json_string(std::string_view s) noexcept {
    for (char c : s) {
        if (c < 0x20 || c > 0x7e || c == '"' || c == '\\') return false;
    }
    return true;
}

}  // namespace

std::string task_poll_body(std::string_view param, std::string_view request_id) {
    if (!plain_json_string(param) || !plain_json_string(request_id)) {
        json::object body;
        body[param] = request_id;
        return json::serialize(body);
    }
    std::string out;
    out.reserve(param.size() + request_id.size() + 7);
    out.append("{\"").append(param).append("\":\"").append(request_id).append("\"}");
    return out;
}

failure_class classify(std::string_view code) noexcept {
    using c = qcloud::v3::error_class;
    switch (qcloud::v3::classify(code)) {
        case c::throttled:
            return failure_class::throttled;
        case c::retry:
        case c::outcome_unknown:
            return failure_class::transient;
        case c::resign:
            return failure_class::resign;
        case c::refresh_token:
        case c::account:
            return failure_class::account;
        case c::precondition:
            return failure_class::missing;
        case c::permanent:
        case c::dry_run:
            return failure_class::final;
    }
    return failure_class::transient;
}

call_failure failure_of(const qcloud::v3::api_error& e) {
    return call_failure{call_failure::kind::api, classify(e.code), e.code,
                        e.message.empty() ? e.code : e.code + ": " + e.message};
}

task_poll_answer read_task_poll(task_reader reader, const call_outcome& out) {
    if (auto f = transport_failure(out)) return {std::move(f)};
    auto r = qcloud::v3::parse_response(out.body);
    if (!r) return {malformed(r.error())};
    if (r->error) return {failure_of(*r->error)};
    auto t = reader == task_reader::vpc_task_result ? qcloud::v3::read_vpc_task_result(*r)
                                                    : qcloud::v3::read_clb_task_status(*r);
    if (!t) return {malformed(t.error())};
    switch (t->status) {
        case qcloud::v3::task_status::running:
            return {std::nullopt, remote_status::running};
        case qcloud::v3::task_status::succeeded:
            return {std::nullopt, remote_status::succeeded};
        case qcloud::v3::task_status::failed:
            return {std::nullopt, remote_status::failed};
    }
    return {std::nullopt, remote_status::running};
}

instances_answer read_instances(const call_outcome& out) {
    if (auto f = transport_failure(out)) return {std::move(f), {}};
    auto r = qcloud::v3::parse_response(out.body);
    if (!r) return {malformed(r.error()), {}};
    if (r->error) return {failure_of(*r->error), {}};
    auto page = qcloud::v3::read_describe_instances(*r);
    if (!page) return {malformed(page.error()), {}};
    instances_answer a;
    a.instances.reserve(page->instances.size());
    for (auto& i : page->instances) {
        a.instances.push_back(
            {std::move(i.instance_id), 0, std::move(i.instance_state),
             std::move(i.latest_operation_request_id), std::move(i.latest_operation_state),
             std::move(i.latest_operation_error_msg), std::move(i.latest_operation)});
    }
    return a;
}

instances_answer read_disks(const call_outcome& out) {
    if (auto f = transport_failure(out)) return {std::move(f), {}};
    auto r = qcloud::v3::parse_response(out.body);
    if (!r) return {malformed(r.error()), {}};
    if (r->error) return {failure_of(*r->error), {}};
    auto page = qcloud::v3::read_describe_disks(*r);
    if (!page) return {malformed(page.error()), {}};
    instances_answer a;
    a.instances.reserve(page->disks.size());
    for (auto& d : page->disks)
        a.instances.push_back({.instance_id = std::move(d.disk_id),
                               .state = std::move(d.disk_state),
                               .attached_to = std::move(d.instance_id)});
    return a;
}

submission_answer read_submission(const call_outcome& out,
                                  const std::vector<std::string>& resources) {
    using k = submission_answer::kind;
    if (out.what == call_outcome::kind::not_sent) return {k::not_sent, 0, out.error, {}};
    if (out.what == call_outcome::kind::outcome_unknown) return {k::unknown, 0, out.error, {}};
    auto r = qcloud::v3::parse_response(out.body);
    if (!r) return {k::unknown, 0, "the answer could not be understood: " + r.error().message, {}};
    if (!r->error) {
        submission_answer a{k::accepted, 0, {}, {}};
        for (const auto& res : call_resources(resources))
            a.entries.push_back({res, core::entry_outcome::accepted, 0, {}, r->request_id, {}});
        return a;
    }
    auto f = failure_of(*r->error);
    using c = qcloud::v3::error_class;
    switch (qcloud::v3::classify(r->error->code)) {
        case c::throttled:
            return {k::throttled, 0, std::move(f.message), {}};
        case c::retry:
            return {k::busy, 0, std::move(f.message), {}};
        case c::resign:
            return {k::resign, 0, std::move(f.message), {}};
        case c::outcome_unknown:
            // A server error does not prove that nothing was started: never re-sent.
            return {k::unknown, 0, "the cloud answered " + f.message, {}};
        case c::refresh_token:
        case c::account:
        case c::permanent:
        case c::precondition:
        case c::dry_run:
            break;
    }
    return {k::rejected, 0, std::move(f.message), {}};
}

core::result<encoded_calls> encode_submission(const action_profile& action,
                                              const json::object& params) {
    encoded_calls out;
    std::vector<std::string> resources;
    if (!action.resource_param.empty()) {
        if (const auto* v = params.if_contains(action.resource_param)) {
            auto ids = ids_of(*v, action.resource_param);
            if (!ids) return ids.error();
            resources = std::move(*ids);
        }
        if (resources.empty() && action.resource_required) {
            return core::error{fmt::format("{} needs the resources it acts on: params.{}",
                                           action.name, action.resource_param)};
        }
    }
    out.all_resources = resources;
    const json::array* chunked = nullptr;
    if (action.chunk.max > 0) {
        if (const auto* v = params.if_contains(action.chunk.param); v && v->is_array())
            chunked = &v->get_array();
    }
    if (chunked == nullptr || chunked->size() <= action.chunk.max) {
        out.bodies.push_back(json::serialize(params));
        out.resources.push_back(std::move(resources));
        return out;
    }
    // The chunk parameter is the resource list (CVM InstanceIds): each call names its slice;
    // otherwise (CLB Targets of one load balancer) each call names every resource.
    const bool slice_resources = action.chunk.param == action.resource_param;
    for (std::size_t off = 0; off < chunked->size(); off += action.chunk.max) {
        const std::size_t end = std::min(chunked->size(), off + action.chunk.max);
        json::object body = params;
        body[action.chunk.param] = json::array(chunked->begin() + static_cast<std::ptrdiff_t>(off),
                                               chunked->begin() + static_cast<std::ptrdiff_t>(end));
        out.bodies.push_back(json::serialize(body));
        if (slice_resources) {
            out.resources.emplace_back(resources.begin() + static_cast<std::ptrdiff_t>(off),
                                       resources.begin() + static_cast<std::ptrdiff_t>(end));
        } else {
            out.resources.push_back(resources);
        }
    }
    return out;
}

}  // namespace v3

cloud_v3::cloud_v3(api_client& api, const registry& reg) : registry_(reg), api_(api) {}

void cloud_v3::reconfigure(qcloud::credentials, const api_settings&) {
    keys_.clear();  // derived from the old secret key; the router updates api_client itself
}

core::result<std::unique_ptr<prepared_submission>> cloud_v3::prepare(
    const service_profile& service, const action_profile& action, std::string_view region,
    const json::object& params) const {
    auto calls = v3::encode_submission(action, params);
    if (!calls) return calls.error();
    auto p = std::make_unique<v3::v3_submission>();
    p->resources = std::move(calls->all_resources);
    if (calls->bodies.size() > 1) p->chunks = std::move(calls->resources);
    p->fingerprint = qcloud::tc3::sha256_hex(fmt::format(
        "v3\n{}\n{}\n{}\n{}", service.name, action.name, region, json::serialize(params)));
    p->bodies = std::move(calls->bodies);
    if (!action.target_param.empty()) {
        if (const auto* t = params.if_contains(action.target_param); t && t->is_string())
            p->target = std::string(t->as_string());
    }
    return std::unique_ptr<prepared_submission>(std::move(p));
}

asio::awaitable<call_outcome> cloud_v3::call(const service_profile& service,
                                             std::string_view action, std::string_view region,
                                             std::string body, bool fresh_connection) {
    http::request req;
    req.host = registry_.host(service.name, region);
    req.method = http::method::post;
    req.target = "/";
    req.content_type = "application/json";
    // Signed at the moment of sending: every attempt (a retry, a re-sign) gets a fresh timestamp.
    const std::int64_t now = qcloud::system_unix_seconds();
    const auto& creds = api_.credentials();
    const qcloud::tc3::request to_sign{req.host, req.content_type, body, now};
    auto authorization = qcloud::tc3::authorization_with_key(
        creds.secret_id(),
        keys_.get(creds.secret_key_for_signing(), now, qcloud::tc3::service_of_host(req.host)),
        to_sign);
    req.headers.emplace_back("Authorization", std::move(authorization));
    req.headers.emplace_back("X-TC-Action", std::string(action));
    req.headers.emplace_back("X-TC-Version", service.version);
    req.headers.emplace_back("X-TC-Timestamp", std::to_string(now));
    if (!region.empty()) req.headers.emplace_back("X-TC-Region", std::string(region));
    if (!creds.token().empty()) req.headers.emplace_back("X-TC-Token", creds.token());
    req.body = std::move(body);
    co_return co_await api_.async_send(service.name, action, std::move(req), fresh_connection);
}

namespace {

// The 3.0 code of a refused temporary-credentials token (the daemon re-reads its credentials).
constexpr std::string_view token_failure_code = "AuthFailure.TokenFailure";

std::string_view label_of(const submission_answer& a) noexcept {
    switch (a.what) {
        case submission_answer::kind::accepted:
            return "ok";
        case submission_answer::kind::throttled:
            return "throttled";
        case submission_answer::kind::unknown:
            return a.message.starts_with("the answer could not") ? "malformed" : "api_error";
        default:
            return "api_error";
    }
}

}  // namespace

// The profiles passed in belong to the registry, which a reload replaces: everything needed
// after the first suspension is copied before it (engine/cloud.hpp). call() copies what it
// needs before its own first suspension.

asio::awaitable<submission_answer> cloud_v3::async_submit(const service_profile& service,
                                                          const action_profile& action,
                                                          std::string_view region,
                                                          const prepared_submission& p,
                                                          std::size_t n) {
    const auto& sub = static_cast<const v3::v3_submission&>(p);
    const std::string svc = service.name;
    const std::string act = action.name;
    const auto resources = p.call_resources();
    auto out = co_await call(service, act, region, sub.bodies.at(n), true);
    auto answer = v3::read_submission(out, resources.at(n));
    if (out.what == call_outcome::kind::answered) api_.count_answer(svc, act, label_of(answer));
    if (answer.what == submission_answer::kind::rejected &&
        answer.message.starts_with(token_failure_code))
        api_.count_token_failure();
    co_return answer;
}

asio::awaitable<task_poll_answer> cloud_v3::async_poll_task(const service_profile& service,
                                                            std::string_view region,
                                                            std::string_view request_id) {
    const std::string svc = service.name;
    const std::string act = service.result_action;
    const task_reader reader = service.reader;
    auto out = co_await call(service, act, region,
                             v3::task_poll_body(service.result_param, request_id), false);
    auto answer = v3::read_task_poll(reader, out);
    if (out.what == call_outcome::kind::answered)
        api_.count_answer(svc, act, stats_label(answer.failure));
    if (answer.failure && answer.failure->code == token_failure_code) api_.count_token_failure();
    answer.clock = std::move(out.clock);
    co_return answer;
}

asio::awaitable<instances_answer> cloud_v3::async_poll_instances(const service_profile& service,
                                                                 std::string_view region,
                                                                 std::span<const std::string> ids) {
    const std::string svc = service.name;
    const std::string act = service.result_action;
    const bool disks = service.reader == task_reader::cbs_disks;
    // Limit defaults to 20: without Limit=100 a list of 100 ids would be cut to 20 answers.
    json::object body;
    json::array list;
    for (const auto& id : ids) list.emplace_back(id);
    body[disks ? "DiskIds" : "InstanceIds"] = std::move(list);
    body["Limit"] = 100;
    auto out = co_await call(service, act, region, json::serialize(body), false);
    auto answer = disks ? v3::read_disks(out) : v3::read_instances(out);
    if (out.what == call_outcome::kind::answered)
        api_.count_answer(svc, act, stats_label(answer.failure));
    if (answer.failure && answer.failure->code == token_failure_code) api_.count_token_failure();
    answer.clock = std::move(out.clock);
    co_return answer;
}

}  // namespace taskpoller::engine
