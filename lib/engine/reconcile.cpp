#include "engine/reconcile.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace taskpoller::engine {
namespace {

const instance_observation* find(std::span<const instance_observation> seen, std::string_view id) {
    auto it = std::find_if(seen.begin(), seen.end(),
                           [&](const instance_observation& o) { return o.instance_id == id; });
    return it == seen.end() ? nullptr : &*it;
}

void note(std::string& evidence, const std::string& what) {
    if (!evidence.empty()) evidence += "; ";
    evidence += what;
}

std::string or_none(const std::string& s) {
    return s.empty() ? std::string("none") : s;
}

// API 3.0: the call's RequestId shows on every instance it ran on.
reconcile_result by_latest_operation(std::string_view action,
                                     std::span<const std::string> instances,
                                     std::span<const instance_observation> before,
                                     std::span<const instance_observation> now, bool settled) {
    reconcile_result r;
    std::vector<std::string> ids;  // distinct new RequestIds of our action
    bool unproven = false;
    for (const auto& id : instances) {
        const auto* b = find(before, id);
        const auto* n = find(now, id);
        if (b == nullptr || n == nullptr) {
            note(r.evidence, id + (b == nullptr ? ": not in the baseline" : ": not described"));
            unproven = true;
            continue;
        }
        if (!n->operation_request_id.empty() &&
            n->operation_request_id != b->operation_request_id) {
            if (n->operation != action) {
                // Someone else's operation since the baseline: ours may still be hidden.
                note(r.evidence,
                     fmt::format("{}: a new operation {} (RequestId {}), not {}", id,
                                 or_none(n->operation), n->operation_request_id, action));
                unproven = true;
                continue;
            }
            note(r.evidence, fmt::format("{}: LatestOperationRequestId {} → {} ({} {})", id,
                                         or_none(b->operation_request_id), n->operation_request_id,
                                         action, or_none(n->operation_state)));
            if (std::find(ids.begin(), ids.end(), n->operation_request_id) == ids.end())
                ids.push_back(n->operation_request_id);
            continue;
        }
        if (n->operation_state == "OPERATING") {
            note(r.evidence, id + ": an earlier operation is still OPERATING");
            unproven = true;
        }
    }
    if (ids.size() == 1) {
        r.verdict = reconcile_verdict::executed;
        r.request_id = ids.front();
        r.accepted.assign(instances.begin(), instances.end());  // one call runs whole
        return r;
    }
    if (ids.size() > 1) {
        note(r.evidence,
             fmt::format("{} different new RequestIds: someone else acted too", ids.size()));
        return r;
    }
    if (!unproven && settled) {
        r.verdict = reconcile_verdict::not_executed;
        note(r.evidence, "every LatestOperationRequestId unchanged");
    }
    return r;
}

// API 2.0: each instance's status code; per instance, since 2.0 answers per instance.
reconcile_result by_status(const cvm_rule& rule, std::span<const std::string> instances,
                           std::span<const instance_observation> before,
                           std::span<const instance_observation> now, bool settled) {
    reconcile_result r;
    bool unproven = false;
    auto moved_to = [&](int s) {
        return s == rule.target || (rule.has_transitional() && s == rule.transitional);
    };
    // Into the transitional status from any other, or into the target from a status that was
    // neither (a reboot's target is where it started: only its transitional status shows).
    auto ran = [&](int b, int n) {
        if (rule.has_transitional() && n == rule.transitional) return b != rule.transitional;
        return n == rule.target && !moved_to(b);
    };
    for (const auto& id : instances) {
        const auto* b = find(before, id);
        const auto* n = find(now, id);
        if (b == nullptr || n == nullptr) {
            note(r.evidence, id + (b == nullptr ? ": not in the baseline" : ": not described"));
            unproven = true;
            continue;
        }
        if (ran(b->status, n->status)) {
            note(r.evidence, fmt::format("{}: status {} → {} ({})", id, b->status, n->status,
                                         cvm_status_name(n->status)));
            r.accepted.push_back(id);
            continue;
        }
        const bool resting = b->status == 2 || b->status == 4 || b->status == 5;
        if (n->status != b->status || moved_to(b->status) || !resting) {
            // Changed some other way, already where the action would take it (no change could
            // show), or busy with something else: this instance proves nothing.
            note(r.evidence,
                 fmt::format("{}: status {} then {}: proves nothing", id, b->status, n->status));
            unproven = true;
        }
    }
    if (!r.accepted.empty()) {
        r.verdict = reconcile_verdict::executed;
    } else if (!unproven && settled) {
        r.verdict = reconcile_verdict::not_executed;
        note(r.evidence, "every instance still in its status from before the send");
    }
    return r;
}

}  // namespace

reconcile_result reconcile_call(const cvm_rule& rule, std::string_view action,
                                std::span<const std::string> instances,
                                std::span<const instance_observation> before,
                                std::span<const instance_observation> now, duration since_lost) {
    const bool settled = since_lost >= rule.settle_delay;
    if (rule.by_latest_operation)
        return by_latest_operation(action, instances, before, now, settled);
    return by_status(rule, instances, before, now, settled);
}

std::string reconciled_request_id(std::string_view instance_id) {
    return "reconciled:" + std::string(instance_id);
}

}  // namespace taskpoller::engine
