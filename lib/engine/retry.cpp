#include "engine/retry.hpp"

#include <algorithm>
#include <cmath>

#include "qcloud/error_codes.hpp"

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

namespace {

// Codes that say the account, credentials or endpoint are wrong rather than this task.
bool is_account_wide(int code) noexcept {
    return (code >= 4100 && code < 4200) || code == 4300 || code == 4600 || code == 6100;
}

retry_action decide_api(int code, std::string_view desc, const retry_history& h,
                        const retry_options& o) {
    if (qcloud::is_throttle_desc(desc)) return retry_action::retry_throttled;
    // A non-numeric code we cannot read says nothing about the task: like a malformed body.
    if (code == qcloud::code::unrecognised) return retry_action::retry;
    if (std::find(o.not_found_codes.begin(), o.not_found_codes.end(), code) !=
        o.not_found_codes.end())
        return h.consecutive_missing + 1 >= o.not_found_checks ? retry_action::not_found
                                                               : retry_action::count_missing;
    switch (qcloud::classify(code)) {
        case qcloud::error_class::throttled:
            return retry_action::retry_throttled;
        case qcloud::error_class::retry_backoff:
            return retry_action::retry;
        case qcloud::error_class::resign_once:
            return h.last_was_resign ? retry_action::retry : retry_action::retry_resigned;
        case qcloud::error_class::success:
        case qcloud::error_class::partial:
            // A poll answered 0/5400 but the resolver could not use it: treat as malformed.
            return retry_action::retry;
        case qcloud::error_class::final:
            break;
    }
    return is_account_wide(code) ? retry_action::stall : retry_action::fail;
}

}  // namespace

retry_action decide(const poll_failure& f, const retry_history& h, const retry_options& o) {
    switch (f.what) {
        case poll_failure::kind::transport:
        case poll_failure::kind::malformed:
            return retry_action::retry;
        case poll_failure::kind::api:
            return decide_api(f.code, f.code_desc, h, o);
    }
    return retry_action::retry;
}

}  // namespace taskpoller::engine
