#pragma once
// What to do after one poll request failed (docs/design.md "Policies": the request-retry policy,
// separate from the poll schedule), and the exponential backoff both use. Pure functions.
//
// A failed poll never makes a task terminal by itself, except:
//  - "no such task" answers (`not_found_codes`, default 5000) on `not_found_checks` consecutive
//    polls → not_found;
//  - a final error about this task's own request (e.g. 4000 invalid parameter, 5100) → failed,
//    keeping the cloud's code and message.
// Errors about the account or endpoint (41xx auth, 4300, 4600, 6100) would hit every task alike
// and are usually fixed by an operator (new credentials, right host): the task *stalls*, i.e.
// is retried at the longest retry interval until it succeeds or its deadline makes it timed_out.

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

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

/// One failed poll request, as the resolver saw it.
struct poll_failure {
    enum class kind {
        transport,  ///< connect/TLS/timeout/reset, or a non-200 HTTP status
        malformed,  ///< a body that is not the documented shape
        api,        ///< a well-formed answer with a non-zero code
    };
    kind what = kind::transport;
    int code = 0;                ///< the cloud's code (api only)
    std::string_view code_desc;  ///< the cloud's codeDesc, if any (throttling may be named here)
};

enum class retry_action {
    retry,            ///< transient: poll again after the request-retry backoff
    retry_throttled,  ///< 4400: tell the rate limiter (on_throttled), then as `retry`
    retry_resigned,   ///< 4200/4500: re-sign and poll again at once (once; next time → retry)
    count_missing,    ///< "no such task", below the threshold: poll again on the poll schedule
    not_found,        ///< "no such task" for the not_found_checks-th consecutive time: terminal
    stall,            ///< account/endpoint error: retry at the longest retry interval
    fail,             ///< final error for this task's request: terminal `failed`
};

std::string_view to_string(retry_action a) noexcept;

struct retry_options {
    backoff_policy backoff;                  ///< request-retry backoff
    std::uint32_t not_found_checks = 3;      ///< consecutive "no such task" → not_found
    std::vector<int> not_found_codes{5000};  ///< codes that mean "no such task"
};

/// What the caller knows about this task's recent polls (kept in the scheduler's record).
struct retry_history {
    std::uint32_t consecutive_missing = 0;  ///< "no such task" answers before this one
    bool last_was_resign = false;           ///< the previous failure was answered retry_resigned
};

/// Decides the next step after `f`. Uses qcloud::classify for api codes.
retry_action decide(const poll_failure& f, const retry_history& h, const retry_options& o);

}  // namespace taskpoller::engine
