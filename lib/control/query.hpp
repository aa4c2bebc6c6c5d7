#pragma once
// Request-target helpers, all I/O-free: splitting path and query, percent-decoding, query
// parameters, and the duration syntax used by `?wait=30s`.

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "control/api_error.hpp"

namespace taskpoller::control {

/// Decoded `name=value` pairs of a query string, in order; a name may repeat.
class query_params {
  public:
    query_params() = default;
    explicit query_params(std::vector<std::pair<std::string, std::string>> items)
        : items_(std::move(items)) {}

    /// The first value for `name`, or nullopt when absent.
    std::optional<std::string_view> get(std::string_view name) const;
    /// Every value given for `name` (`?state=failed&state=timed_out`).
    std::vector<std::string_view> all(std::string_view name) const;
    const std::vector<std::pair<std::string, std::string>>& items() const { return items_; }

  private:
    std::vector<std::pair<std::string, std::string>> items_;
};

/// Decodes %XX (either case); `+` becomes a space only when `plus_as_space` (query strings, not
/// paths). Fails with 400 bad_request on a `%` not followed by two hex digits or a decoded NUL.
expected<std::string> percent_decode(std::string_view encoded, bool plus_as_space);

/// Parses `a=1&b=x%20y`. Empty pieces are skipped; a piece without `=` has an empty value.
/// Fails with 400 naming the bad piece on invalid %-escapes or an empty name.
expected<query_params> parse_query(std::string_view query);

/// Splits a request target into (path, query) at the first `?`.
std::pair<std::string_view, std::string_view> split_target(std::string_view target);

/// Parses a duration in the grammar of core/duration.hpp (`500ms`, `30s`, `1h30m`, `7d`); a bare
/// `0` is zero. Fails with 400 naming `what`: "not a duration" with the reason, or "too long"
/// beyond ~100 years (such values are refused here, where they would be kept, e.g. poll.timeout).
expected<std::chrono::milliseconds> parse_duration(std::string_view text,
                                                   std::string_view what = "duration");

/// Reads an optional `?name=<duration>` and caps it at `max` (long-poll waits are bounded by
/// the server, not the client): any valid duration, however large (`999999h`, or beyond the
/// range of milliseconds), becomes `max`. Absent → nullopt; not a duration → 400.
expected<std::optional<std::chrono::milliseconds>> query_duration(const query_params& q,
                                                                  std::string_view name,
                                                                  std::chrono::milliseconds max);

}  // namespace taskpoller::control
