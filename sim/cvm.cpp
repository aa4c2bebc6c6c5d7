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
    client_tokens_.clear();
    auto total = static_cast<std::size_t>(cfg_.instances.running + cfg_.instances.stopped);
    while (instances_.size() < total) {
        auto id = new_instance_id();
        int status = instances_.size() < static_cast<std::size_t>(cfg_.instances.running) ? running
                                                                                          : stopped;
        index_.emplace(id, instances_.size());
        instances_.push_back({std::move(id), status, std::nullopt, std::nullopt});
    }
}

std::string cvm_service::new_instance_id() {
    static constexpr char alphabet[] = "0123456789abcdefghijklmnopqrstuvwxyz";
    for (;;) {
        std::string id = "ins-";
        for (int i = 0; i < 8; ++i) id += alphabet[rng_() % 36];
        if (!index_.contains(id)) return id;
    }
}

cvm_service::instance* cvm_service::find(const std::string& id) {
    auto it = index_.find(id);
    return it == index_.end() ? nullptr : &instances_[it->second];
}

cvm_service::instance* cvm_service::find_live(const std::string& id, std::int64_t now_ms) {
    auto* in = find(id);
    if (!in) return nullptr;
    settle(*in, now_ms);
    return in->status == terminated ? nullptr : in;
}

void cvm_service::settle(instance& in, std::int64_t now_ms) {
    if (!in.op) return;
    const auto& op = ops_[*in.op];
    if (now_ms < op.done_ms) return;
    in.status = op.fails ? op.fail_status : op.target;
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
    start(in, r.action, r.via, r.target, faulty, std::to_string(next_request_id_++), now_ms);
    return ops_.back().request_id;
}

void cvm_service::start(instance& in, std::string_view action, int via, int target, int fail_status,
                        std::string request_id, std::int64_t now_ms) {
    const auto& oc = cfg_.operation(std::string(action));
    std::uniform_int_distribution<std::int64_t> dur(oc.duration.min.count(),
                                                    oc.duration.max.count());
    std::bernoulli_distribution fail(oc.failure_probability);
    operation op{std::string(action),
                 std::move(request_id),
                 in.id,
                 in.status,
                 via,
                 target,
                 fail_status,
                 now_ms,
                 now_ms + cfg_.stale_window.count(),
                 now_ms + dur(rng_),
                 fail(rng_),
                 in.last_op};
    in.op = ops_.size();
    in.last_op = ops_.size();
    ops_.push_back(std::move(op));
    stats_.on_executed(in.id, std::string(action));
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
        auto* in = find_live(id, now_ms);
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
    auto* in = find_live(*id, now_ms);
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
        for (auto& in : instances_)
            if (find_live(in.id, now_ms)) matched.push_back(&in);
    } else {
        std::set<std::string> seen;
        for (const auto& id : ids)
            if (auto* in = find_live(id, now_ms); in && seen.insert(id).second)
                matched.push_back(in);
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
        o["instance_state"] = v3::instance_state_name(in.op ? ops_[*in.op].via : in.status,
                                                      in.op ? ops_[*in.op].from : 0);
        o["shown_instance_state"] = shown_state_v3(in, now_ms);
        if (in.op) o["operation"] = ops_[*in.op].action;
        if (in.last_op) {
            o["latest_operation"] = latest_operation_v3(in, now_ms, false);
        }
        out.push_back(std::move(o));
    }
    return out;
}

json::array cvm_service::tasks_json(std::int64_t now_ms) {
    json::array out;
    // The operations of one call share its request id and are adjacent in ops_.
    for (std::size_t i = 0; i < ops_.size();) {
        const auto& first = ops_[i];
        json::array resources;
        bool running = false, failed = false;
        std::int64_t done = first.done_ms;
        std::size_t j = i;
        for (; j < ops_.size() && ops_[j].request_id == first.request_id; ++j) {
            resources.emplace_back(ops_[j].instance_id);
            running = running || now_ms < ops_[j].done_ms;
            failed = failed || ops_[j].fails;
            done = std::max(done, ops_[j].done_ms);
        }
        const char* state = running ? "running" : failed ? "failed" : "succeeded";
        out.push_back(json::object{{"service", "cvm"},
                                   {"request_id", first.request_id},
                                   {"action", first.action},
                                   {"resources", std::move(resources)},
                                   {"state", state},
                                   {"started_at_ms", first.start_ms},
                                   {"done_at_ms", done}});
        i = j;
    }
    return out;
}

