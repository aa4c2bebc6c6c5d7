#pragma once
// The I/O-free half of the poller (engine/poller.hpp): which tasks are tracked, and what each
// answer (or failure) does to the scheduler, the rate limiter and the task. It never writes to
// the store: each answer returns the task_write the poller then applies, so everything here is
// tested with plain calls (tests/unit/engine/poll_state_test.cpp).

#include <cstdint>
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
#include "engine/cvm_state.hpp"
#include "engine/handle_index.hpp"
#include "engine/outcomes.hpp"
#include "engine/poll_types.hpp"
#include "engine/rate_limiter.hpp"
#include "engine/retry.hpp"
#include "engine/scheduler.hpp"
#include "store/compact_string.hpp"
#include "store/types.hpp"

namespace taskpoller::engine {
class registry;
}

namespace taskpoller::engine::detail {

/// Small ids for the few distinct service and region names.
class name_table {
  public:
    /// The id of `name`, interned now if new; nullopt once all 65,536 ids are taken.
    std::optional<std::uint16_t> intern(std::string_view name);
    /// The id of `name` if it was interned.
    std::optional<std::uint16_t> find(std::string_view name) const;
    const std::string& name(std::uint16_t id) const { return names_.at(id); }

  private:
    std::vector<std::string> names_;
    std::unordered_map<std::string, std::uint16_t> ids_;  // region names come from clients
};

/// Per tracked task. Kept small: a million of them may be live (32 bytes). Its identity
/// (core::task_key) is kept here and nowhere else, the key index refers to the task by handle:
/// the service as a name id, the requestId inline (up to 15 characters), the key's region as
/// "the call's" or "none" and a batch id as its number; what does not fit that (a key region
/// other than the call's, a batch id not as core::format_batch_id writes it) is appended to
/// `id` after a '\n', and `form` says so. What not every task needs, or what its service
/// determines, is kept beside it (issue 20): an instance-state task's cvm_task_state and
/// whether it is in a call in flight in poll_state's side table (few tasks have one), the rate
/// limiter bucket of its polls by service (poll_state::bucket_of), its learning profile in the
/// scheduler's record (scheduler::profile_of).
struct live_task {
    store::compact_string id{};  ///< the requestId [+ '\n' key region] [+ '\n' batch id]
    std::uint64_t form = 0;      ///< batch number (low 60 bits) and the flags below
    std::uint32_t gen = 0;  ///< odd while the slot holds a tracked task; bumped on add and release
    std::uint16_t region = 0;              ///< the region calls go to
    std::uint16_t service : 15 = 0;        ///< at most max_service + 1 services
    std::uint16_t instance_state : 1 = 0;  ///< polled by its instances (poll_state::cvm_of)

    static constexpr std::uint16_t max_service = 0x7fff;

    static constexpr std::uint64_t batch_mask = (std::uint64_t{1} << 60) - 1;
    static constexpr std::uint64_t batch_number = std::uint64_t{1} << 60;  ///< low bits: batch
    static constexpr std::uint64_t batch_text = std::uint64_t{1} << 61;    ///< batch id in `id`
    static constexpr std::uint64_t region_same = std::uint64_t{1} << 62;   ///< key region = region
    static constexpr std::uint64_t region_text = std::uint64_t{1} << 63;   ///< key region in `id`

    bool live() const noexcept { return (gen & 1u) != 0; }
};

/// One change the poller makes to a task in the store.
struct task_write {
    enum class kind {
        running,    ///< still running: new status, error cleared, poll counted
        error,      ///< the poll failed: last error, poll counted
        terminal,   ///< succeeded, failed or not_found: state, status, error, poll counted
        timed_out,  ///< the deadline passed: the poller words the error from the task's record
    };
    kind what = kind::running;
    core::task_key key;
    store::task_update update;
};

class poll_state {
  public:
    /// The registry, limiter and clock must outlive the poll_state.
    poll_state(const registry& reg, rate_limiter& limiter, const core::clock& clock,
               poller_options options, core::logger log);

    /// Starts tracking. Fails, changing nothing, if the key is tracked, the service unknown, or
    /// an instance-state task has no action rule or no instances.
    core::result<void> add(const track_request& r);
    /// Stops tracking; false if `key` was not tracked.
    bool remove_key(const core::task_key& key);
    std::optional<std::uint32_t> handle_of(const core::task_key& key) const;
    /// The live task of handle `h`, or nullptr.
    const live_task* find(std::uint32_t h) const;
    bool alive(std::uint32_t h, std::uint32_t gen) const;
    std::uint32_t gen_of(std::uint32_t h) const { return tasks_[h].gen; }
    core::task_key key_of(std::uint32_t h) const;
    /// Valid until the next add() (a short requestId is kept inside the live_task).
    std::string_view request_id_of(std::uint32_t h) const;
    const std::string& service_name(std::uint16_t id) const { return services_.name(id); }
    const std::string& region_name(std::uint16_t id) const { return regions_.name(id); }
    /// Instance-state tasks: whether `h` is part of a call in flight (set_polling does nothing
    /// for other tasks, polling() is false for them).
    void set_polling(std::uint32_t h, bool polling);
    bool polling(std::uint32_t h) const;
    /// The instance-state of the live instance-state task `h` (live_task::instance_state).
    const cvm_task_state& cvm_of(std::uint32_t h) const { return cvm_.at(h).state; }
    /// The rate limiter bucket of the polls of service `id` (its result action's).
    rate_limiter::bucket_id bucket_of(std::uint16_t service) const { return buckets_[service]; }

