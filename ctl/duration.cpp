#include "ctl/duration.hpp"

#include <fmt/format.h>

#include <cstdint>

namespace taskpoller::ctl {
namespace {

constexpr std::int64_t max_ms = 30LL * 24 * 3600 * 1000;

// Milliseconds per unit, or 0 if `unit` is not one.
std::int64_t unit_ms(std::string_view unit) {
    if (unit == "ms") return 1;
    if (unit == "s") return 1000;
    if (unit == "m") return 60'000;
    if (unit == "h") return 3'600'000;
    return 0;
}

core::error bad(std::string_view text, std::string_view why) {
    return core::error{
        fmt::format("invalid duration \"{}\": {} (use e.g. 500ms, 30s, 5m, 1h)", text, why)};
}

}  // namespace

core::result<std::chrono::milliseconds> parse_duration(std::string_view text) {
    if (text == "0") return std::chrono::milliseconds{0};
    if (text.empty()) return bad(text, "empty");
    std::int64_t total = 0;
    std::size_t i = 0;
    while (i < text.size()) {
        std::int64_t n = 0;
        const std::size_t digits_at = i;
        while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
            n = n * 10 + (text[i] - '0');
            if (n > max_ms) return bad(text, "too large (at most 30 days)");
            ++i;
        }
        if (i == digits_at) return bad(text, "expected a number");
        const std::size_t unit_at = i;
        while (i < text.size() && (text[i] < '0' || text[i] > '9')) ++i;
        const std::int64_t per = unit_ms(text.substr(unit_at, i - unit_at));
        if (per == 0) {
            return bad(text, unit_at == i ? "missing unit" : "unknown unit");
        }
        total += n * per;
        if (total > max_ms) return bad(text, "too large (at most 30 days)");
    }
    return std::chrono::milliseconds{total};
}

std::string format_duration(std::chrono::milliseconds d) {
    const std::int64_t ms = d.count() < 0 ? 0 : d.count();
    if (ms != 0 && ms % 3'600'000 == 0) return fmt::format("{}h", ms / 3'600'000);
    if (ms != 0 && ms % 60'000 == 0) return fmt::format("{}m", ms / 60'000);
    if (ms % 1000 == 0) return fmt::format("{}s", ms / 1000);
    return fmt::format("{}ms", ms);
}

std::string humanize_duration(std::chrono::milliseconds d) {
    const std::int64_t ms = d.count() < 0 ? 0 : d.count();
    if (ms < 1000) return fmt::format("{}ms", ms);
    if (ms < 60'000) return fmt::format("{:.1f}s", static_cast<double>(ms) / 1000.0);
    const std::int64_t s = ms / 1000;
    if (s < 3600) return fmt::format("{}m{}s", s / 60, s % 60);
    if (s < 86'400) return fmt::format("{}h{}m", s / 3600, (s % 3600) / 60);
    return fmt::format("{}d{}h", s / 86'400, (s % 86'400) / 3600);
}

}  // namespace taskpoller::ctl
