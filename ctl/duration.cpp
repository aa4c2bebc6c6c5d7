#include "ctl/duration.hpp"

#include <fmt/format.h>

#include <cstdint>

#include "core/duration.hpp"

namespace taskpoller::ctl {
namespace {

constexpr std::int64_t max_ms = 30LL * 24 * 3600 * 1000;

core::error bad(std::string_view text, std::string_view why) {
    return core::error{
        fmt::format("invalid duration \"{}\": {} (use e.g. 500ms, 30s, 5m, 1h)", text, why)};
}

}  // namespace

core::result<std::chrono::milliseconds> parse_duration(std::string_view text) {
    const auto p = core::parse_duration(text);  // the grammar the daemon and its config use
    if (!p.ok()) return bad(text, core::describe(p.problem));
    if (p.saturated || p.value.count() > max_ms) return bad(text, "too large (at most 30 days)");
    return p.value;
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
