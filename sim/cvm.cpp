#include "sim/cvm.hpp"

#include <algorithm>
#include <array>
#include <set>

#include "sim/action_params.hpp"
#include "sim/reply.hpp"

namespace taskpoller::sim {

namespace json = boost::json;

struct cvm_rule {
    std::string_view action;
    std::array<int, 2> from;  // allowed starting states (a 0 slot is unused)
    int via;
    int target;
};

namespace {

using namespace cvm_status;
constexpr std::size_t max_ids_per_call = 100;

constexpr cvm_rule rules[] = {
    {"StartInstances", {stopped, 0}, starting, running},
    {"StopInstances", {running, 0}, stopping, stopped},
    {"RestartInstances", {running, 0}, rebooting, running},
    {"ResetInstancePassword", {stopped, 0}, resetting_password, stopped},
    {"ResetInstances", {running, stopped}, reinstalling, running},
};

const cvm_rule* find_rule(std::string_view action) {
    for (const auto& r : rules)
        if (r.action == action) return &r;
    return nullptr;
}
}  // namespace

cvm_service::cvm_service(const config& cfg, stats& st) : cfg_(cfg), stats_(st) {
    reset();
}

bool cvm_service::knows(std::string_view action) noexcept {
    return action == "DescribeInstances" || find_rule(action) != nullptr;
}

void cvm_service::reset() {
    rng_.seed(cfg_.seed);
    next_request_id_ = 1000000000000ULL + rng_() % 1000000000000ULL;
    instances_.clear();
    index_.clear();
    ops_.clear();
    static constexpr char alphabet[] = "0123456789abcdefghijklmnopqrstuvwxyz";
    auto total = static_cast<std::size_t>(cfg_.instances.running + cfg_.instances.stopped);
    while (instances_.size() < total) {
        std::string id = "ins-";
        for (int i = 0; i < 8; ++i) id += alphabet[rng_() % 36];
        if (index_.contains(id)) continue;
        int status = instances_.size() < static_cast<std::size_t>(cfg_.instances.running) ? running
                                                                                          : stopped;
        index_.emplace(id, instances_.size());
        instances_.push_back({std::move(id), status, std::nullopt});
    }
}

cvm_service::instance* cvm_service::find(const std::string& id) {
    auto it = index_.find(id);
    return it == index_.end() ? nullptr : &instances_[it->second];
}

void cvm_service::settle(instance& in, std::int64_t now_ms) {
    if (!in.op) return;
    const auto& op = ops_[*in.op];
    if (now_ms < op.done_ms) return;
    in.status = op.fails ? faulty : op.target;
    in.op.reset();
}

int cvm_service::shown(instance& in, std::int64_t now_ms) {
    settle(in, now_ms);
    if (!in.op) return in.status;
    const auto& op = ops_[*in.op];
    return now_ms < op.stale_until_ms ? op.from : op.via;
}

std::optional<std::string> cvm_service::refusal(instance& in, const cvm_rule& r,
                                                std::int64_t now_ms) {
    settle(in, now_ms);
    if (in.op)
        return "instance " + in.id + " is busy with " + ops_[*in.op].action + " (state " +
               std::to_string(ops_[*in.op].via) + ")";
    if (std::find(r.from.begin(), r.from.end(), in.status) != r.from.end()) return std::nullopt;
    std::string need = std::to_string(r.from[0]);
    if (r.from[1] != 0) need += " or " + std::to_string(r.from[1]);
    return "instance " + in.id + " is in state " + std::to_string(in.status) + "; " +
           std::string(r.action) + " needs state " + need;
}

std::string cvm_service::start_operation(instance& in, const cvm_rule& r, std::int64_t now_ms) {
    const auto& oc = cfg_.operation(std::string(r.action));
    std::uniform_int_distribution<std::int64_t> dur(oc.duration.min.count(),
                                                    oc.duration.max.count());
    std::bernoulli_distribution fail(oc.failure_probability);
    operation op{std::string(r.action),
                 std::to_string(next_request_id_++),
                 in.id,
                 in.status,
                 r.via,
                 r.target,
                 now_ms,
                 now_ms + cfg_.stale_window.count(),
                 now_ms + dur(rng_),
                 fail(rng_)};
    in.op = ops_.size();
    ops_.push_back(std::move(op));
    stats_.on_executed(in.id, std::string(r.action));
    return ops_.back().request_id;
}

json::object cvm_service::handle(const std::string& action, const qcloud::param_list& params,
                                 std::int64_t now_ms) {
    if (action == "DescribeInstances") return handle_describe(params, now_ms);
    if (action == "ResetInstances") return handle_reset(params, now_ms);
    const auto* r = find_rule(action);
    if (!r) return envelope(4000, "unknown action " + action);
    return handle_batch(*r, params, now_ms);
}

json::object cvm_service::handle_batch(const cvm_rule& r, const qcloud::param_list& params,
                                       std::int64_t now_ms) {
    auto ids = indexed_values(params, "instanceIds");
    if (ids.empty()) return envelope(4000, "instanceIds is required");
    if (ids.size() > max_ids_per_call) return envelope(4000, "at most 100 instanceIds per call");
    if (const auto* force = qcloud::find_param(params, "forceStop");
        force && *force != "0" && *force != "1")
        return envelope(4000, "forceStop must be 0 or 1");
    if (r.action == "ResetInstancePassword") {
        const auto* pw = qcloud::find_param(params, "password");
        if (!pw || pw->empty()) return envelope(4000, "password is required");
    }
    json::object detail;
    std::size_t failed = 0;
    for (const auto& id : ids) {
        if (detail.contains(id)) continue;  // a repeated id runs once
        auto* in = find(id);
        std::optional<std::string> why;
        if (!in)
            why = "(InvalidInstanceId.NotFound) instance " + id + " does not exist";
        else
            why = refusal(*in, r, now_ms);
        if (why) {
            ++failed;
            detail[id] = {{"code", in ? 5100 : 5000}, {"message", *why}};
        } else {
            detail[id] = {
                {"code", 0}, {"message", ""}, {"requestId", start_operation(*in, r, now_ms)}};
        }
    }
    int outer = failed == 0 ? 0 : failed == detail.size() ? 5100 : 5400;
    auto body = envelope(outer, outer == 0      ? ""
                                : outer == 5100 ? "every instance failed"
                                                : "some instances failed");
    body["detail"] = std::move(detail);
    return body;
}

json::object cvm_service::handle_reset(const qcloud::param_list& params, std::int64_t now_ms) {
    const auto* id = qcloud::find_param(params, "instanceId");
    if (!id || id->empty()) return envelope(4000, "instanceId is required");
    auto* in = find(*id);
    if (!in)
        return envelope(5000, "(InvalidInstanceId.NotFound) instance " + *id + " does not exist");
    if (auto why = refusal(*in, *find_rule("ResetInstances"), now_ms)) return envelope(5100, *why);
    auto request_id = start_operation(*in, *find_rule("ResetInstances"), now_ms);
    auto body = envelope(0);
    body["requestId"] = std::stoll(request_id);
    return body;
}

json::object cvm_service::handle_describe(const qcloud::param_list& params, std::int64_t now_ms) {
    bool bad = false;
    auto offset = decimal_param(params, "offset", bad).value_or(0);
    auto limit = decimal_param(params, "limit", bad).value_or(20);
    if (bad || limit < 1 || limit > 100)
        return envelope(4000, "offset must be >= 0 and limit within 1..100");
    std::vector<instance*> matched;
    auto ids = indexed_values(params, "instanceIds");
    if (ids.empty()) {
        for (auto& in : instances_) matched.push_back(&in);
    } else {
        std::set<std::string> seen;
        for (const auto& id : ids)
            if (auto* in = find(id); in && seen.insert(id).second) matched.push_back(in);
    }
    json::array set;
    for (auto i = static_cast<std::size_t>(
             std::min<std::int64_t>(offset, static_cast<std::int64_t>(matched.size())));
         i < matched.size() && set.size() < static_cast<std::size_t>(limit); ++i) {
        auto* in = matched[i];
        set.push_back(json::object{{"unInstanceId", in->id},
                                   {"instanceName", "sim-" + in->id.substr(4)},
                                   {"status", shown(*in, now_ms)}});
    }
    auto body = envelope(0);
    body["totalCount"] = matched.size();
    body["instanceSet"] = std::move(set);
    return body;
}

std::vector<std::string> cvm_service::ids() const {
    std::vector<std::string> out;
    for (const auto& in : instances_) out.push_back(in.id);
    return out;
}

std::optional<int> cvm_service::shown_status(const std::string& id, std::int64_t now_ms) {
    auto* in = find(id);
    if (!in) return std::nullopt;
    return shown(*in, now_ms);
}

std::optional<int> cvm_service::true_status(const std::string& id, std::int64_t now_ms) {
    auto* in = find(id);
    if (!in) return std::nullopt;
    settle(*in, now_ms);
    return in->op ? ops_[*in->op].via : in->status;
}

json::array cvm_service::instances_json(std::int64_t now_ms) {
    json::array out;
    for (auto& in : instances_) {
        json::object o{{"id", in.id}, {"shown_status", shown(in, now_ms)}};
        o["status"] = in.op ? ops_[*in.op].via : in.status;
        if (in.op) o["operation"] = ops_[*in.op].action;
        out.push_back(std::move(o));
    }
    return out;
}

json::array cvm_service::tasks_json(std::int64_t now_ms) {
    json::array out;
    for (const auto& op : ops_) {
        const char* state = now_ms < op.done_ms ? "running" : op.fails ? "failed" : "succeeded";
        out.push_back(json::object{{"service", "cvm"},
                                   {"request_id", op.request_id},
                                   {"action", op.action},
                                   {"resources", json::array{json::value(op.instance_id)}},
                                   {"state", state},
                                   {"started_at_ms", op.start_ms},
                                   {"done_at_ms", op.done_ms}});
    }
    return out;
}

}  // namespace taskpoller::sim
