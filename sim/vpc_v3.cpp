#include "sim/vpc_v3.hpp"

namespace taskpoller::sim {

namespace json = boost::json;

namespace {
constexpr std::size_t max_client_token = 64;
}  // namespace

vpc_v3_service::vpc_v3_service(const config& cfg, stats& st, cvm_service& cvm)
    : cfg_(cfg), stats_(st), cvm_(cvm) {
    reset();
}

bool vpc_v3_service::knows(std::string_view action) noexcept {
    return action == "AttachNetworkInterface" || action == "DetachNetworkInterface" ||
           action == "DescribeVpcTaskResult";
}

void vpc_v3_service::reset() {
    rng_.seed(cfg_.seed ^ 0x767063ULL);
    tasks_.clear();
    by_request_id_.clear();
    last_task_of_eni_.clear();
}

v3::result vpc_v3_service::handle(const std::string& action, const json::object& params,
                                  const std::string& request_id, std::int64_t now_ms) {
    if (action == "DescribeVpcTaskResult") return describe(params, now_ms);
    return create(action, params, request_id, now_ms);
}

std::string_view vpc_v3_service::status_of(const task& t, std::int64_t now_ms) {
    if (now_ms < t.done_ms) return "RUNNING";
    return t.fails ? "FAILED" : "SUCCESS";
}

std::string vpc_v3_service::attachment(const std::string& eni, std::int64_t now_ms) const {
    auto it = last_task_of_eni_.find(eni);
    if (it == last_task_of_eni_.end()) return {};
    const auto& t = tasks_[it->second];
    std::string instance = t.attached_before;
    if (status_of(t, now_ms) == "SUCCESS")
        instance = t.action == "AttachNetworkInterface" ? t.instance : std::string();
    // An ENI whose instance was terminated is detached [chosen].
    if (!instance.empty() && !cvm_.is_live(instance, now_ms)) instance.clear();
    return instance;
}

v3::result vpc_v3_service::create(const std::string& action, const json::object& params,
                                  const std::string& request_id, std::int64_t now_ms) {
    std::string eni, instance;
    if (auto e = v3::required_string(params, "NetworkInterfaceId", eni)) return {std::move(e), {}};
    if (auto e = v3::required_string(params, "InstanceId", instance)) return {std::move(e), {}};
    if (const auto* t = params.if_contains("ClientToken"); t && !t->is_null()) {
        if (!t->is_string())
            return v3::result::fail("InvalidParameter", "ClientToken must be a string");
        if (t->as_string().size() > max_client_token)
            return v3::result::fail("InvalidParameterValue.TooLong",
                                    "ClientToken is longer than 64 characters");
    }
    if (!eni.starts_with("eni-"))
        return v3::result::fail("InvalidParameterValue.Malformed",
                                "NetworkInterfaceId " + eni + " is malformed");
    if (!cvm_.is_live(instance, now_ms))
        return v3::result::fail("ResourceNotFound", "instance " + instance + " does not exist");
    if (auto it = last_task_of_eni_.find(eni);
        it != last_task_of_eni_.end() && status_of(tasks_[it->second], now_ms) == "RUNNING")
        return v3::result::fail(
            "ResourceInUse",
            "network interface " + eni + " is busy with task " + tasks_[it->second].request_id);
    auto now_on = attachment(eni, now_ms);
    if (action == "AttachNetworkInterface" && !now_on.empty())
        return v3::result::fail("UnsupportedOperation.AttachmentAlreadyExists",
                                "network interface " + eni + " is attached to " + now_on);
    if (action == "DetachNetworkInterface" && now_on != instance)
        return v3::result::fail("UnsupportedOperation.InvalidState",
                                "network interface " + eni + " is not attached to " + instance);

    const auto& oc = cfg_.operation(action);
    std::uniform_int_distribution<std::int64_t> dur(oc.duration.min.count(),
                                                    oc.duration.max.count());
    std::bernoulli_distribution fail(oc.failure_probability);
    auto index = tasks_.size();
    auto done = now_ms + dur(rng_);
    tasks_.push_back({request_id, action, eni, instance, now_on, now_ms, done, fail(rng_)});
    by_request_id_[request_id] = index;
    last_task_of_eni_[eni] = index;
    stats_.on_executed(eni, action);
    return v3::result::ok();
}

std::string vpc_v3_service::status(const std::string& request_id, std::int64_t now_ms) const {
    auto it = by_request_id_.find(request_id);
    return it == by_request_id_.end() ? std::string()
                                      : std::string(status_of(tasks_[it->second], now_ms));
}

v3::result vpc_v3_service::describe(const json::object& params, std::int64_t now_ms) const {
    std::string task_id;
    if (auto e = v3::required_string(params, "TaskId", task_id)) return {std::move(e), {}};
    auto it = by_request_id_.find(task_id);
    if (it == by_request_id_.end())
        return v3::result::fail("ResourceNotFound", "task " + task_id + " does not exist");
    const auto& t = tasks_[it->second];
    auto s = status_of(t, now_ms);
    std::string output = s == "FAILED" ? "simulated failure of " + t.action : std::string();
    return v3::result::ok({{"Status", s}, {"Output", output}, {"Result", json::array{}}});
}

json::array vpc_v3_service::tasks_json(std::int64_t now_ms) const {
    json::array out;
    for (const auto& t : tasks_) {
        auto s = status_of(t, now_ms);
        out.push_back(json::object{{"service", "vpc"},
                                   {"request_id", t.request_id},
                                   {"action", t.action},
                                   {"resources", json::array{json::string(t.eni)}},
                                   {"instance_id", t.instance},
                                   {"state", s == "RUNNING"  ? "running"
                                             : s == "FAILED" ? "failed"
                                                             : "succeeded"},
                                   {"started_at_ms", t.start_ms},
                                   {"done_at_ms", t.done_ms}});
    }
    return out;
}

}  // namespace taskpoller::sim
