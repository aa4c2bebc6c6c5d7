#include "engine/registry.hpp"

#include <fmt/format.h>

#include <cmath>

namespace taskpoller::engine {
namespace {

action_profile cvm_action(std::string name, response_kind response, int target, int transitional,
                          std::string ids_param) {
    cvm_rule rule;
    rule.target = target;
    rule.transitional = transitional;
    rule.ids_param = std::move(ids_param);
    return action_profile{std::move(name), response, rule, std::nullopt};
}

service_profile make_cvm() {
    service_profile s{"cvm", "cvm", resolver_kind::instance_state, "DescribeInstances", "", {},
                      {},    {}};
    // Targets and transitional states: docs/protocol.md "Completion".
    const auto batch = response_kind::batch;
    for (auto a : {cvm_action("StartInstances", batch, 2, 8, "instanceIds"),
                   cvm_action("StopInstances", batch, 4, 9, "instanceIds"),
                   cvm_action("RestartInstances", batch, 2, 7, "instanceIds"),
                   cvm_action("ResetInstancePassword", batch, 4, 10, "instanceIds"),
                   cvm_action("ResetInstances", response_kind::common_async, 2, 14, "instanceId")})
        s.actions.emplace(a.name, std::move(a));
    return s;
}

service_profile make_task_service(std::string name, std::string result_action,
                                  std::initializer_list<const char*> actions) {
    service_profile s{
        name, name, resolver_kind::task_result, std::move(result_action), "requestId", {}, {}, {}};
    for (const char* a : actions)
        s.actions.emplace(a, action_profile{a, response_kind::common_async, {}, {}});
    return s;
}

// API 3.0 CVM (2017-03-12): one RequestId per call, each instance's LatestOperation* says when
// it is done; at most 100 InstanceIds per call (docs/protocol.md "API 3.0: CVM").
service_profile make_cvm_v3() {
    service_profile s{"cvm", "cvm", resolver_kind::instance_state, "DescribeInstances", "", {},
                      {},    {}};
    s.proto = protocol::v3;
    s.version = "2017-03-12";
    s.reader = task_reader::v2_status;
    // Documented 40/s for DescribeInstances; the generic page says 20/s: budget the lower.
    s.result_rate_limit = 20.0;
    for (const char* name : {"StartInstances", "StopInstances", "RebootInstances",
                             "ResetInstancesPassword", "TerminateInstances"}) {
        cvm_rule rule;
        rule.by_latest_operation = true;
        rule.ids_param = "InstanceIds";
        // Documented 10/s: budget 8/s, so a burst after a quiet spell stays under it too.
        action_profile a{name, response_kind::common_async, rule, 8.0};
        a.resource_param = "InstanceIds";
        a.resource_required = true;
        a.chunk = {"InstanceIds", 100};
        s.actions.emplace(a.name, std::move(a));
    }
    return s;
}

// API 3.0 services tracked per RequestId by a task-result API.
service_profile make_v3_task_service(std::string name, std::string version,
                                     std::string result_action, task_reader reader,
                                     std::vector<action_profile> actions) {
    service_profile s{
        name, name, resolver_kind::task_result, std::move(result_action), "TaskId", {}, {}, {}};
    s.proto = protocol::v3;
    s.version = std::move(version);
    s.reader = reader;
    s.result_rate_limit = 15.0;  // documented 20/s: stay below it
    for (auto& a : actions) s.actions.emplace(a.name, std::move(a));
    return s;
}

action_profile v3_action(std::string name, std::string resource_param, bool required,
                         chunk_rule chunk = {}) {
    // Documented 20/s: budget 15/s (below the limit, as for the task-result APIs).
    action_profile a{std::move(name), response_kind::common_async, std::nullopt, 15.0};
    a.resource_param = std::move(resource_param);
    a.resource_required = required;
    a.chunk = std::move(chunk);
    return a;
}

service_profile make_clb_v3() {
    const chunk_rule targets{"Targets", 20};
    return make_v3_task_service(
        "clb", "2018-03-17", "DescribeTaskStatus", task_reader::clb_task_status,
        {v3_action("RegisterTargets", "LoadBalancerId", true, targets),
         v3_action("DeregisterTargets", "LoadBalancerId", true, targets),
         v3_action("ModifyTargetWeight", "LoadBalancerId", true, targets),
         v3_action("BatchModifyTargetWeight", "LoadBalancerId", true, {"ModifyList", 20}),
         v3_action("CreateListener", "LoadBalancerId", true),
         v3_action("DeleteListener", "LoadBalancerId", true),
         v3_action("DeleteLoadBalancer", "LoadBalancerIds", true)});
}

// API 3.0 CBS (2017-03-12): disks carry no RequestId, so AttachDisks/DetachDisks are done when
// each disk shows the target state after the transitional one (docs/protocol.md "API 3.0").
service_profile make_cbs_v3() {
    service_profile s{"cbs", "cbs", resolver_kind::instance_state, "DescribeDisks", "", {}, {}, {}};
    s.proto = protocol::v3;
    s.version = "2017-03-12";
    s.reader = task_reader::cbs_disks;
    s.result_rate_limit = 15.0;  // documented 20/s
    static constexpr resource_states attach{"UNATTACHED", "ATTACHING", "ATTACHED"};
    static constexpr resource_states detach{"ATTACHED", "DETACHING", "UNATTACHED"};
    for (auto [name, states] :
         {std::pair{"AttachDisks", &attach}, std::pair{"DetachDisks", &detach}}) {
        cvm_rule rule;
        rule.ids_param = "DiskIds";
        rule.states = states;
        action_profile a{name, response_kind::common_async, rule, 15.0};
        a.resource_param = "DiskIds";
        a.resource_required = true;
        a.chunk = {"DiskIds", 10};
        if (states == &attach) a.target_param = "InstanceId";  // attached to that instance
        s.actions.emplace(a.name, std::move(a));
    }
    return s;
}

service_profile make_vpc_v3() {
    return make_v3_task_service(
        "vpc", "2017-03-12", "DescribeVpcTaskResult", task_reader::vpc_task_result,
        {v3_action("AttachNetworkInterface", "NetworkInterfaceId", true),
         v3_action("DetachNetworkInterface", "NetworkInterfaceId", true),
         v3_action("DeleteNetworkInterface", "NetworkInterfaceId", true),
         v3_action("MigrateNetworkInterface", "NetworkInterfaceId", true),
         v3_action("AssignPrivateIpAddresses", "NetworkInterfaceId", true),
         v3_action("UnassignPrivateIpAddresses", "NetworkInterfaceId", true)});
}

core::error fail(std::string msg) {
    return core::error{std::move(msg)};
}

template <class Map>
std::string join_keys(const Map& m) {
    if (m.empty()) return "(none)";
    std::string out;
    for (const auto& [k, v] : m) out += (out.empty() ? "" : ", ") + k;
    return out;
}

bool valid_rate(double r) {
    return std::isfinite(r) && r > 0;
}

core::result<void> check_action(const std::string& where, const action_override& a) {
    if (a.rate_limit && !valid_rate(*a.rate_limit))
        return fail(where + ": rate_limit must be a positive number");
    if (a.target && !is_known_cvm_status(*a.target))
        return fail(fmt::format("{}: target {} is not a CVM status (-1..20)", where, *a.target));
    if (a.transitional && *a.transitional != -100 && !is_known_cvm_status(*a.transitional))
        return fail(fmt::format("{}: transitional {} is not a CVM status (-1..20)", where,
                                *a.transitional));
    if (a.ids_param && a.ids_param->empty()) return fail(where + ": ids_param must not be empty");
    if (a.settle_delay && a.settle_delay->count() < 0)
        return fail(where + ": settle_delay must not be negative");
    return {};
}

core::result<void> merge_action(const service_profile& s, const std::string& name,
                                const action_override& o, action_profile& a) {
    const std::string where = s.name + "." + name;
    if (auto r = check_action(where, o); !r) return r;
    const bool cvm_like = s.resolver == resolver_kind::instance_state;
    if (s.proto == protocol::v3) {
        // API 3.0: completion is read from LatestOperation*, the same rule for every action.
        if (o.target || o.transitional || o.response)
            return fail(where + ": target/transitional/response do not apply to API 3.0 actions");
        if (a.name.empty() && s.reader == task_reader::cbs_disks)
            return fail(where +
                        ": CBS completion is built in for AttachDisks and DetachDisks only");
        if (a.name.empty()) {
            a = cvm_like ? action_profile{name, response_kind::common_async,
                                          cvm_rule{.ids_param = "InstanceIds",
                                                   .by_latest_operation = true},
                                          std::nullopt}
                         : action_profile{name, response_kind::common_async, {}, {}};
            if (cvm_like) {
                a.resource_param = "InstanceIds";
                a.resource_required = true;
                a.chunk = {"InstanceIds", 100};
            }
        }
        if (o.rate_limit) a.rate_limit = *o.rate_limit;
        if (o.ids_param) {
            if (!cvm_like) return fail(where + ": ids_param applies to cvm actions only");
            a.cvm->ids_param = a.resource_param = a.chunk.param = *o.ids_param;
        }
        if (o.settle_delay && cvm_like) a.cvm->settle_delay = *o.settle_delay;
        return {};
    }
    if (!cvm_like && (o.target || o.transitional || o.ids_param || o.settle_delay))
        return fail(where +
                    ": target/transitional/ids_param/settle_delay apply to cvm actions only");
    if (cvm_like && !a.cvm && !o.target)
        return fail(where + ": a new cvm action needs a target status");
    a.name = name;
    if (o.response) a.response = *o.response;
    if (o.rate_limit) a.rate_limit = *o.rate_limit;
    if (!cvm_like) return {};
    if (!a.cvm) a.cvm = cvm_rule{};
    if (o.target) a.cvm->target = *o.target;
    if (o.transitional) a.cvm->transitional = *o.transitional;
    if (o.ids_param) a.cvm->ids_param = *o.ids_param;
    if (o.settle_delay) a.cvm->settle_delay = *o.settle_delay;
    if (a.cvm->target == a.cvm->transitional)
        return fail(where + ": target and transitional must differ");
    return {};
}

core::result<void> apply_result_override(service_profile& s, const action_override& o) {
    const std::string where = s.name + "." + s.result_action;
    if (o.response || o.target || o.transitional || o.ids_param || o.settle_delay || !o.rate_limit)
        return fail(where + ": the poll API accepts only rate_limit");
    if (!valid_rate(*o.rate_limit)) return fail(where + ": rate_limit must be a positive number");
    s.result_rate_limit = *o.rate_limit;
    return {};
}

}  // namespace

std::string_view to_string(protocol p) noexcept {
    return p == protocol::v3 ? "v3" : "v2";
}

std::optional<service_profile> builtin_service(std::string_view name, protocol p) {
    if (name == "cvm") return p == protocol::v3 ? make_cvm_v3() : make_cvm();
    if (p == protocol::v3 && name == "clb") return make_clb_v3();
    if (p == protocol::v3 && name == "vpc") return make_vpc_v3();
    if (p == protocol::v3 && name == "cbs") return make_cbs_v3();
    if (p == protocol::v2 && (name == "lb" || name == "bmlb" || name == "bmeip")) {
        registry r;
        return *r.find_service(name);
    }
    return std::nullopt;
}

registry::registry(std::string host_suffix, protocol default_protocol)
    : host_suffix_(std::move(host_suffix)), default_protocol_(default_protocol) {
    services_.emplace("cvm", default_protocol == protocol::v3 ? make_cvm_v3() : make_cvm());
    services_.emplace("clb", make_clb_v3());
    services_.emplace("vpc", make_vpc_v3());
    services_.emplace("cbs", make_cbs_v3());
    // CLB actions documented as async (each returns a requestId for the task-result API).
    services_.emplace(
        "lb", make_task_service("lb", "DescribeLoadBalancersTaskResult",
                                {"RegisterInstancesWithLoadBalancer", "ModifyLoadBalancerBackends",
                                 "DeregisterInstancesFromLoadBalancer", "DeleteLoadBalancers",
                                 "CreateLoadBalancerListeners", "DeleteLoadBalancerListeners",
                                 "ModifyLoadBalancerListener"}));
    // Black-stone LB and EIP actions documented as async (one requestId each, finished when
    // the service's task-result API says so); docs/polling.md lists them.
    services_.emplace(
        "bmlb", make_task_service("bmlb", "DescribeBmLoadBalancersTaskResult",
                                  {"BindBmL4ListenerRs", "UnbindBmL4ListenerRs", "BindBmL7Backends",
                                   "UnbindBmL7Backends", "DeleteBmLoadBalancers"}));
    services_.emplace("bmeip", make_task_service("bmeip", "EipBmQueryTask",
                                                 {"EipBmBindRs", "EipBmUnbindRs", "EipBmRelease"}));
}

core::result<void> registry::apply(const service_override& o) {
    if (o.name.empty()) return fail("services: a service needs a name");
    service_profile s;
    if (auto it = services_.find(o.name); it != services_.end()) {
        s = it->second;
        if (o.proto && *o.proto != s.proto) {
            auto other = builtin_service(o.name, *o.proto);
            if (!other)
                return fail(fmt::format("services.{}: no API {} profile (protocol {} only)", o.name,
                                        *o.proto == protocol::v3 ? "3.0" : "2.0",
                                        to_string(s.proto)));
            for (auto& [name, a] : other->actions)
                if (a.cvm) a.cvm->settle_delay = settle_delay_;
            s = std::move(*other);
        }
    } else {
        if (o.proto == protocol::v3)
            return fail(fmt::format(
                "services.{}: unknown service (known: {}); new services are API 2.0 only", o.name,
                join_keys(services_)));
        if (!o.result_action || o.result_action->empty())
            return fail(
                fmt::format("services.{}: unknown service (known: {}); a new service "
                            "needs result_action (its task-result API)",
                            o.name, join_keys(services_)));
        s = service_profile{o.name, o.name, resolver_kind::task_result, "", "requestId", {},
                            {},     {}};
    }
    if (o.version) {
        if (s.proto != protocol::v3)
            return fail("services." + o.name + ": version applies to API 3.0 services only");
        s.version = *o.version;
    }
    if (o.host_prefix) {
        if (o.host_prefix->empty()) return fail("services." + o.name + ": host_prefix is empty");
        s.host_prefix = *o.host_prefix;
    }
    if (o.result_action) {
        if (s.resolver == resolver_kind::instance_state)
            return fail("services." + o.name + ": result_action cannot be changed for cvm");
        s.result_action = *o.result_action;
    }
    if (o.result_param) s.result_param = *o.result_param;
    if (o.rate_limit) {
        if (!valid_rate(*o.rate_limit))
            return fail("services." + o.name + ": rate_limit must be a positive number");
        s.rate_limit = *o.rate_limit;
    }
    for (const auto& [name, ao] : o.actions) {
        if (name.empty()) return fail("services." + o.name + ": an action needs a name");
        if (name == s.result_action) {
            if (auto r = apply_result_override(s, ao); !r) return r;
            continue;
        }
        action_profile a;
        if (auto it = s.actions.find(name); it != s.actions.end()) a = it->second;
        if (auto r = merge_action(s, name, ao, a); !r) return r;
        s.actions.insert_or_assign(name, std::move(a));
    }
    services_.insert_or_assign(o.name, std::move(s));
    return {};
}

core::result<void> registry::set_settle_delay(milliseconds d) {
    if (d.count() < 0) return fail("polling.settle_delay must not be negative");
    settle_delay_ = d;
    for (auto& [name, s] : services_)
        for (auto& [action, a] : s.actions)
            if (a.cvm) a.cvm->settle_delay = d;
    return {};
}

core::result<const action_profile*> registry::find_action(std::string_view service,
                                                          std::string_view action) const {
    const service_profile* s = find_service(service);
    if (!s)
        return fail(fmt::format("unknown service '{}' (known services: {})", service,
                                join_keys(services_)));
    auto it = s->actions.find(action);
    if (it == s->actions.end())
        return fail(
            fmt::format("no completion rule for {}/{}: taskpoller cannot tell when it "
                        "finishes (known {} actions: {}; add one under services.{}.actions)",
                        service, action, service, join_keys(s->actions), service));
    return &it->second;
}

const service_profile* registry::find_service(std::string_view service) const noexcept {
    auto it = services_.find(service);
    return it == services_.end() ? nullptr : &it->second;
}

std::string registry::host(std::string_view service, std::string_view region) const {
    const service_profile* s = find_service(service);
    if (!s) return {};
    if (s->proto == protocol::v2) return s->host_prefix + "." + host_suffix_;
    switch (v3_endpoint_) {
        case v3_endpoint::regional:
            if (!region.empty()) {  // on every 3.0 request: appended, not formatted
                std::string h;
                h.reserve(s->host_prefix.size() + region.size() + 22);
                h.append(s->host_prefix).append(".").append(region).append(".tencentcloudapi.com");
                return h;
            }
            break;
        case v3_endpoint::intl:
            return s->host_prefix + ".intl.tencentcloudapi.com";
        case v3_endpoint::nearest:
            break;
    }
    return s->host_prefix + ".tencentcloudapi.com";
}

double registry::rate_limit(std::string_view service, std::string_view action,
                            double fallback) const {
    const service_profile* s = find_service(service);
    if (!s) return fallback;
    if (action == s->result_action && s->result_rate_limit) return *s->result_rate_limit;
    if (auto it = s->actions.find(action); it != s->actions.end() && it->second.rate_limit)
        return *it->second.rate_limit;
    return s->rate_limit.value_or(fallback);
}

std::vector<std::string> registry::service_names() const {
    std::vector<std::string> out;
    for (const auto& [k, v] : services_) out.push_back(k);
    return out;
}

bool is_known_cvm_status(int status) noexcept {
    return status == -1 || (status >= 1 && status <= 20);
}

std::string_view cvm_status_name(int status) noexcept {
    switch (status) {
        case -1:
            return "creation failed";
        case 1:
            return "faulty";
        case 2:
            return "running";
        case 3:
            return "creating";
        case 4:
            return "stopped";
        case 5:
            return "returned";
        case 6:
            return "returning";
        case 7:
            return "rebooting";
        case 8:
            return "starting";
        case 9:
            return "stopping";
        case 10:
            return "resetting password";
        case 11:
            return "formatting";
        case 12:
            return "making an image";
        case 13:
            return "setting bandwidth";
        case 14:
            return "reinstalling";
        case 15:
        case 16:
        case 17:
        case 18:
            return "binding or unbinding";
        case 19:
            return "upgrading";
        case 20:
            return "issuing keys";
        default:
            return "unknown status";
    }
}

}  // namespace taskpoller::engine
