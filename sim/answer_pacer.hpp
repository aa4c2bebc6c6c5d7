#pragma once
// An answer rate for the simulated cloud (`taskpoller-sim --answer-rate R`): at most R API answers
// a second, spaced evenly; a request beyond that is answered late, never refused, as a server
// running at its capacity answers. For benchmarks of a client at a given answer rate
// (bench/poll_throughput --sim-rate). I/O-free: the server passes its steady time.

#include <chrono>

namespace taskpoller::sim {

class answer_pacer {
  public:
    using clock = std::chrono::steady_clock;

    /// `per_second` > 0: answers a second. A rate under one answer in `max_period` is held to
    /// that (a double period beyond the clock's range would not convert).
    explicit answer_pacer(double per_second)
        : period_(1.0 / per_second >= std::chrono::duration<double>(max_period).count()
                      ? clock::duration(max_period)
                      : std::chrono::duration_cast<clock::duration>(
                            std::chrono::duration<double>(1.0 / per_second))) {}

    /// How long to hold an answer that would otherwise go out `base` after `now` (its own
    /// latency): it goes no sooner than one period after the previous answer. Takes the slot.
    clock::duration delay(clock::time_point now, clock::duration base = {}) {
        clock::time_point at = now + base;
        if (at < next_) at = next_;
        // Saturated rather than wrapped: requests that pile up at a very low rate stay late.
        next_ = at < clock::time_point::max() - period_ ? at + period_ : clock::time_point::max();
        return at - now;
    }

  private:
    static constexpr std::chrono::seconds max_period{1'000'000'000};  // ~31.7 years
    clock::duration period_;
    clock::time_point next_{};
};

}  // namespace taskpoller::sim
