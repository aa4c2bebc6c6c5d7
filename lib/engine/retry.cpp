#include "engine/retry.hpp"

#include <algorithm>
#include <cmath>

namespace taskpoller::engine {

duration backoff_ceiling(const backoff_policy& p, std::uint32_t n) noexcept {
    const double initial = std::max(0.0, seconds(p.initial));
    const double cap = std::max(0.0, seconds(p.max));
    const double mult = std::isfinite(p.multiplier) ? std::max(1.0, p.multiplier) : 1.0;
    // pow() overflows to inf for large n, which min() then caps.
    const double d = std::min(cap, initial * std::pow(mult, static_cast<double>(n)));
    return std::chrono::duration_cast<duration>(std::chrono::duration<double>(d));
}

duration backoff_delay(const backoff_policy& p, std::uint32_t n, const random_source& rng) {
    const duration ceiling = backoff_ceiling(p, n);
    if (p.jitter == jitter_mode::none || !rng) return ceiling;
    const double u = std::clamp(rng(), 0.0, 1.0);
    return std::chrono::duration_cast<duration>(ceiling * u);
}

std::string_view to_string(retry_action a) noexcept {
    switch (a) {
        case retry_action::retry:
            return "retry";
        case retry_action::retry_throttled:
            return "retry_throttled";
        case retry_action::retry_resigned:
            return "retry_resigned";
        case retry_action::count_missing:
            return "count_missing";
        case retry_action::not_found:
            return "not_found";
        case retry_action::stall:
            return "stall";
        case retry_action::fail:
            return "fail";
    }
    return "unknown";
}

retry_action decide(const call_failure& f, const retry_history& h, const retry_options& o) {
    if (f.what != call_failure::kind::api) return retry_action::retry;
    switch (f.cls) {
        case failure_class::throttled:
            return retry_action::retry_throttled;
        case failure_class::transient:
            return retry_action::retry;
        case failure_class::resign:
            return h.last_was_resign ? retry_action::retry : retry_action::retry_resigned;
        case failure_class::missing:
            return h.consecutive_missing + 1 >= o.not_found_checks ? retry_action::not_found
                                                                   : retry_action::count_missing;
        case failure_class::account:
            return retry_action::stall;
        case failure_class::final:
            return retry_action::fail;
    }
    return retry_action::retry;
}

}  // namespace taskpoller::engine