    /// The deadline passed (the scheduler has already forgotten the task): timed_out.
    task_write expire(std::uint32_t h);
    /// A task-result poll's answer (a status or a failure).
    task_write apply(std::uint32_t h, const task_poll_answer& a);
    /// A failed poll: the retry policy decides (engine/retry.hpp).
    task_write apply_failure(std::uint32_t h, const call_failure& f);
    /// What an instance-state poll saw of the task's instances. `sent`: when the describe was
    /// sent (the cloud read the instances no sooner, however late the answer came: a target
    /// status counts only from a read made after the settle delay); now if not given.
    task_write apply_instances(std::uint32_t h, std::span<const instance_observation> seen,
                               std::optional<core::steady_time> sent = std::nullopt);

    /// Splits instance-state tasks into groups of at most options().cvm_batch pending
    /// instances (a task with more gets a group of its own).
    std::vector<std::vector<std::uint32_t>> group_cvm(const std::vector<std::uint32_t>& hs) const;
    /// Fills `group` (due instance-state tasks of `service` in `region`) up to
    /// options().cvm_batch pending instances with other live tasks of that service and region
    /// (API 3.0 cvm and cbs never share a call) that are not yet due and not already in
    /// a call, so one call serves every task it can: with jittered due times, tasks otherwise
    /// come due one by one and each would cost a call of its own. The tasks seen longest ago
    /// ride first (they are the next to come due), so with more live tasks than one call holds
    /// every task is still seen regularly. Returns how many were added. O(live such tasks).
    std::size_t add_riders(std::vector<std::uint32_t>& group, std::uint16_t service,
                           std::uint16_t region) const;
    /// How many tasks share one poll call with `h`: for an instance-state task, the live ones
    /// of its region up to options().cvm_batch; 1 for a task-result task.
    std::uint32_t share_of(std::uint32_t h) const;
    /// The distinct pending instances of `hs`, in order.
    std::vector<std::string> pending_instances(const std::vector<std::uint32_t>& hs) const;

    scheduler& schedule() noexcept { return sched_; }
    const scheduler& schedule() const noexcept { return sched_; }
    rate_limiter& limiter() noexcept { return limiter_; }
    const poller_options& options() const noexcept { return options_; }
    /// The learned `q`-quantile of the completion time (measured from submission) of the
    /// (service, action) of the tracked task `key`; nullopt when `key` is not tracked or its
    /// profile holds fewer than learning.min_samples (decayed) samples. Read-only.
    std::optional<duration> learned_completion(const core::task_key& key, double q) const;
    /// Polling settings for tasks tracked from now on (configuration reload). The scheduler
    /// keeps what it learned; live tasks keep their deadlines and completion rules.
    void set_options(const poller_options& o);
    std::size_t tracked() const noexcept { return index_.size(); }
    /// Makes room for `n` tracked tasks in all (poller::reserve).
    void reserve(std::size_t n);
    /// The key index's table size in slots (4 bytes each): memory accounting and tests.
    std::size_t index_capacity() const noexcept { return index_.capacity(); }

  private:
    task_write running(std::uint32_t h, std::string status);
    task_write error(std::uint32_t h, std::string message);
    task_write finish(std::uint32_t h, core::task_state s, std::string status, std::string error);
    void release(std::uint32_t h);
    /// The index's hash of an identity: its service and requestId only (a requestId repeated
    /// in another region or batch is rare; the comparison tells them apart).
    static std::uint64_t key_hash(std::uint16_t service, std::string_view request_id) noexcept;
    std::uint64_t hash_of(std::uint32_t h) const noexcept;
    /// Whether tasks_[h] is tracked under `key` (whose service has id `service`).
    bool same_key(std::uint32_t h, std::uint16_t service, const core::task_key& key) const;
    rate_limiter::bucket_id poll_bucket(const std::string& service, const std::string& action);

    const registry& registry_;
    rate_limiter& limiter_;
    const core::clock& clock_;
    poller_options options_;
    core::logger log_;
    scheduler sched_;
    name_table services_;
    name_table regions_;
    std::vector<live_task> tasks_;
    std::vector<std::uint32_t> free_;
    // Live instance-state tasks (the riders' pool) and their state, by handle: a node-based
    // map, so a reference stays valid while other tasks come and go.
    struct cvm_slot {
        cvm_task_state state;
        bool polling = false;  // part of a call in flight
    };
    std::unordered_map<std::uint32_t, cvm_slot> cvm_;
    // By service id: the bucket of its polls, as of the last task of the service tracked.
    std::vector<rate_limiter::bucket_id> buckets_;
    std::vector<std::uint32_t> cvm_live_by_region_;  // live instance-state tasks per region id
    handle_index index_;  // live handles by identity (key_hash); keys are read from tasks_
};

}  // namespace taskpoller::engine::detail