// ---- API 3.0 (cvm 2017-03-12) ----

namespace {

// 2.0 action names as 3.0 reports them in LatestOperation.
std::string_view v3_action_name(std::string_view action) {
    if (action == "RestartInstances") return "RebootInstances";
    if (action == "ResetInstancePassword") return "ResetInstancesPassword";
    if (action == "ResetInstances") return "ResetInstance";
    return action;
}

constexpr std::string_view v3_mutations[] = {"StartInstances", "StopInstances", "RebootInstances",
                                             "ResetInstancesPassword", "TerminateInstances"};

std::string join_ids(const std::vector<std::string>& ids) {
    std::string out;
    for (const auto& id : ids) out += (out.empty() ? "" : ", ") + id;
    return out;
}

}  // namespace

bool cvm_service::knows_v3(std::string_view action) noexcept {
    if (action == "DescribeInstances" || action == "RunInstances") return true;
    return std::find(std::begin(v3_mutations), std::end(v3_mutations), action) !=
           std::end(v3_mutations);
}

std::string_view cvm_service::shown_state_v3(instance& in, std::int64_t now_ms) {
    settle(in, now_ms);
    if (in.last_op && now_ms < ops_[*in.last_op].stale_until_ms)
        return v3::instance_state_name(ops_[*in.last_op].from, 0);
    if (in.op) return v3::instance_state_name(ops_[*in.op].via, ops_[*in.op].from);
    return v3::instance_state_name(in.status, 0);
}

json::object cvm_service::latest_operation_v3(const instance& in, std::int64_t now_ms,
                                              bool stale) const {
    auto idx = in.last_op;
    if (stale && idx && now_ms < ops_[*idx].stale_until_ms) idx = ops_[*idx].prev;
    json::object o{{"LatestOperation", nullptr},
                   {"LatestOperationState", nullptr},
                   {"LatestOperationRequestId", nullptr},
                   {"LatestOperationErrorMsg", nullptr}};
    if (!idx) return o;
    const auto& op = ops_[*idx];
    bool done = now_ms >= op.done_ms;
    o["LatestOperation"] = v3_action_name(op.action);
    o["LatestOperationState"] = !done ? "OPERATING" : op.fails ? "FAILED" : "SUCCESS";
    o["LatestOperationRequestId"] = op.request_id;
    if (done && op.fails) o["LatestOperationErrorMsg"] = "simulated failure of " + op.action;
    return o;
}

std::optional<std::string> cvm_service::shown_instance_state(const std::string& id,
                                                             std::int64_t now_ms) {
    auto* in = find(id);
    if (!in) return std::nullopt;
    return std::string(shown_state_v3(*in, now_ms));
}

v3::result cvm_service::handle_v3(const std::string& action, const json::object& params,
                                  const std::string& request_id, std::int64_t now_ms) {
    if (action == "DescribeInstances") return describe_v3(params, now_ms);
    if (action == "RunInstances") return run_v3(params, request_id, now_ms);
    return mutate_v3(action, params, request_id, now_ms);
}

