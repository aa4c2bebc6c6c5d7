#pragma once
// A bounded-memory, log-scale histogram of task completion times, with exponential forgetting,
// used by the scheduler to learn each (service, action)'s completion-time distribution online.
// 96 buckets, each 2^(1/4) (~19 %) wider than the last, from 50 ms to ~9.7 days: quantiles are
// accurate to about ±10 %, which is finer than any poll schedule needs. 800 bytes per action.
//
// Two kinds of observation (docs/polling.md "Learning completion times"):
//   - completions (add): the task finished at that age; decayed (`max_weight`);
//   - tasks still running (add_running / move_running / remove_running): the task was last seen
//     running at that age, so its completion time is right-censored there (T > age). These are
//     not decayed: they are the live tasks, each counted once, and the owner moves a task's
//     observation as it ages and removes it when the task ends (O(1) each).
// quantile() is the Kaplan–Meier estimate over the buckets (a life table: a task censored inside
// a bucket counts as at risk for half of it). Without running tasks it is the plain empirical
// quantile of the completions. Counting the running tasks removes the bias of fitting completions
// only, which while a wave of tasks is still running are the fast ones.

#include <array>
#include <cstdint>

#include "engine/types.hpp"

namespace taskpoller::engine {

class duration_histogram {
  public:
    static constexpr std::size_t bucket_count = 96;
    static constexpr double buckets_per_doubling = 4.0;
    static constexpr double min_seconds = 0.05;

    /// `max_weight`: when the completions' total weight exceeds it, every completion count is
    /// halved, so the histogram follows an action whose duration drifts (half-life ≈
    /// max_weight/2 samples).
    explicit duration_histogram(double max_weight = 1000.0) : max_weight_(max_weight) {}

    /// Adds one completion (negative durations count as 0; beyond the range go to the ends).
    void add(duration d) noexcept;

    /// Adds a running task last seen running at age `age` (a right-censored observation).
    void add_running(duration age) noexcept;
    /// Moves a running task's observation from age `from` to age `to` (both as given to
    /// add_running / move_running before). Returns false, changing nothing, when both fall in
    /// the same bucket (or none is counted there).
    bool move_running(duration from, duration to) noexcept;
    /// Removes a running task's observation at age `age` (the task ended or is no longer
    /// tracked). Ignored if that bucket holds none.
    void remove_running(duration age) noexcept;

    /// The p-quantile (p clamped to [0, 1]) of the completion time: the Kaplan–Meier estimate
    /// over the buckets, interpolated geometrically inside its bucket. Returns duration::zero()
    /// when no completion has been added. When the running tasks leave the estimate above 1 − p
    /// at every age observed (the quantile lies beyond what has been seen), returns the upper
    /// edge of the last bucket holding an observation: a lower bound.
    duration quantile(double p) const noexcept;

    /// Current (decayed) weight of the completions: how many recent samples the estimate rests
    /// on.
    double weight() const noexcept { return total_; }
    /// Running tasks currently counted (censored observations).
    std::uint64_t running() const noexcept { return running_total_; }
    /// Completions ever added (not decayed).
    std::uint64_t observations() const noexcept { return observations_; }

    /// The bucket an age falls in, and a bucket's lower edge in seconds (exposed for tests).
    static std::size_t index_of(duration d) noexcept;
    static double lower_bound_of(std::size_t i) noexcept;

  private:
    static std::size_t index_of_seconds(double secs) noexcept;

    std::array<float, bucket_count> counts_{};
    std::array<std::uint32_t, bucket_count> running_{};
    double total_ = 0;
    double max_weight_;
    std::uint64_t running_total_ = 0;
    std::uint64_t observations_ = 0;
};

}  // namespace taskpoller::engine
