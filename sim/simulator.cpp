#include "sim/simulator.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "http/http_date.hpp"
#include "qcloud/encoding.hpp"
#include "qcloud/signer.hpp"
#include "qcloud/tc3.hpp"
#include "sim/reply.hpp"

namespace taskpoller::sim {

namespace json = boost::json;

namespace {

http_out json_answer(const json::object& body, unsigned status = 200) {
    http_out out;
    out.status = status;
    out.body = json::serialize(body);
    return out;
}

http_out text_answer(unsigned status, std::string text) {
    http_out out;
    out.status = status;
    out.content_type = "text/plain";
    out.body = std::move(text);
    return out;
}

http_out html_error(unsigned status) {
    const char* reason = status == 500   ? "Internal Server Error"
                         : status == 502 ? "Bad Gateway"
                                         : "Service Unavailable";
    http_out out;
    out.status = status;
    out.content_type = "text/html";
    out.body = "<html><head><title>" + std::to_string(status) + " " + reason +
               "</title></head><body><h1>" + reason + "</h1></body></html>\n";
    return out;
}

int code_of(const json::object& body) {
    const auto* c = body.if_contains("code");
    return c && c->is_int64() ? static_cast<int>(c->as_int64()) : 0;
}

http_out before_fault(fault_kind k) {
    switch (k) {
        case fault_kind::http_500:
            return html_error(500);
        case fault_kind::http_502:
            return html_error(502);
        case fault_kind::http_503:
            return html_error(503);
        case fault_kind::code_6000:
            return json_answer(envelope(6000, "internal error (simulated)"));
        case fault_kind::code_6200:
            return json_answer(envelope(6200, "service temporarily unavailable (simulated)"));
        default: {
            http_out out;
            out.how = http_out::delivery::close_before;
            return out;
        }
    }
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

// A header's trimmed value; empty when absent.
std::string_view header_value(const http_in& in, std::string_view name) {
    auto v = find_header(in.headers, name);
    return v ? trim(*v) : std::string_view{};
}

bool knows_v3(const std::string& service, const std::string& action) {
    if (service == "cvm") return cvm_service::knows_v3(action);
    if (service == "clb") return clb_v3_service::knows(action);
    if (service == "cbs") return cbs_v3_service::knows(action);
    if (service == "vpc") return vpc_v3_service::knows(action);
    return false;
}

}  // namespace

std::int64_t system_now_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

std::string_view strip_port(std::string_view host) noexcept {
    auto colon = host.rfind(':');
    if (colon == std::string_view::npos || host.find(']') != std::string_view::npos) return host;
    return host.substr(0, colon);
}

std::string service_from_host(std::string_view host, std::string_view suffix) {
    host = strip_port(host);
    if (host.size() <= suffix.size() + 1 || !host.ends_with(suffix) ||
        host[host.size() - suffix.size() - 1] != '.')
        return {};
    return std::string(host.substr(0, host.size() - suffix.size() - 1));
}

simulator::simulator(config cfg, now_fn now, core::logger log)
    : cfg_(std::move(cfg)),
      now_(std::move(now)),
      log_(std::move(log)),
      verifier_(cfg_),
      faults_(cfg_.faults, cfg_.seed),
      cvm_(cfg_, stats_),
      tasks_(cfg_, stats_),
      verifier_v3_(cfg_),
      request_ids_(cfg_.seed ^ 0x7633726571ULL),
      clb_v3_(cfg_, stats_),
      cbs_v3_(cfg_, stats_, cvm_),
      vpc_v3_(cfg_, stats_, cvm_) {
    for (const auto& a : cfg_.accounts)
        if (!a.token.empty()) tokens_[a.secret_id] = a.token;
}

void simulator::reset() {
    stats_.clear();
    verifier_.clear();
    limiter_.clear();
    faults_.reseed();
    cvm_.reset();
    tasks_.reset();
    request_ids_.reseed();
    clb_v3_.reset();
    cbs_v3_.reset();  // after cvm_.reset(): attaches disks to the new instances
    vpc_v3_.reset();
}

http_out simulator::handle(const http_in& in) {
    auto out = route(in);
    // Every answer carries the simulated cloud's clock, as the real cloud's do.
    out.date = http::format_http_date(cloud_now_ms() / 1000);
    return out;
}

http_out simulator::route(const http_in& in) {
    auto q = in.target.find('?');
    auto path = in.target.substr(0, q);
    auto query = q == std::string_view::npos ? std::string_view{} : in.target.substr(q + 1);
    if (path.starts_with("/_sim/")) return handle_control(in, path);
    if (v3::is_v3_host(in.host)) return handle_v3(in, path);
    if (path != qcloud::api_path) return text_answer(404, "not found\n");
    if (in.method != "GET" && in.method != "POST") return text_answer(405, "method not allowed\n");
    return handle_api(in, query);
}

http_out simulator::handle_api(const http_in& in, std::string_view query) {
    auto params = qcloud::form_decode(in.method == "GET" ? query : in.body);
    if (!params) {
        stats_.on_request("(malformed)", now_());
        return json_answer(
            envelope(4000, "malformed parameter encoding: " + params.error().message));
    }
    const auto* action_param = qcloud::find_param(*params, "Action");
    std::string action = action_param ? *action_param : std::string();
    bool known = cvm_service::knows(action) || task_service::knows("lb", action) ||
                 task_service::knows("bmlb", action) || task_service::knows("bmeip", action);
    const std::string stats_key = known ? action : action.empty() ? "(none)" : "(unknown)";
    stats_.on_request(stats_key, now_());

    auto plan = faults_.decide(action);
    if (plan.latency) stats_.on_fault(stats_key, fault_kind::latency);
    auto delay = plan.latency ? cfg_.faults.latency_delay : std::chrono::milliseconds(0);
    if (plan.before) {
        stats_.on_fault(stats_key, *plan.before);
        log_.debug("{}: injected {}", stats_key, to_string(*plan.before));
        auto out = before_fault(*plan.before);
        out.delay = delay;
        return out;
    }
    bool executed = false;
    auto service = service_from_host(in.host, cfg_.host_suffix);
    auto body = run_checked(in, service, action, *params, stats_key, executed);
    if (executed)
        stats_.on_accepted(stats_key);
    else
        stats_.on_refused(stats_key, code_of(body));
    auto out = json_answer(body);
    out.delay = delay;
    if (plan.after) apply_after_fault(out, *plan.after, stats_key);
    return out;
}

json::object simulator::run_checked(const http_in& in, const std::string& service,
                                    const std::string& action, const qcloud::param_list& params,
                                    const std::string& stats_key, bool& executed) {
    if (cfg_.tls_only && !in.tls) return envelope(4600, "HTTPS is required");
    if (service.empty() || (service != "cvm" && !task_service::serves(service)))
        return envelope(6100, "no API 2.0 service at host " + std::string(strip_port(in.host)));
    auto now = now_();
    if (auto e = verifier_.verify(in.method, strip_port(in.host), params, cloud_now_ms() / 1000)) {
        log_.debug("{}: refused {}: {}", stats_key, e->code, e->message);
        return error_body(*e);
    }
    bool known =
        service == "cvm" ? cvm_service::knows(action) : task_service::knows(service, action);
    if (!known) return envelope(4000, "unknown action " + action + " for service " + service);
    const auto& secret_id = *qcloud::find_param(params, "SecretId");
    if (!limiter_.try_acquire(secret_id, action, cfg_.rate_for(action), now))
        return envelope(4400, "too many requests for " + action);
    executed = true;
    return service == "cvm" ? cvm_.handle(action, params, now)
                            : tasks_.handle(service, action, params, now);
}

void simulator::apply_after_fault(http_out& out, fault_kind k, const std::string& stats_key) {
    stats_.on_fault(stats_key, k);
    log_.debug("{}: injected {}", stats_key, to_string(k));
    switch (k) {
        case fault_kind::close_after:
            out.how = http_out::delivery::close_after;
            break;
        case fault_kind::slow_drip:
            out.how = http_out::delivery::slow_drip;
            break;
        case fault_kind::truncated_json:
            out.body.resize(out.body.size() / 2);
            break;
        default:
            out.body = "<!DOCTYPE html><p>upstream answered garbage";
            break;
    }
}

http_out simulator::handle_control(const http_in& in, std::string_view path) {
    auto now = now_();
    const bool get = in.method == "GET";
    if (path == "/_sim/reset") {
        if (in.method != "POST") return text_answer(405, "use POST\n");
        reset();
        log_.info("state reset");
        return json_answer({{"reset", true}});
    }
    if (path == "/_sim/token") {
        // Rotates an account's temporary-credential token: {"secret_id": ..., "token": ...}.
        if (in.method != "POST") return text_answer(405, "use POST\n");
        boost::system::error_code ec;
        auto body = json::parse(in.body, ec);
        const auto* o = ec ? nullptr : body.if_object();
        if (o == nullptr || !o->contains("secret_id") || !o->at("secret_id").is_string() ||
            !o->contains("token") || !o->at("token").is_string())
            return text_answer(400, "expected {\"secret_id\": \"...\", \"token\": \"...\"}\n");
        tokens_[std::string(o->at("secret_id").as_string())] =
            std::string(o->at("token").as_string());
        log_.info("token of {} rotated", std::string(o->at("secret_id").as_string()));
        return json_answer({{"rotated", true}});
    }
    if (path != "/_sim/stats" && path != "/_sim/tasks" && path != "/_sim/instances" &&
        path != "/_sim/disks")
        return text_answer(404, "not found\n");
    if (!get) return text_answer(405, "use GET\n");
    if (path == "/_sim/stats") return json_answer(stats_.to_json());
    if (path == "/_sim/instances") return json_answer({{"instances", cvm_.instances_json(now)}});
    if (path == "/_sim/disks") return json_answer({{"disks", cbs_v3_.disks_json(now)}});
    auto all = cvm_.tasks_json(now);
    for (auto& t : tasks_.tasks_json(now)) all.push_back(std::move(t));
    for (auto& t : clb_v3_.tasks_json(now)) all.push_back(std::move(t));
    for (auto& t : cbs_v3_.tasks_json(now)) all.push_back(std::move(t));
    for (auto& t : vpc_v3_.tasks_json(now)) all.push_back(std::move(t));
    return json_answer({{"tasks", std::move(all)}});
}

// ---- API 3.0 ----

http_out simulator::handle_v3(const http_in& in, std::string_view path) {
    const auto service = v3::service_of(in.host);
    const std::string action(header_value(in, "x-tc-action"));
    const std::string stats_key = knows_v3(service, action) ? action
                                  : action.empty()          ? "(none)"
                                                            : "(unknown)";
    stats_.on_request(stats_key, now_());

    auto plan = faults_.decide(action);
    if (plan.latency) stats_.on_fault(stats_key, fault_kind::latency);
    auto delay = plan.latency ? cfg_.faults.latency_delay : std::chrono::milliseconds(0);
    if (plan.before) {
        stats_.on_fault(stats_key, *plan.before);
        log_.debug("{}: injected {}", stats_key, to_string(*plan.before));
        http_out out;
        if (*plan.before == fault_kind::code_6000 || *plan.before == fault_kind::code_6200) {
            auto r = *plan.before == fault_kind::code_6000
                         ? v3::result::fail("InternalError", "internal error (simulated)")
                         : v3::result::fail("ServiceUnavailable",
                                            "service temporarily unavailable (simulated)");
            out = json_answer(v3::envelope(r, request_ids_.next()));
        } else {
            out = before_fault(*plan.before);
        }
        out.delay = delay;
        return out;
    }
    bool executed = false;
    auto request_id = request_ids_.next();
    auto r = run_checked_v3(in, path, service, action, request_id, executed);
    if (executed) stats_.on_accepted(stats_key);
    if (r.err) {
        stats_.on_refused(stats_key, r.err->code);
        log_.debug("{}: {}: {}", stats_key, r.err->code, r.err->message);
    }
    auto out = json_answer(v3::envelope(r, request_id));
    out.delay = delay;
    if (plan.after) apply_after_fault(out, *plan.after, stats_key);
    return out;
}

v3::result simulator::run_checked_v3(const http_in& in, std::string_view path,
                                     const std::string& service, const std::string& action,
                                     const std::string& request_id, bool& executed) {
    using v3::result;
    if (cfg_.tls_only && !in.tls) return result::fail("UnsupportedProtocol", "HTTPS is required");
    if (in.method != "POST" || path != "/")
        return result::fail("UnsupportedProtocol",
                            "the simulator takes API 3.0 calls as POST / with a JSON body");
    if (service.empty() || v3::version_of(service).empty())
        return result::fail("NoSuchProduct",
                            "no API 3.0 product at host " + std::string(strip_port(in.host)));
    auto content_type = header_value(in, "content-type");
    if (!content_type.starts_with("application/json"))
        return result::fail("UnsupportedProtocol", "Content-Type must be application/json");
    for (auto name : {"x-tc-action", "x-tc-version", "x-tc-timestamp", "x-tc-region"})
        if (header_value(in, name).empty())
            return result::fail("MissingParameter",
                                std::string("the header ") + name + " is required");
    auto timestamp = parse_decimal(header_value(in, "x-tc-timestamp"));
    if (!timestamp) return result::fail("InvalidParameter", "X-TC-Timestamp must be unix seconds");
    auto now = now_();
    if (auto e =
            verifier_v3_.verify(in.headers, in.host, in.body, *timestamp, cloud_now_ms() / 1000))
        return {std::move(e), {}};
    if (header_value(in, "x-tc-version") != v3::version_of(service))
        return result::fail("NoSuchVersion", "version " +
                                                 std::string(header_value(in, "x-tc-version")) +
                                                 " of " + service + " does not exist");
    if (!knows_v3(service, action))
        return result::fail("InvalidAction",
                            "action " + action + " of " + service + " does not exist");
    boost::system::error_code ec;
    auto body = json::parse(in.body, ec);
    if (ec || !body.is_object())
        return result::fail("InvalidParameter", "the request body is not a JSON object");
    // Verified above, so the header is present and parses.
    auto auth = qcloud::tc3::parse_authorization(
        find_header(in.headers, "authorization").value_or(std::string_view{}));
    auto secret_id = auth ? auth->secret_id : std::string_view{};
    if (auto t = tokens_.find(std::string(secret_id)); t != tokens_.end() && !t->second.empty()) {
        if (header_value(in, "x-tc-token") != t->second)
            return result::fail("AuthFailure.TokenFailure",
                                "the temporary credentials' token is invalid or expired");
    }
    if (!limiter_.try_acquire(secret_id, "3.0/" + service + "/" + action, cfg_.rate_for_v3(action),
                              now))
        return result::fail("RequestLimitExceeded", "too many requests for " + action);
    executed = true;
    const auto& params = body.as_object();
    if (service == "cvm") return cvm_.handle_v3(action, params, request_id, now);
    if (service == "cbs") return cbs_v3_.handle(action, params, request_id, now);
    if (service == "vpc") return vpc_v3_.handle(action, params, request_id, now);
    return clb_v3_.handle(action, params, request_id, now);
}

}  // namespace taskpoller::sim
