#pragma once
// What to do after one poll request failed (docs/design.md "Policies": the request-retry policy,
// separate from the poll schedule), and the exponential backoff both use. Pure functions.
//
// A failed poll never makes a task terminal by itself, except:
//  - "no such task" answers (failure_class::missing; API 2.0: 5000) on `not_found_checks`
//    consecutive polls → not_found;
//  - a final error about this task's own request (failure_class::final; API 2.0: e.g. 4000
//    invalid parameter, 5100) → failed, keeping the cloud's code and message.
// Errors about the account or endpoint (failure_class::account; API 2.0: 41xx auth, 4300, 4600,
// 6100) would hit every task alike and are usually fixed by an operator (new credentials, right
// host): the task *stalls*, i.e. is retried at the longest retry interval until it succeeds or
// its deadline makes it timed_out.

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "core/polling_defaults.hpp"
#include "engine/outcomes.hpp"
#include "engine/types.hpp"

namespace taskpoller::engine {

enum class jitter_mode { none, full };

/// delay(n) = min(max, initial * multiplier^n); with full jitter a uniform draw in [0, delay(n)]
/// ("full jitter": spreads retries of many tasks that failed together).
struct backoff_policy {
    duration initial = milliseconds(500);
    double multiplier = 2.0;
    duration max = std::chrono::seconds(30);
    jitter_mode jitter = jitter_mode::full;
};

/// A uniform random number in [0, 1); injected so schedules are reproducible in tests.
using random_source = std::function<double()>;

/// The un-jittered delay of attempt `n` (0-based). Saturates at policy.max; never negative.
duration backoff_ceiling(const backoff_policy& p, std::uint32_t n) noexcept;

/// The delay of attempt `n`: the ceiling, or with full jitter `u * ceiling` where u = rng()
/// (clamped to [0, 1]). `rng` may be empty when jitter is none.
duration backoff_delay(const backoff_policy& p, std::uint32_t n, const random_source& rng);

enum class retry_action {
    retry,            ///< transient: poll again after the request-retry backoff
    retry_throttled,  ///< throttled: tell the rate limiter (on_throttled), then as `retry`
    retry_resigned,   ///< expired signature/replay: re-sign and poll again at once (once)
    count_missing,    ///< "no such task", below the threshold: poll again on the poll schedule
    not_found,        ///< "no such task" for the not_found_checks-th consecutive time: terminal
    stall,            ///< account/endpoint error: retry at the longest retry interval
    fail,             ///< final error for this task's request: terminal `failed`
};

std::string_view to_string(retry_action a) noexcept;

struct retry_options {
    backoff_policy backoff;  ///< request-retry backoff
    std::uint32_t not_found_checks = core::polling_defaults::not_found_checks;  ///< → not_found
};

/// What the caller knows about this task's recent polls (kept in the scheduler's record).
struct retry_history {
    std::uint32_t consecutive_missing = 0;  ///< "no such task" answers before this one
    bool last_was_resign = false;           ///< the previous failure was answered retry_resigned
};

/// Decides the next step after `f` from its kind and class (the protocol classified its code).
retry_action decide(const call_failure& f, const retry_history& h, const retry_options& o);

}  // namespace taskpoller::engine
