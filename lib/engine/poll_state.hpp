#pragma once
// The I/O-free half of the poller (engine/poller.hpp): which tasks are tracked, and what each
// answer (or failure) does to the store and the scheduler. Kept apart from the coroutines so it
// can be tested with plain calls.

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "core/clock.hpp"
#include "core/logger.hpp"
#include "core/result.hpp"
#include "core/states.hpp"
#include "core/task_key.hpp"
#include "engine/api_client.hpp"
#include "engine/cvm_state.hpp"
#include "engine/poller.hpp"
#include "engine/rate_limiter.hpp"
#include "engine/retry.hpp"
#include "engine/scheduler.hpp"
#include "qcloud/response.hpp"

namespace taskpoller::store {
class store;
}

namespace taskpoller::engine::detail {

/// Small ids for the few distinct service and region names.
class name_table {
  public:
    std::uint16_t intern(std::string_view name);
    const std::string& name(std::uint16_t id) const { return names_.at(id); }

  private:
    std::vector<std::string> names_;
};

/// Per tracked task. Kept small: a million of them may be live.
struct live_task {
    const std::string* key = nullptr;  ///< "service/request_id", owned by poll_state::index_
    std::uint32_t gen = 0;             ///< bumped when the slot is reused
    scheduler::profile_id profile = 0;
    std::uint16_t service = 0;
    std::uint16_t region = 0;
    rate_limiter::bucket_id bucket = 0;
    bool polling = false;                 ///< CVM: part of a DescribeInstances call in flight
    std::unique_ptr<cvm_task_state> cvm;  ///< instance-state tasks only
};

/// One failed poll call, as the retry policy needs it.
struct call_failure {
    poll_failure::kind what = poll_failure::kind::transport;
    int code = 0;
    std::string code_desc;
    std::string message;
};

class poll_state {
  public:
    poll_state(store::store& st, const registry& reg, rate_limiter& limiter,
               const core::clock& clock, poller_options options, core::logger log);

    core::result<void> add(const track_request& r);
    bool remove_key(const core::task_key& key);
    std::optional<std::uint32_t> handle_of(const core::task_key& key) const;
    live_task* find(std::uint32_t h);
    bool alive(std::uint32_t h, std::uint32_t gen) const;
    std::string request_id_of(std::uint32_t h) const;

    /// The deadline passed (the scheduler has already forgotten the task): timed_out.
    void expire(std::uint32_t h);
    /// Splits CVM tasks into groups of at most options.cvm_batch pending instances (a task with
    /// more gets a group of its own).
    std::vector<std::vector<std::uint32_t>> group_cvm(const std::vector<std::uint32_t>& hs) const;
    /// Fills `group` (due CVM tasks of `region`) up to options.cvm_batch pending instances with
    /// other live CVM tasks of that region that are not yet due and not already in a call, so
    /// one DescribeInstances serves every task it can: with jittered due times, tasks otherwise
    /// come due one by one and each would cost a call of its own. The tasks seen longest ago
    /// ride first (they are the next to come due), so with more live tasks than one call holds
    /// every task is still seen regularly. Returns how many were added. O(live CVM tasks).
    std::size_t add_riders(std::vector<std::uint32_t>& group, std::uint16_t region) const;
    /// How many tasks share one poll call with `h`: for a CVM task, the live CVM tasks of its
    /// region up to options.cvm_batch; 1 for a task-result task (scheduler::on_running).
    std::uint32_t share_of(std::uint32_t h) const;
    /// The distinct pending instances of `hs`, in order.
    std::vector<std::string> pending_instances(const std::vector<std::uint32_t>& hs) const;

    /// Applies a task-result poll's outcome.
    void apply_task_result(std::uint32_t h, const call_outcome& out, api_stats& stats);
    /// Reads one DescribeInstances outcome into `seen`; returns the failure if it failed.
    std::optional<call_failure> read_instances(const call_outcome& out,
                                               std::vector<qcloud::instance_state>& seen,
                                               api_stats& stats, const std::string& action);
    void apply_failure(std::uint32_t h, const call_failure& f);
    void apply_cvm(std::uint32_t h, std::span<const qcloud::instance_state> seen);

  public:  // the poller coroutines (poller.cpp) work on these directly
    store::store& store_;
    const registry& registry_;
    rate_limiter& limiter;
    const core::clock& clock;
    poller_options options;
    core::logger log;
    scheduler sched;
    name_table services;
    name_table regions;
    std::vector<live_task> tasks;

  private:
    core::task_key key_of(std::uint32_t h) const;
    void mark_running(std::uint32_t h, std::string status);
    void note_error(std::uint32_t h, const std::string& message);
    void finish(std::uint32_t h, core::task_state s, std::string status, std::string error);
    void release(std::uint32_t h);
    rate_limiter::bucket_id poll_bucket(const std::string& service, const std::string& action);

    std::vector<std::uint32_t> free_;
    std::unordered_set<std::uint32_t> cvm_live_;     // handles of live CVM tasks (riders' pool)
    std::vector<std::uint32_t> cvm_live_by_region_;  // live CVM tasks per region id
    std::unordered_map<std::string, std::uint32_t> index_;
};

}  // namespace taskpoller::engine::detail
