#pragma once
// Small vocabulary shared by the engine's I/O-free classes: the steady clock they are driven by
// and the (service, action) key that rate limits and learned schedules are kept per.

#include <chrono>
#include <cstddef>
#include <functional>
#include <string>

namespace taskpoller::engine {

/// Every engine class takes time as an argument (never reads a clock), so tests drive it.
using steady_clock = std::chrono::steady_clock;
using time_point = steady_clock::time_point;
using duration = steady_clock::duration;
using std::chrono::milliseconds;

/// (service, action), e.g. ("lb", "DescribeLoadBalancersTaskResult"). Written `lb/Action`.
struct action_key {
    std::string service;
    std::string action;
    friend bool operator==(const action_key&, const action_key&) = default;
};

inline std::string to_string(const action_key& k) {
    return k.service + "/" + k.action;
}

struct action_key_hash {
    std::size_t operator()(const action_key& k) const noexcept {
        const std::size_t h = std::hash<std::string>{}(k.service);
        return h ^
               (std::hash<std::string>{}(k.action) + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2));
    }
};

/// Seconds as a double, for rate arithmetic.
inline double seconds(duration d) {
    return std::chrono::duration<double>(d).count();
}

/// A double number of seconds as a steady-clock duration (rounded up, so waits are never short).
inline duration from_seconds(double s) {
    const auto d = std::chrono::duration<double>(s);
    auto r = std::chrono::duration_cast<duration>(d);
    if (std::chrono::duration<double>(r) < d) ++r;
    return r;
}

}  // namespace taskpoller::engine
