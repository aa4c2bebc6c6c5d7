#include "engine/cvm_state.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace taskpoller::engine {
namespace {

bool is_failure(int s) noexcept {
    return s == -1 || s == 1;
}
// Statuses an instance rests in: anything else is work in progress.
bool is_resting(int s) noexcept {
    return s == 2 || s == 4 || s == 5;
}

std::string describe(int s) {
    return fmt::format("status {} ({})", s, cvm_status_name(s));
}

verdict finish(instance_progress& p, verdict v, std::string reason) {
    p.state = v;
    p.reason = std::move(reason);
    return v;
}

}  // namespace

std::string_view to_string(verdict v) noexcept {
    switch (v) {
        case verdict::running:
            return "running";
        case verdict::succeeded:
            return "succeeded";
        case verdict::failed:
            return "failed";
        case verdict::not_found:
            return "not_found";
    }
    return "unknown";
}

verdict judge_instance(const cvm_rule& rule, const cvm_options& o, instance_progress& p,
                       std::optional<int> status, duration since_submission) {
    if (p.state != verdict::running) return p.state;
    if (!status) {
        if (++p.missing >= std::max<std::uint32_t>(1, o.not_found_checks))
            return finish(
                p, verdict::not_found,
                fmt::format("absent from DescribeInstances {} times in a row", p.missing));
        return verdict::running;
    }
    const int s = *status;
    p.missing = 0;
    p.same_count = (s == p.last_status) ? p.same_count + 1 : 1;
    p.last_status = s;
    if (is_failure(s)) return finish(p, verdict::failed, describe(s));
    if (rule.has_transitional() && s == rule.transitional) {
        p.transitional_seen = true;
        return verdict::running;
    }
    if (s == rule.target) {
        if (p.transitional_seen || since_submission >= rule.settle_delay)
            return finish(p, verdict::succeeded, {});
        return verdict::running;  // maybe a stale read of the old status
    }
    if (is_resting(s) && p.transitional_seen &&
        p.same_count >= std::max<std::uint32_t>(1, o.stable_checks))
        return finish(
            p, verdict::failed,
            fmt::format("settled in {} instead of {}", describe(s), describe(rule.target)));
    return verdict::running;
}

verdict judge_operation(const cvm_options& o, instance_progress& p, std::string_view request_id,
                        const instance_observation* seen) {
    if (p.state != verdict::running) return p.state;
    if (seen == nullptr) {
        if (++p.missing >= std::max<std::uint32_t>(1, o.not_found_checks))
            return finish(
                p, verdict::not_found,
                fmt::format("absent from DescribeInstances {} times in a row", p.missing));
        return verdict::running;
    }
    p.missing = 0;
    const auto& op = seen->operation_state;
    // "STATE/OPSTATE"; the operation state only when it is ours ("-" while another RequestId's
    // operation shows: the previous one's SUCCESS is not our success).
    const bool ours = seen->operation_request_id == request_id;
    p.last_state = seen->state + "/" + (!ours || op.empty() ? std::string("-") : op);
    if (!ours) {
        if (!p.transitional_seen) return verdict::running;  // ours not visible yet (stale read)
        return finish(p, verdict::failed,
                      fmt::format("superseded: its latest operation is now {} (RequestId {})",
                                  seen->state, seen->operation_request_id));
    }
    p.transitional_seen = true;  // our RequestId is visible
    if (op == "SUCCESS") return finish(p, verdict::succeeded, {});
    if (op == "FAILED") {
        return finish(
            p, verdict::failed,
            seen->operation_error.empty()
                ? fmt::format("LatestOperationState FAILED (InstanceState {})", seen->state)
                : "LatestOperationState FAILED: " + seen->operation_error);
    }
    return verdict::running;  // OPERATING, or a state we do not know: keep polling
}

