#include "sim/cbs_v3.hpp"

#include <algorithm>

namespace taskpoller::sim {

namespace json = boost::json;

namespace {

constexpr std::size_t max_disks_per_call = 10;
constexpr std::size_t max_describe_ids = 100;

constexpr std::string_view unattached = "UNATTACHED", attaching = "ATTACHING",
                           attached = "ATTACHED", detaching = "DETACHING", deleted = "DELETED";

std::string join(const std::vector<std::string>& ids) {
    std::string out;
    for (const auto& id : ids) out += (out.empty() ? "" : ", ") + id;
    return out;
}

}  // namespace

cbs_v3_service::cbs_v3_service(const config& cfg, stats& st, cvm_service& cvm)
    : cfg_(cfg), stats_(st), cvm_(cvm) {
    reset();
}

bool cbs_v3_service::knows(std::string_view action) noexcept {
    return action == "AttachDisks" || action == "DetachDisks" || action == "DescribeDisks";
}

void cbs_v3_service::reset() {
    rng_.seed(cfg_.seed ^ 0x636273ULL);
    disks_.clear();
    index_.clear();
    ops_.clear();
    static constexpr char alphabet[] = "0123456789abcdefghijklmnopqrstuvwxyz";
    auto instances = cvm_.ids();
    auto attached_count = instances.empty() ? 0 : static_cast<std::size_t>(cfg_.disks.attached);
    auto total = attached_count + static_cast<std::size_t>(cfg_.disks.unattached);
    while (disks_.size() < total) {
        std::string id = "disk-";
        for (int i = 0; i < 8; ++i) id += alphabet[rng_() % 36];
        if (index_.contains(id)) continue;
        disk d{std::move(id), {}, false, false, std::nullopt, std::nullopt};
        if (disks_.size() < attached_count)
            d.instance = instances[disks_.size() % instances.size()];
        index_.emplace(d.id, disks_.size());
        disks_.push_back(std::move(d));
    }
}

cbs_v3_service::disk* cbs_v3_service::find(const std::string& id) {
    auto it = index_.find(id);
    return it == index_.end() ? nullptr : &disks_[it->second];
}

std::optional<v3::result> cbs_v3_service::find_all_live(const std::vector<std::string>& ids,
                                                        std::int64_t now_ms,
                                                        std::vector<disk*>& out) {
    std::vector<std::string> missing;
    for (const auto& id : ids) {
        if (auto* d = find_live(id, now_ms))
            out.push_back(d);
        else
            missing.push_back(id);
    }
    if (missing.empty()) return std::nullopt;
    return v3::result::fail("InvalidDiskId.NotFound", "disks do not exist: " + join(missing));
}

cbs_v3_service::disk* cbs_v3_service::find_live(const std::string& id, std::int64_t now_ms) {
    auto* d = find(id);
    if (!d) return nullptr;
    settle(*d, now_ms);
    return d->deleted ? nullptr : d;
}

void cbs_v3_service::settle(disk& d, std::int64_t now_ms) {
    if (d.op && now_ms >= ops_[*d.op].done_ms) {
        const auto& op = ops_[*d.op];
        d.instance = op.fails ? op.from_instance : op.to_instance;
        d.delete_with_instance =
            op.fails ? op.delete_with_instance_before : op.delete_with_instance_after;
        d.op.reset();
    }
    // A resting disk whose instance was terminated is detached, or deleted with it [chosen].
    if (!d.op && !d.deleted && !d.instance.empty() && !cvm_.is_live(d.instance, now_ms)) {
        d.deleted = d.delete_with_instance;
        d.instance.clear();
    }
}

cbs_v3_service::view cbs_v3_service::true_view(disk& d, std::int64_t now_ms) {
    settle(d, now_ms);
    if (d.deleted) return {deleted, {}};
    if (!d.op) return {d.instance.empty() ? unattached : attached, d.instance};
    const auto& op = ops_[*d.op];
    // ATTACHING names the instance it joins, DETACHING the one it leaves [chosen].
    return op.action == "AttachDisks" ? view{attaching, op.to_instance}
                                      : view{detaching, op.from_instance};
}

cbs_v3_service::view cbs_v3_service::shown_view(disk& d, std::int64_t now_ms) {
    settle(d, now_ms);
    if (!d.deleted && d.last_op && now_ms < ops_[*d.last_op].stale_until_ms) {
        const auto& op = ops_[*d.last_op];
        return {op.from_instance.empty() ? unattached : attached, op.from_instance};
    }
    return true_view(d, now_ms);
}

std::optional<std::string> cbs_v3_service::shown_state(const std::string& id, std::int64_t now_ms) {
    auto* d = find(id);
    if (!d) return std::nullopt;
    return std::string(shown_view(*d, now_ms).state);
}

std::optional<std::string> cbs_v3_service::true_state(const std::string& id, std::int64_t now_ms) {
    auto* d = find(id);
    if (!d) return std::nullopt;
    return std::string(true_view(*d, now_ms).state);
}

std::vector<std::string> cbs_v3_service::ids() const {
    std::vector<std::string> out;
    for (const auto& d : disks_) out.push_back(d.id);
    return out;
}

v3::result cbs_v3_service::handle(const std::string& action, const json::object& params,
                                  const std::string& request_id, std::int64_t now_ms) {
    if (action == "AttachDisks") return attach(params, request_id, now_ms);
    if (action == "DetachDisks") return detach(params, request_id, now_ms);
    if (action == "DescribeDisks") return describe(params, now_ms);
    return v3::result::fail("InvalidAction", "unknown action " + action);
}

void cbs_v3_service::start(disk& d, const std::string& action, std::string to_instance,
                           bool delete_with_instance, const std::string& request_id,
                           std::int64_t now_ms) {
    const auto& oc = cfg_.operation(action);
    std::uniform_int_distribution<std::int64_t> dur(oc.duration.min.count(),
                                                    oc.duration.max.count());
    std::bernoulli_distribution fail(oc.failure_probability);
    operation op;
    op.action = action;
    op.request_id = request_id;
    op.disk_id = d.id;
    op.from_instance = d.instance;
    op.to_instance = std::move(to_instance);
    op.start_ms = now_ms;
    op.stale_until_ms = now_ms + cfg_.stale_window.count();
    op.done_ms = now_ms + dur(rng_);
    op.fails = fail(rng_);
    op.delete_with_instance_before = d.delete_with_instance;
    op.delete_with_instance_after = delete_with_instance;
    d.op = ops_.size();
    d.last_op = ops_.size();
    ops_.push_back(std::move(op));
    stats_.on_executed(d.id, action);
}

v3::result cbs_v3_service::attach(const json::object& params, const std::string& request_id,
                                  std::int64_t now_ms) {
    std::string instance_id;
    std::vector<std::string> ids;
    bool delete_with_instance = false;
    if (auto e = v3::required_string(params, "InstanceId", instance_id)) return {std::move(e), {}};
    if (auto e = v3::string_list(params, "DiskIds", 1, max_disks_per_call, ids))
        return {std::move(e), {}};
    if (auto e = v3::optional_bool(params, "DeleteWithInstance", delete_with_instance))
        return {std::move(e), {}};
    if (auto e = v3::optional_enum(params, "AttachMode", {"PF", "VF"})) return {std::move(e), {}};

    // Whole call, in this order [chosen]: unknown disk, unknown instance, a disk in transition,
    // an attached disk, the instance's disk limit.
    std::vector<disk*> targets;
    if (auto missing = find_all_live(ids, now_ms, targets)) return std::move(*missing);
    if (!cvm_.is_live(instance_id, now_ms))
        return v3::result::fail("InvalidInstanceId.NotFound",
                                "instance " + instance_id + " does not exist");
    for (auto* d : targets)
        if (d->op)
            return v3::result::fail("ResourceBusy", "disk " + d->id + " is " +
                                                        std::string(true_view(*d, now_ms).state));
    for (auto* d : targets)
        if (!d->instance.empty())
            return v3::result::fail("ResourceUnavailable.Attached",
                                    "disk " + d->id + " is attached to " + d->instance);
    std::size_t on_instance = 0;
    for (auto& d : disks_)
        if (!d.deleted && true_view(d, now_ms).instance == instance_id) ++on_instance;
    if (on_instance + targets.size() > static_cast<std::size_t>(max_disks_per_instance))
        return v3::result::fail("LimitExceeded.InstanceAttachedDisk",
                                "instance " + instance_id + " has " + std::to_string(on_instance) +
                                    " disks; at most " + std::to_string(max_disks_per_instance));
    for (auto* d : targets)
        start(*d, "AttachDisks", instance_id, delete_with_instance, request_id, now_ms);
    return v3::result::ok();
}

v3::result cbs_v3_service::detach(const json::object& params, const std::string& request_id,
                                  std::int64_t now_ms) {
    std::vector<std::string> ids;
    std::string instance_id;
    if (auto e = v3::string_list(params, "DiskIds", 1, max_disks_per_call, ids))
        return {std::move(e), {}};
    if (const auto* v = params.if_contains("InstanceId"); v && !v->is_null()) {
        if (!v->is_string())
            return v3::result::fail("InvalidParameter", "InstanceId must be a string");
        instance_id = v->as_string();
    }

    // Whole call, in this order [chosen]: unknown disk, unknown instance, a disk in transition,
    // an unattached disk, a disk on another instance (than InstanceId, or than the first disk's).
    std::vector<disk*> targets;
    if (auto missing = find_all_live(ids, now_ms, targets)) return std::move(*missing);
    if (!instance_id.empty() && !cvm_.is_live(instance_id, now_ms))
        return v3::result::fail("InvalidInstanceId.NotFound",
                                "instance " + instance_id + " does not exist");
    for (auto* d : targets)
        if (d->op)
            return v3::result::fail("ResourceBusy", "disk " + d->id + " is " +
                                                        std::string(true_view(*d, now_ms).state));
    for (auto* d : targets)
        if (d->instance.empty())
            return v3::result::fail("UnsupportedOperation.StateError",
                                    "disk " + d->id + " is UNATTACHED");
    const auto& host = instance_id.empty() ? targets.front()->instance : instance_id;
    for (auto* d : targets)
        if (d->instance != host)
            return v3::result::fail("InvalidParameterValue", "disk " + d->id + " is attached to " +
                                                                 d->instance + ", not to " + host);
    for (auto* d : targets) start(*d, "DetachDisks", "", false, request_id, now_ms);
    return v3::result::ok();
}

v3::result cbs_v3_service::describe(const json::object& params, std::int64_t now_ms) {
    std::optional<std::int64_t> offset, limit;
    if (auto e = v3::optional_int(params, "Offset", 0, 1'000'000'000, offset))
        return {std::move(e), {}};
    if (auto e = v3::optional_int(params, "Limit", 1, 100, limit)) return {std::move(e), {}};
    if (const auto* f = params.if_contains("Filters"); f && !f->is_null())
        return v3::result::fail("InvalidFilter", "the simulator does not implement Filters");
    std::vector<disk*> matched;
    if (const auto* v = params.if_contains("DiskIds"); v && !v->is_null()) {
        std::vector<std::string> ids;
        if (auto e = v3::string_list(params, "DiskIds", 0, max_describe_ids, ids))
            return {std::move(e), {}};
        for (const auto& id : ids)
            if (auto* d = find_live(id, now_ms)) matched.push_back(d);
    } else {
        for (auto& d : disks_)
            if (find_live(d.id, now_ms)) matched.push_back(&d);
    }
    // Limit (default 20) cuts a DiskIds list too, like DescribeInstances [chosen].
    auto first = static_cast<std::size_t>(
        std::min<std::int64_t>(offset.value_or(0), static_cast<std::int64_t>(matched.size())));
    auto count = static_cast<std::size_t>(limit.value_or(20));
    json::array set;
    for (auto i = first; i < matched.size() && set.size() < count; ++i) {
        auto* d = matched[i];
        auto shown = shown_view(*d, now_ms);
        set.push_back(json::object{
            {"DiskId", d->id},
            {"DiskName", "sim-" + d->id.substr(5)},
            {"DiskUsage", "DATA_DISK"},
            {"DiskType", "CLOUD_PREMIUM"},
            {"DiskChargeType", "POSTPAID_BY_HOUR"},
            {"DiskSize", 50},
            {"Portable", true},
            {"DiskState", shown.state},
            {"Attached", shown.state == attached || shown.state == detaching},
            {"InstanceId", shown.instance},
            {"DeleteWithInstance", d->delete_with_instance},
        });
    }
    return v3::result::ok({{"TotalCount", matched.size()}, {"DiskSet", std::move(set)}});
}

json::array cbs_v3_service::disks_json(std::int64_t now_ms) {
    json::array out;
    for (auto& d : disks_) {
        auto truth = true_view(d, now_ms);
        auto shown = shown_view(d, now_ms);
        json::object o{{"id", d.id},
                       {"state", truth.state},
                       {"shown_state", shown.state},
                       {"instance_id", truth.instance},
                       {"shown_instance_id", shown.instance},
                       {"delete_with_instance", d.delete_with_instance}};
        if (d.op) o["operation"] = ops_[*d.op].action;
        out.push_back(std::move(o));
    }
    return out;
}

json::array cbs_v3_service::tasks_json(std::int64_t now_ms) const {
    json::array out;
    // The operations of one call share its RequestId and are adjacent in ops_.
    for (std::size_t i = 0; i < ops_.size();) {
        const auto& first = ops_[i];
        json::array resources;
        bool running = false, failed = false;
        std::int64_t done = first.done_ms;
        std::size_t j = i;
        for (; j < ops_.size() && ops_[j].request_id == first.request_id; ++j) {
            resources.emplace_back(ops_[j].disk_id);
            running = running || now_ms < ops_[j].done_ms;
            failed = failed || ops_[j].fails;
            done = std::max(done, ops_[j].done_ms);
        }
        out.push_back(json::object{{"service", "cbs"},
                                   {"request_id", first.request_id},
                                   {"action", first.action},
                                   {"resources", std::move(resources)},
                                   {"state", running  ? "running"
                                             : failed ? "failed"
                                                      : "succeeded"},
                                   {"started_at_ms", first.start_ms},
                                   {"done_at_ms", done}});
        i = j;
    }
    return out;
}

}  // namespace taskpoller::sim
