#pragma once
// The clock interface: wall time for timestamps people read (created_at, deadlines, retention)
// and steady time for scheduling. Code takes a clock& so tests can drive time by hand.

#include <chrono>

namespace taskpoller::core {

using sys_time = std::chrono::system_clock::time_point;
using steady_time = std::chrono::steady_clock::time_point;

class clock {
  public:
    virtual ~clock() = default;
    virtual sys_time system_now() const = 0;
    virtual steady_time steady_now() const = 0;
};

/// The process's real clocks.
class real_clock final : public clock {
  public:
    sys_time system_now() const override { return std::chrono::system_clock::now(); }
    steady_time steady_now() const override { return std::chrono::steady_clock::now(); }
};

/// A clock that moves only when told. Starts at the given wall time (default: 2026-01-01 UTC)
/// and an arbitrary steady epoch; advance() moves both together, set_system() only the wall.
class manual_clock final : public clock {
  public:
    explicit manual_clock(sys_time start = sys_time{std::chrono::seconds{1767225600}})
        : system_(start), steady_(std::chrono::hours{1}) {}

    sys_time system_now() const override { return system_; }
    steady_time steady_now() const override { return steady_; }

    void advance(std::chrono::nanoseconds d) {
        system_ += std::chrono::duration_cast<sys_time::duration>(d);
        steady_ += std::chrono::duration_cast<steady_time::duration>(d);
    }
    /// Wall clocks jump (NTP, operators); steady clocks do not.
    void set_system(sys_time t) { system_ = t; }

  private:
    sys_time system_;
    steady_time steady_;
};

}  // namespace taskpoller::core
