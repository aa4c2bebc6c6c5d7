#pragma once
// Decides which faults hit a request, from the configured probabilities and a seeded RNG, so a
// run with the same seed and the same request sequence injects the same faults. I/O-free.

#include <cstdint>
#include <optional>
#include <random>
#include <string>

#include "sim/config.hpp"

namespace taskpoller::sim {

struct fault_plan {
    bool latency = false;
    /// A fault that replaces processing: http_5xx, close_before, code_6000, code_6200.
    std::optional<fault_kind> before;
    /// A fault applied to the answer of an executed action: close_after, truncated_json,
    /// malformed_json, slow_drip.
    std::optional<fault_kind> after;
};

/// True for the kinds that prevent the action from running.
bool is_before_kind(fault_kind k) noexcept;

class fault_injector {
  public:
    fault_injector(fault_config cfg, std::uint64_t seed);

    /// Rolls every kind whose probability for `action` is non-zero, in enum order; the first
    /// "before" and the first "after" kind that hit are kept.
    fault_plan decide(const std::string& action);

    /// Restarts the RNG from the seed (used by /_sim/reset).
    void reseed() { rng_.seed(seed_); }

    const fault_config& settings() const noexcept { return cfg_; }

  private:
    fault_config cfg_;
    std::uint64_t seed_;
    std::mt19937_64 rng_;
    bool any_ = false;
};

}  // namespace taskpoller::sim
