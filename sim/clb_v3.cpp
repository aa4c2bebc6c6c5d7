#include "sim/clb_v3.hpp"

#include <algorithm>

namespace taskpoller::sim {

namespace json = boost::json;

namespace {

constexpr std::size_t max_targets = 20;
constexpr std::size_t max_load_balancers = 20;

constexpr std::string_view task_actions[] = {
    "RegisterTargets", "DeregisterTargets", "ModifyTargetWeight", "BatchModifyTargetWeight",
    "CreateListener",  "DeleteListener",    "DeleteLoadBalancer"};

// Targets[1..20]: objects with InstanceId (or EniIp) and Port; Weight 0..100 if given.
std::optional<v3::error> check_targets(const json::object& p, std::string_view where) {
    const auto* t = p.if_contains("Targets");
    std::string name = std::string(where) + "Targets";
    if (!t || t->is_null()) return v3::error{"MissingParameter", name + " is required"};
    if (!t->is_array()) return v3::error{"InvalidParameter", name + " must be an array"};
    const auto& arr = t->as_array();
    if (arr.empty() || arr.size() > max_targets)
        return v3::error{"InvalidParameterValue.Length", name + " must have 1 to 20 elements"};
    for (const auto& e : arr) {
        if (!e.is_object()) return v3::error{"InvalidParameter", name + ".N must be an object"};
        const auto& o = e.as_object();
        std::string id;
        if (v3::required_string(o, "InstanceId", id) && v3::required_string(o, "EniIp", id))
            return v3::error{"MissingParameter", name + ".N.InstanceId is required"};
        std::optional<std::int64_t> port, weight;
        if (auto err = v3::optional_int(o, "Port", 1, 65535, port)) return err;
        if (!port) return v3::error{"MissingParameter", name + ".N.Port is required"};
        if (auto err = v3::optional_int(o, "Weight", 0, 100, weight)) return err;
    }
    return std::nullopt;
}

std::optional<v3::error> check_listener(const json::object& p) {
    std::string listener;
    return v3::required_string(p, "ListenerId", listener);
}

}  // namespace

clb_v3_service::clb_v3_service(const config& cfg, stats& st) : cfg_(cfg), stats_(st) {
    reset();
}

bool clb_v3_service::knows(std::string_view action) noexcept {
    return action == "DescribeTaskStatus" ||
           std::find(std::begin(task_actions), std::end(task_actions), action) !=
               std::end(task_actions);
}

void clb_v3_service::reset() {
    rng_.seed(cfg_.seed ^ 0x636c6233ULL);
    tasks_.clear();
    by_request_id_.clear();
    last_task_of_lb_.clear();
    next_listener_ = rng_() % 1000000;
}

v3::result clb_v3_service::handle(const std::string& action, const json::object& params,
                                  const std::string& request_id, std::int64_t now_ms) {
    if (action == "DescribeTaskStatus") return describe(params, now_ms);
    return create(action, params, request_id, now_ms);
}

v3::result clb_v3_service::create(const std::string& action, const json::object& params,
                                  const std::string& request_id, std::int64_t now_ms) {
    std::vector<std::string> lbs;
    if (action == "DeleteLoadBalancer") {
        if (auto e = v3::string_list(params, "LoadBalancerIds", 1, max_load_balancers, lbs,
                                     "InvalidParameterValue.Length"))
            return {std::move(e), {}};
    } else {
        std::string lb;
        if (auto e = v3::required_string(params, "LoadBalancerId", lb)) return {std::move(e), {}};
        lbs.push_back(std::move(lb));
    }
    std::optional<std::int64_t> weight;
    std::size_t listeners = 0;
    if (action == "RegisterTargets" || action == "DeregisterTargets" ||
        action == "ModifyTargetWeight") {
        if (auto e = check_listener(params)) return {std::move(e), {}};
        if (auto e = check_targets(params, "")) return {std::move(e), {}};
        if (action == "ModifyTargetWeight")
            if (auto e = v3::optional_int(params, "Weight", 0, 100, weight))
                return {std::move(e), {}};
    } else if (action == "BatchModifyTargetWeight") {
        const auto* list = params.if_contains("ModifyList");
        if (!list || list->is_null())
            return v3::result::fail("MissingParameter", "ModifyList is required");
        if (!list->is_array())
            return v3::result::fail("InvalidParameter", "ModifyList must be an array");
        if (list->as_array().empty() || list->as_array().size() > max_targets)
            return v3::result::fail("InvalidParameterValue.Length",
                                    "ModifyList must have 1 to 20 elements");
        for (const auto& m : list->as_array()) {
            if (!m.is_object())
                return v3::result::fail("InvalidParameter", "ModifyList.N must be an object");
            if (auto e = check_listener(m.as_object())) return {std::move(e), {}};
            if (auto e = check_targets(m.as_object(), "ModifyList.N.")) return {std::move(e), {}};
            if (auto e = v3::optional_int(m.as_object(), "Weight", 0, 100, weight))
                return {std::move(e), {}};
        }
    } else if (action == "CreateListener") {
        const auto* ports = params.if_contains("Ports");
        if (!ports || ports->is_null())
            return v3::result::fail("MissingParameter", "Ports is required");
        if (!ports->is_array() || ports->as_array().empty() || ports->as_array().size() > 50)
            return v3::result::fail("InvalidParameter", "Ports must be an array of 1 to 50 ports");
        for (const auto& port : ports->as_array())
            if (!port.is_int64() || port.as_int64() < 1 || port.as_int64() > 65535)
                return v3::result::fail("InvalidParameterValue", "Ports.N must be within 1..65535");
        std::string protocol;
        if (auto e = v3::required_string(params, "Protocol", protocol)) return {std::move(e), {}};
        if (auto e = v3::optional_enum(params, "Protocol",
                                       {"TCP", "UDP", "HTTP", "HTTPS", "TCP_SSL", "QUIC"}))
            return {std::move(e), {}};
        listeners = ports->as_array().size();
    } else if (action == "DeleteListener") {
        if (auto e = check_listener(params)) return {std::move(e), {}};
    }

    // Whole call: every load balancer must exist and be idle, else nothing runs.
    for (const auto& lb : lbs) {
        auto it = last_task_of_lb_.find(lb);
        bool deleted = it != last_task_of_lb_.end() &&
                       tasks_[it->second].action == "DeleteLoadBalancer" &&
                       status_of(tasks_[it->second], now_ms) == 0;
        if (!lb.starts_with("lb-") || deleted)
            return v3::result::fail("InvalidParameter.LBIdNotFound",
                                    "load balancer " + lb + " does not exist");
    }
    for (const auto& lb : lbs) {
        auto it = last_task_of_lb_.find(lb);
        if (it != last_task_of_lb_.end() && status_of(tasks_[it->second], now_ms) == 2)
            return v3::result::fail(
                "FailedOperation.ResourceInOperating",
                "load balancer " + lb + " is busy with task " + tasks_[it->second].request_id);
    }

    const auto& oc = cfg_.operation(action);
    std::uniform_int_distribution<std::int64_t> dur(oc.duration.min.count(),
                                                    oc.duration.max.count());
    std::bernoulli_distribution fail(oc.failure_probability);
    auto index = tasks_.size();
    for (const auto& lb : lbs) {
        last_task_of_lb_[lb] = index;
        stats_.on_executed(lb, action);
    }
    auto done = now_ms + dur(rng_);
    tasks_.push_back({request_id, action, std::move(lbs), now_ms, done, fail(rng_)});
    by_request_id_[request_id] = index;

    json::object fields;
    if (action == "CreateListener") {
        static constexpr char alphabet[] = "0123456789abcdefghijklmnopqrstuvwxyz";
        json::array ids;
        for (std::size_t i = 0; i < listeners; ++i) {
            std::string id = "lbl-";
            auto n = next_listener_++;
            for (int k = 0; k < 8; ++k, n /= 36) id += alphabet[n % 36];
            ids.emplace_back(id);
        }
        fields["ListenerIds"] = std::move(ids);
    }
    return v3::result::ok(std::move(fields));
}

int clb_v3_service::status_of(const task& t, std::int64_t now_ms) const {
    if (now_ms < t.done_ms) return 2;
    return t.fails ? 1 : 0;
}

int clb_v3_service::status(const std::string& request_id, std::int64_t now_ms) const {
    auto it = by_request_id_.find(request_id);
    return it == by_request_id_.end() ? -1 : status_of(tasks_[it->second], now_ms);
}

v3::result clb_v3_service::describe(const json::object& params, std::int64_t now_ms) const {
    std::string task_id;
    if (auto e = v3::required_string(params, "TaskId", task_id)) return {std::move(e), {}};
    auto it = by_request_id_.find(task_id);
    if (it == by_request_id_.end())
        return v3::result::fail("ResourceNotFound", "task " + task_id + " does not exist");
    const auto& t = tasks_[it->second];
    int s = status_of(t, now_ms);
    json::array lbs;
    for (const auto& lb : t.load_balancers) lbs.emplace_back(lb);
    json::object fields{{"Status", s}, {"Message", nullptr}, {"LoadBalancerIds", std::move(lbs)}};
    if (s == 1) fields["Message"] = "simulated failure of " + t.action;
    return v3::result::ok(std::move(fields));
}

json::array clb_v3_service::tasks_json(std::int64_t now_ms) const {
    json::array out;
    for (const auto& t : tasks_) {
        json::array resources;
        for (const auto& lb : t.load_balancers) resources.emplace_back(lb);
        int s = status_of(t, now_ms);
        out.push_back(json::object{{"service", "clb"},
                                   {"request_id", t.request_id},
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
