#pragma once
// The one duration grammar of taskpoller, shared by the configuration file (config/units),
// the control API (`?wait=`, `"poll":{"timeout":...}`) and taskpollerctl (ctl/duration).
// I/O-free; unit-tested in tests/unit/core/duration_test.cpp.
//
// Grammar: `0`, or one or more `<digits><unit>` parts, unit one of d, h, m, s, ms, the largest
// unit first and each unit at most once: `500ms`, `2s`, `5m`, `1h`, `7d`, `1h30m`, `2s500ms`.
// No sign, no fraction, no spaces. A value too large for int64 milliseconds is not an error of
// the grammar: it saturates at milliseconds::max() and says so, so each caller chooses to cap
// it (a long-poll wait) or refuse it (a configuration value).

#include <chrono>
#include <string>
#include <string_view>

namespace taskpoller::core {

enum class duration_problem {
    none,
    empty,         ///< ""
    sign,          ///< starts with '-' or '+'
    fraction,      ///< contains '.' or ','
    not_a_number,  ///< a part does not start with a digit ("s", "ms5")
    missing_unit,  ///< digits without a unit ("5", "1m30", "5 s")
    unknown_unit,  ///< letters that are no unit ("5sec")
    out_of_order,  ///< a unit repeated or after a smaller one ("30s1m", "1s1s")
};

struct parsed_duration {
    duration_problem problem = duration_problem::none;
    std::chrono::milliseconds value{0};  ///< when problem is none
    bool saturated = false;  ///< the text meant more than milliseconds::max(); value is that max
    std::string_view unit;   ///< the offending letters, for unknown_unit (a view into the text)

    bool ok() const noexcept { return problem == duration_problem::none; }
};

/// Parses `text` with the grammar above. Never throws; see `problem` for what is wrong.
parsed_duration parse_duration(std::string_view text) noexcept;

/// A short phrase for a problem, for messages: "missing unit", "unknown unit", ...
std::string_view describe(duration_problem p) noexcept;

/// A form parse_duration reads back to the same value, largest unit first and hours as the
/// largest unit: `0s`, `250ms`, `2s500ms`, `1m30s`, `48h` (a negative value gets a `-`).
std::string format_duration(std::chrono::milliseconds d);

/// The accepted form, for messages: "use e.g. 500ms, 2s, 5m, 1h or 1h30m".
inline constexpr std::string_view duration_hint = "use e.g. 500ms, 2s, 5m, 1h or 1h30m";

}  // namespace taskpoller::core