v3::result cvm_service::run_v3(const json::object& params, const std::string& request_id,
                               std::int64_t now_ms) {
    std::optional<std::int64_t> count;
    if (auto e = v3::optional_int(params, "InstanceCount", 1, 100, count))
        return {std::move(e), {}};
    std::string token;
    if (const auto* t = params.if_contains("ClientToken"); t && !t->is_null()) {
        if (!t->is_string())
            return v3::result::fail("InvalidParameter", "ClientToken must be a string");
        token = t->as_string();
        if (token.size() > 64)
            return v3::result::fail("InvalidClientToken.TooLong",
                                    "ClientToken is longer than 64 characters");
    }
    bool dry_run = false;
    if (auto e = v3::optional_bool(params, "DryRun", dry_run)) return {std::move(e), {}};

    auto id_set = [](const std::vector<std::string>& ids) {
        json::array out;
        for (const auto& id : ids) out.emplace_back(id);
        return out;
    };
    if (!token.empty()) {
        auto it = client_tokens_.find(token);
        if (it != client_tokens_.end() && now_ms - it->second.at_ms >= client_token_ttl_ms)
            client_tokens_.erase(it);  // forgotten after 24 h [chosen]
        else if (it != client_tokens_.end()) {
            // A replay: the same instances, nothing created; other parameters: refused.
            if (it->second.params != params)
                return v3::result::fail("UnsupportedOperation.IdempotentParameterMismatch",
                                        "ClientToken " + token + " was used with other parameters");
            return v3::result::ok({{"InstanceIdSet", id_set(it->second.instance_ids)}});
        }
    }
    if (dry_run) return v3::result::fail("DryRunOperation", "the request would have succeeded");

    std::vector<std::string> ids;
    for (std::int64_t i = 0; i < count.value_or(1); ++i) {
        auto id = new_instance_id();
        index_.emplace(id, instances_.size());
        instances_.push_back({id, pending, std::nullopt, std::nullopt});
        start(instances_.back(), "RunInstances", pending, running, launch_failed, request_id,
              now_ms);
        ids.push_back(std::move(id));
    }
    if (!token.empty()) client_tokens_[token] = {params, ids, now_ms};
    return v3::result::ok({{"InstanceIdSet", id_set(ids)}});
}

v3::result cvm_service::mutate_v3(const std::string& action, const json::object& params,
                                  const std::string& request_id, std::int64_t now_ms) {
    std::vector<std::string> ids;
    if (auto e = v3::string_list(params, "InstanceIds", 1, max_ids_per_call, ids))
        return {std::move(e), {}};

    // Action parameters, and which states each action starts from.
    std::vector<int> from;
    int via = 0, target = 0;
    bool force_stop = false, flag = false;
    if (action == "StartInstances") {
        from = {stopped};
        via = starting;
        target = running;
    } else if (action == "StopInstances") {
        if (auto e = v3::optional_enum(params, "StopType", {"SOFT", "HARD", "SOFT_FIRST"}))
            return {std::move(e), {}};
        if (auto e = v3::optional_enum(params, "StoppedMode", {"KEEP_CHARGING", "STOP_CHARGING"}))
            return {std::move(e), {}};
        if (auto e = v3::optional_bool(params, "ForceStop", flag)) return {std::move(e), {}};
        from = {running};
        via = stopping;
        target = stopped;
    } else if (action == "RebootInstances") {
        if (auto e = v3::optional_enum(params, "StopType", {"SOFT", "HARD", "SOFT_FIRST"}))
            return {std::move(e), {}};
        if (auto e = v3::optional_bool(params, "ForceReboot", flag)) return {std::move(e), {}};
        from = {running};
        via = rebooting;
        target = running;
    } else if (action == "ResetInstancesPassword") {
        std::string password;
        if (auto e = v3::required_string(params, "Password", password)) return {std::move(e), {}};
        if (const auto* u = params.if_contains("UserName"); u && !u->is_string() && !u->is_null())
            return v3::result::fail("InvalidParameter", "UserName must be a string");
        if (auto e = v3::optional_bool(params, "ForceStop", force_stop)) return {std::move(e), {}};
        from = force_stop ? std::vector<int>{stopped, running} : std::vector<int>{stopped};
        via = resetting_password;
        target = 0;  // back to where it started
    } else if (action == "TerminateInstances") {
        if (auto e = v3::optional_bool(params, "ReleaseAddress", flag)) return {std::move(e), {}};
        if (auto e = v3::optional_bool(params, "ReleasePrepaidDataDisks", flag))
            return {std::move(e), {}};
        from = {running, stopped, faulty, launch_failed};
        via = terminating;
        target = terminated;
    } else {
        return v3::result::fail("InvalidAction", "unknown action " + action);
    }

    // Whole-call checks: any refusal refuses every id and runs nothing.
    std::vector<instance*> targets;
    std::vector<std::string> missing;
    for (const auto& id : ids) {
        auto* in = find_live(id, now_ms);
        if (!in)
            missing.push_back(id);
        else
            targets.push_back(in);
    }
    if (!missing.empty())
        return v3::result::fail("InvalidInstanceId.NotFound",
                                "instances do not exist: " + join_ids(missing));
    for (auto* in : targets)
        if (in->op)
            return v3::result::fail("OperationDenied.InstanceOperationInProgress",
                                    "instance " + in->id + " has an operation in progress: " +
                                        std::string(v3_action_name(ops_[*in->op].action)));
    for (auto* in : targets) {
        if (std::find(from.begin(), from.end(), in->status) != from.end()) continue;
        auto state = v3::instance_state_name(in->status, 0);
        return v3::result::fail(v3::instance_state_code(state),
                                "instance " + in->id + " is " + std::string(state) + "; " + action +
                                    " cannot run in this state");
    }
    for (auto* in : targets)
        start(*in, action, via, target == 0 ? in->status : target, in->status, request_id, now_ms);
    return v3::result::ok();
}

