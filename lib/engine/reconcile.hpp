#pragma once
// Read-only reconciliation of a submission whose answer was lost (docs/protocol.md
// "Reconciliation"). I/O-free.
//
// An HTTP 5xx, a dropped connection or an unreadable answer leaves a mutation's outcome unknown:
// it may or may not have run, and it is never sent again. For instance-state services (CVM) a
// read can often prove which: the instances are described just before the send (the
// *baseline*) and again after it, once a stale read can no longer hide a change: the settle
// delay (`cvm_rule::settle_delay`) after the answer was lost (whatever ran, ran before that). What
// counts as proof:
//  - API 3.0 (rule.by_latest_operation): an instance whose LatestOperationRequestId changed to
//    R with LatestOperation our action ran our call (one call, one RequestId: every instance of
//    the call is then accepted with R and tracked by the usual LatestOperation rule). Every
//    instance still showing its baseline LatestOperationRequestId, none OPERATING, after the
//    settle delay: the call did not run (API 3.0 calls run whole or not at all).
//  - API 2.0 (status codes): an instance now in the action's transitional or target status that
//    was in neither at the baseline ran it (2.0 answers per instance: only the instances that
//    moved are accepted). Every instance still in its baseline status after the settle delay,
//    none of them already in the target or transitional status (where no change would show),
//    and none busy: the call did not run.
//  - Anything else (an instance absent, several new RequestIds, a target status that was
//    already the baseline, as for RebootInstances): not proven, keep looking until the caller's
//    deadline, then the outcome stays `unknown`.
// A change by someone else in the same seconds would be read as ours; a RequestId equal to the
// baseline's cannot be. Both are documented limits.

#include <span>
#include <string>
#include <vector>

#include "engine/outcomes.hpp"
#include "engine/registry.hpp"
#include "engine/types.hpp"

namespace taskpoller::engine {

enum class reconcile_verdict : std::uint8_t {
    executed,      ///< proven run: `accepted` (and, API 3.0, `request_id`)
    not_executed,  ///< proven not run: every instance unchanged past the settle delay
    undecided,     ///< nothing proven yet
};

struct reconcile_result {
    reconcile_verdict verdict = reconcile_verdict::undecided;
    /// API 3.0, executed: the call's RequestId, read from LatestOperationRequestId.
    std::string request_id{};
    /// Executed: the instances proven to have run it (API 3.0: all of the call's).
    std::vector<std::string> accepted{};
    /// What was seen, for the batch's message: "ins-1: status 2 → 9 (stopping)".
    std::string evidence{};
};

/// Judges one describe of the call's instances (`now`, *sent* `since_lost` after the answer was
/// lost: the cloud read them no sooner, however late the answer came)
/// against the baseline (`before`, described just before the send). `instances`: the call's
/// instance ids. `action`: the action's name as LatestOperation reports it (API 3.0).
reconcile_result reconcile_call(const cvm_rule& rule, std::string_view action,
                                std::span<const std::string> instances,
                                std::span<const instance_observation> before,
                                std::span<const instance_observation> now, duration since_lost);

/// The requestId a task gets when an API 2.0 reconciliation proved that an instance ran the
/// call but the answer that held its requestId was lost: "reconciled:<instance id>" (unique
/// within its batch, which is part of the task's identity).
std::string reconciled_request_id(std::string_view instance_id);

}  // namespace taskpoller::engine
