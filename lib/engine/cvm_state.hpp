#pragma once
// Reading a CVM task's outcome from DescribeInstances (docs/protocol.md "Completion"). CVM has no
// task-result API in v2, so a task is done when its instances reach the action's target status.
// I/O-free.
//
// Per instance, on each poll round:
//  - -1 (creation failed) and 1 (faulty) fail the instance at once;
//  - the action's transitional status (e.g. 9 stopping) is remembered as seen;
//  - the target status is accepted only after the transitional status was seen, or once
//    `settle_delay` has passed since submission: right after the call an instance may still
//    show its old status, which for Restart and ResetInstancePassword *is* the target;
//  - a non-target, non-busy status (2 running, 4 stopped, 5 returned) seen after the
//    transitional status is a failure once it is *stable*: the same status on `stable_checks`
//    consecutive polls (default 2), so a single odd read does not fail a task. Before any
//    transitional status it is taken for the old status and waited out (the deadline ends it);
//  - other statuses (busy: 3, 6..20, or unknown codes) keep it running;
//  - an instance absent from the answer counts toward not_found; `not_found_checks` (default 3)
//    consecutive absences make it not_found. Any answer resets the count.
// A task (several instances may share one requestId) is terminal when every instance is: failed
// if any failed; not_found if all are not_found; failed if only some are; else succeeded.

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/polling_defaults.hpp"
#include "engine/outcomes.hpp"
#include "engine/registry.hpp"
#include "engine/types.hpp"

namespace taskpoller::engine {

enum class verdict : std::uint8_t { running, succeeded, failed, not_found };

std::string_view to_string(verdict v) noexcept;

struct cvm_options {
    std::uint32_t stable_checks = 2;  ///< polls showing the same wrong status → failed
    std::uint32_t not_found_checks = core::polling_defaults::not_found_checks;  ///< → not_found
};

/// What is remembered about one instance between polls.
struct instance_progress {
    static constexpr int no_status = -100;
    int last_status = no_status;
    bool transitional_seen = false;
    std::uint32_t same_count = 0;  ///< consecutive polls showing last_status
    std::uint32_t missing = 0;     ///< consecutive polls the instance was absent
    verdict state = verdict::running;
    std::string reason;      ///< why failed / not_found
    std::string last_state;  ///< API 3.0: "STOPPED/OPERATING" as last seen
};

/// Judges one observation (`status`, nullopt if absent from the answer) of one instance,
/// `since_submission` after the call, updating `p`. A terminal `p` is returned unchanged.
verdict judge_instance(const cvm_rule& rule, const cvm_options& o, instance_progress& p,
                       std::optional<int> status, duration since_submission);

/// API 3.0 (rule.by_latest_operation): judges one observation (nullopt if absent) of one
/// instance for the task whose RequestId is `request_id`. Done only when the instance's
/// LatestOperationRequestId is ours and LatestOperationState is SUCCESS (succeeded) or FAILED
/// (failed); another RequestId before ours was seen is the stale read of an earlier operation
/// (running: not visible yet); another RequestId after ours was seen means someone else acted
/// on the instance (failed, "superseded"). InstanceState alone never finishes it.
verdict judge_operation(const cvm_options& o, instance_progress& p, std::string_view request_id,
                        const instance_observation* seen);

/// API 3.0 resource states (rule.by_resource_state(): CBS disks): judges one observation
/// (nullopt if absent) `since_submission` after the call. The target state counts only after
/// the transitional state was seen or `settle_delay` has passed (a stale read may show the old
/// state, and for a detach followed by an attach the old state is the target); back in the
/// source state after the transitional one, on `stable_checks` polls, is a failure.
/// `target`: the instance an attach names (empty: not checked): a disk in the target state but
/// attached to another instance failed (someone else moved it); a detached one still attached
/// somewhere is not done.
verdict judge_resource_state(const cvm_rule& rule, const cvm_options& o, instance_progress& p,
                             const instance_observation* seen, duration since_submission,
                             std::string_view target = {});

/// The state of one CVM task: its instances and their progress.
class cvm_task_state {
  public:
    /// `target`: the one resource they are acted on with (CBS attach: the instance), if any.
    cvm_task_state(cvm_rule rule, std::vector<std::string> instance_ids, time_point submitted,
                   cvm_options o = {}, std::string target = {});

    /// One poll round. `seen` must hold every answer of the calls that asked for this task's
    /// instances this round (instances absent from it count as missing). Duplicate ids in
    /// `seen`: the first wins. Returns the task's verdict.
    /// `request_id`: the task's RequestId (API 3.0 CVM rules compare it with
    /// LatestOperationRequestId; unused otherwise).
    /// `read_at`: when the describe that saw them was *sent* (the cloud read no sooner; a late
    /// answer's read is as old as its send, and the settle delay is judged from it).
    verdict observe(std::span<const instance_observation> seen, time_point read_at,
                    std::string_view request_id = {});

    /// One instance's observation (nullopt = absent), read at `read_at` (as for observe()).
    /// Unknown ids are ignored. Returns the task's verdict.
    verdict observe_one(std::string_view instance_id, std::optional<int> status,
                        time_point read_at);

    verdict state() const noexcept;
    /// For failed / not_found: "ins-1: status 1 (faulty); ins-2: ..."; empty otherwise.
    std::string reason() const;
    /// Instances still running: the ones to ask about next round.
    std::vector<std::string> pending_instances() const;
    /// "ins-1=4,ins-2=9": the last status of every instance (for the task's last_status).
    std::string last_status() const;

    const cvm_rule& rule() const noexcept { return rule_; }

  private:
    struct instance {
        std::string id;
        instance_progress progress;
    };
    cvm_rule rule_;
    cvm_options opt_;
    time_point submitted_;
    std::unique_ptr<const std::string> target_;  // rare (CBS attach): a pointer, not 32 bytes
    std::vector<instance> instances_;
};

}  // namespace taskpoller::engine
