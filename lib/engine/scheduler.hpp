#pragma once
// The poll scheduler: when each live task is next polled (docs/design.md "Policies"). I/O-free and
// deterministic: time and randomness are injected. The poller arms one timer at next_due(),
// takes due tasks with pop_due() (oldest due first, so none starves), polls them, and reports
// each answer back with exactly one of on_running / on_retry / on_stall / on_resign_retry /
// on_missing / complete / remove. A popped task has no due time until then.
//
// Static policy: first poll `initial_delay` after submission, then `interval * multiplier^n`
// capped at `max_interval`, with optional full jitter (uniform in [0, interval_n], but never
// closer than learning.min_gap to the previous poll).
// Request retries (transient errors) use their own backoff (retry policy) and do not advance
// the poll schedule. Every due time is capped at the task's deadline; when the deadline comes
// the task is handed out once with reason::deadline and forgotten (→ timed_out).
//
// Learning: per (service, action) profile, observed completion times feed a duration_histogram,
// and so do the tasks still running (`learning.censored`): each live task is a right-censored
// observation at its age when last seen running, moved as it ages (O(1) per answer), so the
// learned quantiles are a Kaplan–Meier estimate rather than completions only. Once the histogram
// holds `min_samples` completions, polls are placed at the learned quantiles `ladder` (e.g. p30,
// p60, p85, p95, p99) of the completion time, measured from submission, each rung once per task
// (a rung that moved past the poll made at it is not polled again); past the last one, the
// interval is a fraction of the task's age (clamped to [interval, max_interval]). The ladder is
// recomputed (one pass over the buckets) once the observations changed since the last
// computation reach 1/64 of their total weight, so its cost per answer is O(1) amortised. See
// docs/polling.md for the reasoning and defaults.
//
// Shared calls: a CVM DescribeInstances call asks about up to 100 instances for the price of one,
// so the poller passes how many tasks share a call (`share`, 1 for task-result tasks). The gap to
// the next poll is then the policy's gap (without jitter: sharing spreads the polls already)
// divided by `share`, but never below `interval`, rounded to the nearest multiple of `interval`
// so that the tasks sharing calls come due together: per task, the calls cost no more than its
// own schedule alone would, and the answers come up to `share` times as often
// (docs/polling.md). The first poll is never later than the policy's own.
//
// Own schedules: a submission may bring its own initial_delay / interval / max_interval
// (core::poll_settings, the API's "poll" object). Its tasks are polled on the configured policy
// with those fields replaced (an own interval above the configured max_interval raises the cap
// to it; an own max_interval below the configured interval lowers the interval to it), learning
// does not place their polls (they still teach it their completion times): the caller chose
// the cadence. Their first poll is at their own initial_delay even in a shared CVM call, and no
// gap (jitter or sharing) is shorter than min_own_interval. Distinct schedules in use are shared
// by reference count (at most 65535 at once; acquire_policy says when full).
//
// Memory: a 32-byte record in a vector indexed by the handle (handles must be small dense
// integers: the vector is as long as the largest handle) plus a 12-byte heap entry per queued
// task; measured in tests/unit/engine/memory_test.cpp. The queue is an indexed 4-ary min-heap
// of (due, handle): each record keeps its entry's position, so a task re-queued, removed or
// completed while queued has its one entry moved or taken out at once (no stale entries, no
// generation numbers, no compaction); 4 children per node halve the levels a pop walks down.

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <unordered_map>
#include <vector>

#include "core/poll_settings.hpp"
#include "core/polling_defaults.hpp"
#include "engine/duration_histogram.hpp"
#include "engine/retry.hpp"
#include "engine/types.hpp"

namespace taskpoller::engine {

struct poll_policy {
    duration initial_delay = core::polling_defaults::initial_delay;
    duration interval = core::polling_defaults::interval;
    double multiplier = core::polling_defaults::multiplier;
    duration max_interval = core::polling_defaults::max_interval;
    jitter_mode jitter = jitter_mode::full;
    duration timeout = core::polling_defaults::timeout;  ///< default deadline after submission
};

struct learning_options {
    bool enabled = true;
    double min_samples = 20;  ///< decayed sample weight needed before the ladder is used
    std::vector<double> ladder{0.3, 0.6, 0.85, 0.95, 0.99};  ///< increasing quantiles in (0, 1)
    duration min_gap = milliseconds(100);  ///< minimum spacing between two polls (all policies)
    double tail_fraction = 0.25;           ///< past the ladder: next delay = age * this
    double max_weight = 1000;              ///< histogram forgetting (duration_histogram)
    /// Count the tasks still running as right-censored observations (their age at the last
    /// "running" answer), so the learned quantiles are a Kaplan–Meier estimate instead of
    /// completions only (biased low while a wave of tasks is still running).
    bool censored = true;
};

struct scheduler_options {
    poll_policy poll;
    /// polling.min_interval: the shortest gap between two polls of a task on its own schedule
    /// (also what a submission may ask for: engine/own_poll.hpp). Jitter and shared calls never
    /// bring such a task's polls closer than this.
    duration min_own_interval = core::polling_defaults::min_interval;
    backoff_policy retry;  ///< request retries (transient errors), separate from `poll`
    learning_options learning;
};

class scheduler {
  public:
    using task_handle = std::uint32_t;
    using profile_id = std::uint16_t;
    using policy_id = std::uint16_t;  ///< 0: the configured policy

