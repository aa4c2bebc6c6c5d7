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

    /// `per_second` > 0: answers a second.
    explicit answer_pacer(double per_second)
        : period_(std::chrono::duration_cast<clock::duration>(
              std::chrono::duration<double>(1.0 / per_second))) {}

    /// How long to hold an answer that would otherwise go out `base` after `now` (its own
    /// latency): it goes no sooner than one period after the previous answer. Takes the slot.
    clock::duration delay(clock::time_point now, clock::duration base = {}) {
        clock::time_point at = now + base;
        if (at < next_) at = next_;
        next_ = at + period_;
        return at - now;
    }

  private:
    clock::duration period_;
    clock::time_point next_{};
};

}  // namespace taskpoller::sim