v3::result cvm_service::describe_v3(const json::object& params, std::int64_t now_ms) {
    std::optional<std::int64_t> offset, limit;
    if (auto e = v3::optional_int(params, "Offset", 0, 1'000'000'000, offset))
        return {std::move(e), {}};
    if (auto e = v3::optional_int(params, "Limit", 1, 100, limit)) return {std::move(e), {}};
    const auto* ids_value = params.if_contains("InstanceIds");
    const auto* filters = params.if_contains("Filters");
    bool has_ids = ids_value && !ids_value->is_null();
    bool has_filters = filters && !filters->is_null();
    if (has_ids && has_filters)
        return v3::result::fail("InvalidParameterCombination",
                                "InstanceIds and Filters cannot be given together");

    std::vector<instance*> matched;
    if (has_ids) {
        std::vector<std::string> ids;
        if (auto e = v3::string_list(params, "InstanceIds", 0, max_ids_per_call, ids))
            return {std::move(e), {}};
        for (const auto& id : ids)
            if (auto* in = find_live(id, now_ms)) matched.push_back(in);
    } else {
        // Filters: instance-id and instance-state (values OR-ed, filters AND-ed).
        std::vector<std::pair<std::string, std::vector<std::string>>> wanted;
        if (has_filters) {
            if (!filters->is_array())
                return v3::result::fail("InvalidParameter", "Filters must be an array");
            for (const auto& f : filters->as_array()) {
                std::string name;
                std::vector<std::string> values;
                if (!f.is_object())
                    return v3::result::fail("InvalidParameter", "Filters.N must be an object");
                if (auto e = v3::required_string(f.as_object(), "Name", name))
                    return {std::move(e), {}};
                if (auto e = v3::string_list(f.as_object(), "Values", 1, 100, values))
                    return {std::move(e), {}};
                if (name != "instance-id" && name != "instance-state")
                    return v3::result::fail("InvalidFilter", "unsupported filter " + name);
                wanted.emplace_back(std::move(name), std::move(values));
            }
        }
        for (auto& in : instances_) {
            if (!find_live(in.id, now_ms)) continue;
            bool ok = true;
            for (const auto& [name, values] : wanted) {
                std::string v =
                    name == "instance-id" ? in.id : std::string(shown_state_v3(in, now_ms));
                ok = ok && std::find(values.begin(), values.end(), v) != values.end();
            }
            if (ok) matched.push_back(&in);
        }
    }

    // Limit defaults to 20 and also cuts an InstanceIds list: a client that asks for more ids
    // without Limit gets the first 20 (TotalCount still counts every match).
    auto first = static_cast<std::size_t>(
        std::min<std::int64_t>(offset.value_or(0), static_cast<std::int64_t>(matched.size())));
    auto count = static_cast<std::size_t>(limit.value_or(20));
    json::array set;
    for (auto i = first; i < matched.size() && set.size() < count; ++i) {
        auto* in = matched[i];
        json::object o{{"InstanceId", in->id},
                       {"InstanceName", "sim-" + in->id.substr(4)},
                       {"InstanceChargeType", "POSTPAID_BY_HOUR"},
                       {"InstanceState", shown_state_v3(*in, now_ms)}};
        for (auto& kv : latest_operation_v3(*in, now_ms, true)) o[kv.key()] = kv.value();
        set.push_back(std::move(o));
    }
    return v3::result::ok({{"TotalCount", matched.size()}, {"InstanceSet", std::move(set)}});
}

}  // namespace taskpoller::sim