    struct due_task {
        enum class reason : std::uint8_t { poll, deadline };
        task_handle handle = 0;
        reason why = reason::poll;
    };

    /// `rng` returns uniform numbers in [0, 1); it is only called for jitter.
    scheduler(scheduler_options o, random_source rng);

    /// The profile of (service, action), created if new. Throws std::length_error beyond
    /// 65536 profiles (a bug: profiles come from the finite registry).
    profile_id profile(const action_key& key);

    /// A reference to the policy `own` makes of the configured one (0 when `own` is empty),
    /// for add(); nullopt when 65535 distinct own schedules are in use already.
    std::optional<policy_id> acquire_policy(const core::poll_settings& own);
    /// Returns a reference acquire_policy gave and add() did not take.
    void release_policy(policy_id id);
    /// The policy a task of `id` is polled on (the configured one for 0).
    const poll_policy& policy(policy_id id) const;

    /// Starts tracking `h` (submitted at `submitted`, deadline `deadline` or submitted +
    /// policy.timeout). Returns false, changing nothing, if `h` is already tracked or `p` unknown.
    /// `share`: how many tasks share one poll call (see the top of this file). `pol`: from
    /// acquire_policy; add takes over that reference when it returns true.
    bool add(task_handle h, profile_id p, time_point submitted, time_point now,
             std::optional<time_point> deadline = std::nullopt, std::uint32_t share = 1,
             policy_id pol = 0);

    /// Replaces the poll schedule and the request-retry backoff (configuration reload). Every
    /// task's next due time computed from now on uses them; due times already set stay, and so
    /// do deadlines and what was learned. Own schedules keep their own fields and take the rest
    /// from the new policy.
    void set_policy(const poll_policy& poll, const backoff_policy& retry);
    /// Replaces scheduler_options::min_own_interval (configuration reload).
    void set_min_own_interval(duration d) { opt_.min_own_interval = d; }

    /// Stops tracking (cancelled, or terminal by other means). False if unknown.
    bool remove(task_handle h);
    bool contains(task_handle h) const;
    /// The profile `h` was added with; nullopt if unknown.
    std::optional<profile_id> profile_of(task_handle h) const;
    std::size_t size() const noexcept { return size_; }
    /// Makes room for handles below `n` (a bulk load whose size is known, such as resuming the
    /// live tasks at start: growing step by step would leave the discarded buffers in the heap).
    void reserve(std::size_t n);

    /// The earliest due time of any queued task, or nullopt when none is queued.
    std::optional<time_point> next_due();

    /// Appends to `out` up to `max` tasks due at `now`, earliest due first (ties by handle).
    /// Deadline-expired tasks come with reason::deadline and are no longer tracked. Returns the
    /// number appended.
    std::size_t pop_due(time_point now, std::size_t max, std::vector<due_task>& out);

    /// The poll answered "still running": next poll step, its gap divided by `share` (tasks
    /// sharing one poll call; see the top of this file). False if `h` is unknown.
    bool on_running(task_handle h, time_point now, std::uint32_t share = 1);
    /// Transient request failure: retry after the request-retry backoff.
    bool on_retry(task_handle h, time_point now);
    /// Account-wide final error: retry after the longest request-retry interval.
    bool on_stall(task_handle h, time_point now);
    /// 4200/4500: poll again at once (re-signed); remembered for retry_history.
    bool on_resign_retry(task_handle h, time_point now);
    /// "No such task" below the threshold: next poll on the poll schedule. Returns the number
    /// of consecutive such answers so far (0 if `h` is unknown).
    std::uint32_t on_missing(task_handle h, time_point now);
    /// The task is terminal (succeeded or failed) as observed at `now`: forgets it and, when
    /// `learn`, adds its completion time to its profile. Returns the learned sample, if any.
    std::optional<duration> complete(task_handle h, time_point now, bool learn = true);

