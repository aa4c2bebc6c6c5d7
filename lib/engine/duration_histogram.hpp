#pragma once
// A bounded-memory, log-scale histogram of task completion times, with exponential forgetting,
// used by the scheduler to learn each (service, action)'s completion-time distribution online.
// 96 buckets, each 2^(1/4) (~19 %) wider than the last, from 50 ms to ~9.7 days: quantiles are
// accurate to about ±10 %, which is finer than any poll schedule needs. 400 bytes per action.

#include <array>
#include <cstdint>

#include "engine/types.hpp"

namespace taskpoller::engine {

class duration_histogram {
  public:
    static constexpr std::size_t bucket_count = 96;
    static constexpr double buckets_per_doubling = 4.0;
    static constexpr double min_seconds = 0.05;

    /// `max_weight`: when the total weight exceeds it, every count is halved, so the histogram
    /// follows an action whose duration drifts (half-life ≈ max_weight/2 samples).
    explicit duration_histogram(double max_weight = 1000.0) : max_weight_(max_weight) {}

    /// Adds one observation (negative durations count as 0; beyond the range go to the ends).
    void add(duration d) noexcept;

    /// The p-quantile (p clamped to [0, 1]), interpolated geometrically inside its bucket.
    /// Returns duration::zero() when empty.
    duration quantile(double p) const noexcept;

    /// Current (decayed) weight: how many recent samples the estimate rests on.
    double weight() const noexcept { return total_; }
    /// Observations ever added (not decayed).
    std::uint64_t observations() const noexcept { return observations_; }

  private:
    static std::size_t index_of(double secs) noexcept;
    static double lower_bound_of(std::size_t i) noexcept;

    std::array<float, bucket_count> counts_{};
    double total_ = 0;
    double max_weight_;
    std::uint64_t observations_ = 0;
};

}  // namespace taskpoller::engine
