#pragma once
// The HTTP `Date` header (RFC 7231 §7.1.1.1): IMF-fixdate, "Sun, 06 Nov 1994 08:49:37 GMT".
// I/O-free. The daemon reads the cloud's Date to measure its own clock's skew
// (engine/clock_skew.hpp); the simulator writes one on every answer.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace taskpoller::http {

/// Unix seconds of an IMF-fixdate, or nullopt for anything else (the obsolete RFC 850 and
/// asctime forms included, an impossible date, a day name that does not match the date, a year
/// before 1970 or after 9999). Never throws.
std::optional<std::int64_t> parse_http_date(std::string_view text) noexcept;

/// The IMF-fixdate of `unix_seconds` (0 ..= 253402300799, i.e. up to the end of year 9999;
/// clamped to that range).
std::string format_http_date(std::int64_t unix_seconds);

}  // namespace taskpoller::http