verdict judge_resource_state(const cvm_rule& rule, const cvm_options& o, instance_progress& p,
                             const instance_observation* seen, duration since_submission,
                             std::string_view target) {
    if (p.state != verdict::running) return p.state;
    if (seen == nullptr) {
        if (++p.missing >= std::max<std::uint32_t>(1, o.not_found_checks))
            return finish(p, verdict::not_found,
                          fmt::format("absent from the answer {} times in a row", p.missing));
        return verdict::running;
    }
    p.missing = 0;
    const std::string& s = seen->state;
    p.same_count = s == p.last_state ? p.same_count + 1 : 1;
    p.last_state = s;
    const resource_states& st = *rule.states;
    if (s == st.transitional) {
        p.transitional_seen = true;
        return verdict::running;
    }
    if (s == st.target) {
        // Attached, but to another instance than the call named: someone else moved it (a
        // disk attached elsewhere before the call would have failed the whole call).
        if (!target.empty() && !seen->attached_to.empty() && seen->attached_to != target) {
            return finish(p, verdict::failed,
                          fmt::format("{} to {}, not {}", s, seen->attached_to, target));
        }
        if (p.transitional_seen || since_submission >= rule.settle_delay)
            return finish(p, verdict::succeeded, {});
        return verdict::running;  // maybe a stale read
    }
    if (s == st.source && p.transitional_seen &&
        p.same_count >= std::max<std::uint32_t>(1, o.stable_checks))
        return finish(
            p, verdict::failed,
            fmt::format("back in {} after {} instead of {}", s, st.transitional, st.target));
    return verdict::running;
}

cvm_task_state::cvm_task_state(cvm_rule rule, std::vector<std::string> instance_ids,
                               time_point submitted, cvm_options o, std::string target)
    : rule_(std::move(rule)),
      opt_(o),
      submitted_(submitted),
      target_(target.empty() ? nullptr : std::make_unique<const std::string>(std::move(target))) {
    instances_.reserve(instance_ids.size());
    for (auto& id : instance_ids) {
        bool dup = false;
        for (const auto& i : instances_) dup = dup || i.id == id;
        if (!dup) instances_.push_back({std::move(id), {}});
    }
}

verdict cvm_task_state::observe(std::span<const instance_observation> seen, time_point read_at,
                                std::string_view request_id) {
    for (auto& inst : instances_) {
        const instance_observation* found = nullptr;
        for (const auto& s : seen) {
            if (s.instance_id == inst.id) {
                found = &s;
                break;
            }
        }
        if (rule_.by_latest_operation) {
            judge_operation(opt_, inst.progress, request_id, found);
            continue;
        }
        if (rule_.by_resource_state()) {
            judge_resource_state(rule_, opt_, inst.progress, found, read_at - submitted_,
                                 target_ ? std::string_view(*target_) : std::string_view{});
            continue;
        }
        std::optional<int> status;
        if (found != nullptr) status = found->status;
        judge_instance(rule_, opt_, inst.progress, status, read_at - submitted_);
    }
    return state();
}

verdict cvm_task_state::observe_one(std::string_view instance_id, std::optional<int> status,
                                    time_point read_at) {
    for (auto& inst : instances_)
        if (inst.id == instance_id)
            judge_instance(rule_, opt_, inst.progress, status, read_at - submitted_);
    return state();
}

verdict cvm_task_state::state() const noexcept {
    if (instances_.empty()) return verdict::not_found;
    bool failed = false;
    std::size_t not_found = 0;
    for (const auto& i : instances_) {
        switch (i.progress.state) {
            case verdict::running:
                return verdict::running;
            case verdict::failed:
                failed = true;
                break;
            case verdict::not_found:
                ++not_found;
                break;
            case verdict::succeeded:
                break;
        }
    }
    if (failed) return verdict::failed;
    if (not_found == instances_.size()) return verdict::not_found;
    return not_found > 0 ? verdict::failed : verdict::succeeded;
}

std::string cvm_task_state::reason() const {
    std::string out;
    for (const auto& i : instances_) {
        if (i.progress.reason.empty()) continue;
        if (!out.empty()) out += "; ";
        out += i.id + ": " + i.progress.reason;
    }
    return out;
}

std::vector<std::string> cvm_task_state::pending_instances() const {
    std::vector<std::string> out;
    for (const auto& i : instances_)
        if (i.progress.state == verdict::running) out.push_back(i.id);
    return out;
}

std::string cvm_task_state::last_status() const {
    std::string out;
    for (const auto& i : instances_) {
        if (!out.empty()) out += ',';
        out += i.id + '=';
        if (rule_.by_latest_operation || rule_.by_resource_state()) {
            out += i.progress.last_state.empty() ? std::string("none") : i.progress.last_state;
            continue;
        }
        out += i.progress.last_status == instance_progress::no_status
                   ? std::string("none")
                   : std::to_string(i.progress.last_status);
    }
    return out;
}

}  // namespace taskpoller::engine
