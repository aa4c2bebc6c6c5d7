#include "sim/tasks.hpp"

#include <cctype>
#include <optional>
#include <variant>

#include "sim/action_params.hpp"
#include "sim/reply.hpp"
#include "sim/verifier.hpp"

namespace taskpoller::sim {

namespace json = boost::json;

namespace {

struct service_def {
    std::string_view name;
    std::string_view query_action;
    std::vector<std::string_view> actions;
};

const std::vector<service_def>& services() {
    static const std::vector<service_def> defs{
        {"lb",
         "DescribeLoadBalancersTaskResult",
         {"RegisterInstancesWithLoadBalancer", "ModifyLoadBalancerBackends",
          "DeregisterInstancesFromLoadBalancer", "DeleteLoadBalancers"}},
        {"bmlb",
         "DescribeBmLoadBalancersTaskResult",
         {"BindBmL4ListenerRs", "UnbindBmL4ListenerRs", "BindBmL7Backends", "UnbindBmL7Backends",
          "DeleteBmLoadBalancers"}},
        {"bmeip", "EipBmQueryTask", {"EipBmBindRs", "EipBmUnbindRs", "EipBmRelease"}},
    };
    return defs;
}

const service_def* find_service(std::string_view name) {
    for (const auto& s : services())
        if (s.name == name) return &s;
    return nullptr;
}

// The resources an lb action acts on, or an error message for missing parameters.
std::variant<std::vector<std::string>, std::string> lb_resources(const std::string& action,
                                                                 const qcloud::param_list& params) {
    if (action == "DeleteLoadBalancers") {
        auto ids = indexed_values(params, "loadBalancerIds");
        if (ids.empty()) return std::string("loadBalancerIds is required");
        return ids;
    }
    const auto* lb = qcloud::find_param(params, "loadBalancerId");
    if (!lb || lb->empty()) return std::string("loadBalancerId is required");
    if (indexed_field(params, "backends", "instanceId").empty())
        return std::string("backends.n.instanceId is required");
    for (const auto& w : indexed_field(params, "backends", "weight")) {
        auto v = parse_decimal(w);
        if (!v || *v > 100) return std::string("backends.n.weight must be within 0..100");
    }
    return std::vector<std::string>{*lb};
}

// For the bare-metal services: every lowerCamel parameter named like an id.
std::vector<std::string> bm_resources(const qcloud::param_list& params) {
    std::vector<std::string> out;
    for (const auto& p : params) {
        if (p.name.empty() || !std::islower(static_cast<unsigned char>(p.name[0]))) continue;
        if (p.name.ends_with("Id") && p.name.find('.') == std::string::npos) out.push_back(p.value);
    }
    return out;
}

}  // namespace

task_service::task_service(const config& cfg, stats& st) : cfg_(cfg), stats_(st) {
    reset();
}

bool task_service::serves(std::string_view service) noexcept {
    return find_service(service) != nullptr;
}

bool task_service::knows(std::string_view service, std::string_view action) noexcept {
    const auto* s = find_service(service);
    if (!s) return false;
    if (s->query_action == action) return true;
    for (auto a : s->actions)
        if (a == action) return true;
    return false;
}

void task_service::reset() {
    rng_.seed(cfg_.seed ^ 0x7461736bULL);
    next_id_ = 1000000 + static_cast<std::int64_t>(rng_() % 8000000);
    tasks_.clear();
    order_.clear();
}

json::object task_service::handle(const std::string& service, const std::string& action,
                                  const qcloud::param_list& params, std::int64_t now_ms) {
    const auto* s = find_service(service);
    if (!s) return envelope(6100, "service " + service + " is not available");
    if (s->query_action == action) return query(service, params, now_ms);
    return create(service, action, params, now_ms);
}

json::object task_service::create(const std::string& service, const std::string& action,
                                  const qcloud::param_list& params, std::int64_t now_ms) {
    std::vector<std::string> resources;
    if (service == "lb") {
        auto r = lb_resources(action, params);
        if (auto* msg = std::get_if<std::string>(&r)) return envelope(4000, *msg);
        resources = std::move(std::get<0>(r));
    } else {
        resources = bm_resources(params);
    }
    const auto& oc = cfg_.operation(action);
    std::uniform_int_distribution<std::int64_t> dur(oc.duration.min.count(),
                                                    oc.duration.max.count());
    std::bernoulli_distribution fail(oc.failure_probability);
    auto id = next_id_++;
    for (const auto& r : resources) stats_.on_executed(r, action);
    tasks_.emplace(
        id, task{service, action, std::move(resources), now_ms, now_ms + dur(rng_), fail(rng_)});
    order_.push_back(id);
    auto body = envelope(0);
    body["requestId"] = id;
    return body;
}

int task_service::status(std::int64_t request_id, std::int64_t now_ms) const {
    auto it = tasks_.find(request_id);
    if (it == tasks_.end()) return -1;
    if (now_ms < it->second.done_ms) return 2;
    return it->second.fails ? 1 : 0;
}

json::object task_service::query(const std::string& service, const qcloud::param_list& params,
                                 std::int64_t now_ms) const {
    const auto* raw = qcloud::find_param(params, "requestId");
    if (!raw) return envelope(4000, "requestId is required");
    auto id = parse_decimal(*raw);
    if (!id) return envelope(4000, "requestId must be an integer");
    auto it = tasks_.find(*id);
    if (it == tasks_.end() || it->second.service != service)
        return envelope(unknown_request_id_code, "requestId " + *raw + " does not exist");
    auto body = envelope(0);
    json::object data;
    data["status"] = status(*id, now_ms);
    body["data"] = std::move(data);
    return body;
}

json::array task_service::tasks_json(std::int64_t now_ms) const {
    json::array out;
    for (auto id : order_) {
        const auto& t = tasks_.at(id);
        json::array resources;
        for (const auto& r : t.resources) resources.emplace_back(r);
        int s = status(id, now_ms);
        out.push_back(json::object{{"service", t.service},
                                   {"request_id", std::to_string(id)},
                                   {"action", t.action},
                                   {"resources", std::move(resources)},
                                   {"state", s == 2   ? "running"
                                             : s == 1 ? "failed"
                                                      : "succeeded"},
                                   {"started_at_ms", t.start_ms},
                                   {"done_at_ms", t.done_ms}});
    }
    return out;
}

}  // namespace taskpoller::sim
