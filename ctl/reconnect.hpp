#pragma once
// How `taskpollerctl wait` tries the daemon again after losing it (a restart): the delay before
// each attempt and until when it keeps trying. I/O-free: randomness is injected.

#include <chrono>
#include <functional>
#include <optional>

namespace taskpoller::ctl {

class reconnect_backoff {
  public:
    using milliseconds = std::chrono::milliseconds;
    static constexpr milliseconds first{100};
    static constexpr milliseconds ceiling{2000};
    /// Without --timeout, how long the daemon may stay away before wait gives up.
    static constexpr milliseconds default_limit{std::chrono::minutes{5}};

    /// `rng` returns uniform numbers in [0, 1).
    explicit reconnect_backoff(std::function<double()> rng) : rng_(std::move(rng)) {}

    /// The delay before the next attempt: 100 ms doubling up to 2 s, each jittered uniformly
    /// in [d/2, d] so clients that lost the same daemon do not come back in step.
    milliseconds next();
    /// The daemon answered: the next loss starts again from 100 ms.
    void reset() noexcept { step_ = first; }

    /// When to stop trying: at the wait's own deadline (`wait_deadline`, from --timeout) if
    /// there is one, else `limit` after the daemon was lost (`lost_at`).
    template <class TimePoint>
    static TimePoint give_up_at(TimePoint lost_at, std::optional<TimePoint> wait_deadline,
                                milliseconds limit = default_limit) {
        return wait_deadline ? *wait_deadline : lost_at + limit;
    }

  private:
    std::function<double()> rng_;
    milliseconds step_ = first;
};

}  // namespace taskpoller::ctl