    /// When `h` was last seen running (its submission if never); nullopt if unknown. The poller
    /// fills shared CVM calls with the tasks seen longest ago.
    std::optional<time_point> last_seen(task_handle h) const;

    /// Makes every task stalled on an account-wide error (on_stall) due at `now`: the
    /// credentials or the configuration that failed them changed. Returns how many.
    std::size_t wake_stalled(time_point now);

    /// The counters retry::decide() needs; zeros for an unknown handle.
    retry_history history(task_handle h) const;

    /// Learned completion times of a profile (read-only, for metrics and tests).
    const duration_histogram& histogram(profile_id p) const { return profiles_.at(p).hist; }
    /// The learned poll offsets from submission, or empty while learning is not ready.
    std::vector<duration> learned_ladder(profile_id p);

  private:
    static constexpr std::uint32_t not_queued = 0xffffffffu;
    struct record {
        std::int64_t submitted;             // steady ticks
        std::int64_t deadline;              // steady ticks
        std::uint32_t pos = not_queued;     // its entry's index in heap_
        std::uint32_t last_running_ms = 0;  // age at the last "running" answer
        profile_id profile = 0;
        policy_id policy = 0;      // 0: opt_.poll; else policies_[policy]
        std::uint8_t polls = 0;    // "running" answers (saturating)
        std::uint8_t retries = 0;  // consecutive request failures (saturating)
        std::uint8_t missing = 0;  // consecutive "no such task" (saturating)
        std::uint8_t flags = 0;    // tracked, last_resign, stalled; next rung (3 bits)
    };
    // 12 bytes: the due time in two halves keeps the entry 4-byte aligned (an int64 member
    // would pad it to 16).
    struct heap_entry {
        std::uint32_t due_lo = 0;
        std::uint32_t due_hi = 0;
        task_handle handle = 0;

        std::int64_t due() const noexcept {
            return static_cast<std::int64_t>(std::uint64_t{due_hi} << 32 | due_lo);
        }
        void set_due(std::int64_t d) noexcept {
            due_lo = static_cast<std::uint32_t>(static_cast<std::uint64_t>(d));
            due_hi = static_cast<std::uint32_t>(static_cast<std::uint64_t>(d) >> 32);
        }
    };
    struct profile_state {
        action_key key;
        duration_histogram hist;
        std::vector<duration> ladder;  // cached quantile offsets
        std::uint64_t changes = 0;     // observations added, moved or removed since `ladder`
        bool computed = false;         // `ladder` holds a computation
    };

    struct policy_slot {
        core::poll_settings own;
        poll_policy effective;
        std::uint32_t refs = 0;
    };

    void push(task_handle h, record& r, std::int64_t due);
    poll_policy merged(const core::poll_settings& own) const;
    std::int64_t next_poll_due(record& r, std::int64_t now, std::uint32_t share = 1);
    std::int64_t static_delay(const record& r) const;
    const std::vector<duration>* ready_ladder(profile_state& p);
    std::optional<std::int64_t> learned_due(profile_state& p, record& r, std::int64_t now);
    std::int64_t first_due(record& r, std::int64_t now);
    std::int64_t shared_due(std::int64_t due, std::int64_t from, std::uint32_t share,
                            duration interval, duration floor = duration(0)) const;
    duration own_floor(const record& r) const;  // 0 for the configured policy
    static bool before(const heap_entry& a, const heap_entry& b) noexcept;
    void place(std::size_t i, const heap_entry& e);  // heap_[i] = e, and e's record knows
    void sift_up(std::size_t i);
    void sift_down(std::size_t i);
    void unqueue(record& r);  // takes r's entry out of the heap
    record* find(task_handle h);
    const record* find(task_handle h) const;
    void forget(record& r);                              // stops tracking r's task
    void seen_running(record& r, std::uint32_t age_ms);  // updates the censored observation

    scheduler_options opt_;
    random_source rng_;
    // Indexed by handle: handles are small dense integers (the poller's slot numbers, reused
    // after release), so a vector costs 32 bytes a slot against a hash map's ~80 per task.
    std::vector<record> tasks_;
    std::size_t size_ = 0;          // tracked tasks
    std::vector<heap_entry> heap_;  // 4-ary min-heap by (due, handle); one entry per queued task
    std::vector<profile_state> profiles_;
    std::unordered_map<action_key, profile_id, action_key_hash> profile_index_;
    std::vector<policy_slot> policies_{1};  // [0] unused: policy 0 is opt_.poll
    std::vector<policy_id> free_policies_;
    std::map<core::poll_settings, policy_id> policy_index_;
};

}  // namespace taskpoller::engine
