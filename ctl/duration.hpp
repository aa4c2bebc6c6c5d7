#pragma once
// Durations as people type them on the command line and as the control API expects them.

#include <chrono>
#include <string>
#include <string_view>

#include "core/result.hpp"

namespace taskpoller::ctl {

/// Parses a duration in the grammar of core/duration.hpp, the daemon's ("500ms", "30s", "5m",
/// "1h", "1h30m", "1d"; largest unit first). A bare "0" is accepted. Fails with a message naming
/// the input on anything else (missing or unknown unit, sign, units out of order) and on values
/// beyond 30 days.
core::result<std::chrono::milliseconds> parse_duration(std::string_view text);

/// Formats `d` in the largest single unit that represents it exactly ("90s", "5m", "1500ms"),
/// the form the daemon accepts in requests. Negative values are formatted as "0ms".
std::string format_duration(std::chrono::milliseconds d);

/// Formats `d` for people, rounded to the most significant two units ("1h5m", "2m3s", "4.2s").
std::string humanize_duration(std::chrono::milliseconds d);

}  // namespace taskpoller::ctl
