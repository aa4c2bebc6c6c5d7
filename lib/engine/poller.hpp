#pragma once
// The poller: drives every live task from the scheduler's due times to a terminal state. One
// coroutine loop asks the dispatcher (engine/dispatcher.hpp, I/O-free) which poll calls to start
// now, starts them, applies the store writes poll_state returns, and sleeps until the
// dispatcher's next wake-up time or until woken (a new task, a freed call slot). A call is one
// task-result poll or one instance-state poll of ≤ max_instances_per_call() instances, made
// through the protocol seam (engine/cloud.hpp). Failures follow the request-retry policy
// (engine/retry.hpp) and never make a task terminal by themselves, except as that policy says.
//
// Faults (docs/design.md): a poll call that throws (a bug) is logged at critical, counted in
// internal_errors(), and its tasks are polled again after the retry backoff: that piece is
// restarted. The loop itself throwing is not safe to restart (its due tasks would be lost from
// the schedule): it is logged at critical and `on_fault` is called, which ends the daemon with a
// non-zero status.
//
// Threading and lifetime: everything on the io_context's thread. The store, registry, cloud,
// rate_limiter and clock must outlive the poller. Before destroying the poller, call stop() and
// let the io_context run until inflight() is 0 (set_idle_callback says when). The clock's steady
// time must be std::chrono::steady_clock's (timers use it).

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.hpp"
#include "core/logger.hpp"
#include "core/result.hpp"
#include "core/supervise.hpp"
#include "core/task_key.hpp"
#include "engine/poll_types.hpp"
#include "engine/scheduler.hpp"

namespace taskpoller::store {
class store;
}

namespace taskpoller::engine {

class cloud;
class rate_limiter;
class registry;

class poller {
  public:
    /// `on_fault` is called if the loop itself fails (see the top of this file); empty:
    /// std::terminate.
    poller(boost::asio::any_io_executor ex, store::store& st, const registry& reg, cloud& api,
           rate_limiter& limiter, const core::clock& clock, poller_options options,
           core::logger log, core::fault_handler on_fault = {});
    ~poller();
    poller(const poller&) = delete;
    poller& operator=(const poller&) = delete;

    /// Starts polling a live task already in the store. Fails (changing nothing) if the key is
    /// already tracked, the service is unknown, or a CVM task has no action rule or instances.
    core::result<void> track(const track_request& r);
    /// Stops polling `key` (it was cancelled). Returns false if it was not tracked.
    bool untrack(const core::task_key& key);
    /// Makes room for `n` tracked tasks in all, before tracking many at once (resuming the
    /// store's live tasks): no growth steps whose discarded buffers would stay in the heap.
    void reserve(std::size_t n);
    bool is_tracked(const core::task_key& key) const;
    /// Polls at once every task stalled on an account-wide error (credentials, permissions,
    /// endpoint): what failed them was just reconfigured. Returns how many.
    std::size_t wake_stalled();

    /// Starts the loop (once).
    void start();
    /// Stops the loop and every wait; polls in flight finish without touching the store.
    void stop();

    /// Polling settings for tasks tracked from now on, and the schedule of every task's next
    /// poll (configuration reload; see poll_state::set_options).
    void set_options(const poller_options& o);

    /// Called once, after stop(), when the last call in flight has ended (at once if none).
    void set_idle_callback(std::function<void()> f);

    std::size_t tracked() const noexcept;
    std::size_t inflight() const noexcept;
    /// Poll calls that ended in an exception (bugs caught by supervision).
    std::uint64_t internal_errors() const noexcept;
    const scheduler& schedule() const noexcept;
    /// The learned `q`-quantile of the completion time of tracked task `key`'s (service,
    /// action), or nullopt (not tracked, too few samples): poll_state::learned_completion.
    std::optional<duration> learned_completion(const core::task_key& key, double q) const;

    struct impl;
    /// A reference to an own poll schedule (scheduler::acquire_policy) held while a submission
    /// or adoption is on its way, so that its tasks can always be tracked on it: taken before
    /// anything is sent or recorded, released when it ends (after its tasks took their own).
    class policy_reservation {
      public:
        policy_reservation() = default;
        policy_reservation(std::shared_ptr<impl> owner, scheduler::policy_id id)
            : owner_(std::move(owner)), id_(id) {}
        policy_reservation(policy_reservation&& o) noexcept
            : owner_(std::move(o.owner_)), id_(o.id_) {}
        policy_reservation& operator=(policy_reservation&&) = delete;
        ~policy_reservation();
        explicit operator bool() const noexcept { return owner_ != nullptr; }

      private:
        std::shared_ptr<impl> owner_;
        scheduler::policy_id id_ = 0;
    };
    /// An empty (false) reservation when 65535 distinct own schedules are in use already.
    policy_reservation reserve_policy(const core::poll_settings& own);

  private:
    std::shared_ptr<impl> impl_;
};

}  // namespace taskpoller::engine
