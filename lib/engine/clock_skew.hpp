#pragma once
// The daemon's clock against the cloud's (issue 18). Every answer carries the cloud's `Date`
// header; with the local system time at the midpoint of the call (sent .. received) it gives the
// skew, cloud − local. The cloud refuses a signature whose timestamp is more than 5 minutes off
// (API 2.0 code 4500, API 3.0 AuthFailure.SignatureExpire: docs/protocol.md), so a skewed clock
// fails every call. I/O-free; api_client takes the readings.
//
// Precision: Date has a resolution of one second (the cloud truncates its time to the second),
// so the cloud's time at the answer is within [Date, Date + 1 s), and the answer was made at an
// unknown moment between sending and receiving. The skew is taken at the middle of both ranges:
// uncertainty = half the round trip + 0.5 s. The levels judge the smallest skew compatible with
// the reading, so a reading never warns because of its own resolution.

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "core/clock.hpp"

namespace taskpoller::engine {

using std::chrono::milliseconds;

/// One reading of the cloud's clock.
struct clock_reading {
    std::string service{};         ///< the service whose answer it was (empty: not known)
    milliseconds skew{};           ///< cloud − local: > 0 when this machine's clock is behind
    milliseconds rtt{};            ///< the call's round trip (send .. receive)
    core::sys_time measured_at{};  ///< local time at the middle of the call

    /// Half the round trip plus half of Date's one-second resolution.
    milliseconds uncertainty() const noexcept { return rtt / 2 + milliseconds(500); }
};

/// A reading from an answer's Date header (`date`, IMF-fixdate) and the local system times the
/// call was sent and its answer received. nullopt when the header is missing or not a date, or
/// when `received` precedes `sent` (the local clock was stepped during the call). Never throws.
std::optional<clock_reading> read_clock(std::string_view date, core::sys_time sent,
                                        core::sys_time received);

/// Beyond this |skew| the daemon warns: requests still pass, but the clock is drifting.
inline constexpr std::chrono::seconds skew_warn_after{60};
/// The cloud's signature window: a request whose timestamp is further off is refused (API 2.0
/// Timestamp, API 3.0 X-TC-Timestamp: 5 minutes, docs/protocol.md).
inline constexpr std::chrono::seconds signature_window{300};

enum class skew_level { ok, warn, fail };
std::string_view to_string(skew_level l) noexcept;

/// ok, warn (|skew| − uncertainty > skew_warn_after) or fail (> signature_window).
skew_level judge_skew(milliseconds skew, milliseconds uncertainty) noexcept;

/// "3.2 s behind the cloud", "600.0 s ahead of the cloud", or "in step with the cloud" when
/// |skew| is under 50 ms or within `uncertainty` (a Date header has 1 s resolution: a reading
/// of 0.4 s ± 0.5 s does not say the clocks differ).
std::string describe_skew(milliseconds skew, milliseconds uncertainty = milliseconds(0));
/// describe_skew and the uncertainty: "0.3 s behind the cloud (±0.6 s)".
std::string describe_reading(const clock_reading& r);

}  // namespace taskpoller::engine
