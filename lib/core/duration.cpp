#include "core/duration.hpp"

#include <array>
#include <cstdint>
#include <limits>

namespace taskpoller::core {
namespace {

struct unit {
    std::string_view name;
    std::int64_t factor;
};

// Largest first: a unit's index is its order.
constexpr std::array<unit, 5> units{
    {{"d", 86'400'000}, {"h", 3'600'000}, {"m", 60'000}, {"s", 1'000}, {"ms", 1}}};

constexpr std::int64_t max_ms = std::numeric_limits<std::int64_t>::max();

bool is_digit(char c) noexcept {
    return c >= '0' && c <= '9';
}
bool is_letter(char c) noexcept {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

// Adds value × factor to total, saturating at max_ms.
void add_saturating(std::int64_t& total, std::uint64_t value, std::int64_t factor,
                    bool& saturated) noexcept {
    std::int64_t part = 0;
    if (value > static_cast<std::uint64_t>(max_ms) ||
        __builtin_mul_overflow(static_cast<std::int64_t>(value), factor, &part) ||
        __builtin_add_overflow(total, part, &total)) {
        total = max_ms;
        saturated = true;
    }
}

parsed_duration problem(duration_problem p, std::string_view unit_text = {}) noexcept {
    parsed_duration out;
    out.problem = p;
    out.unit = unit_text;
    return out;
}

}  // namespace

parsed_duration parse_duration(std::string_view text) noexcept {
    if (text.empty()) return problem(duration_problem::empty);
    if (text.front() == '-' || text.front() == '+') return problem(duration_problem::sign);
    if (text.find_first_of(".,") != std::string_view::npos)
        return problem(duration_problem::fraction);
    if (text == "0") return {};
    std::int64_t total = 0;
    bool saturated = false;
    std::size_t next_unit = 0, i = 0;
    while (i < text.size()) {
        if (!is_digit(text[i])) return problem(duration_problem::not_a_number);
        std::uint64_t value = 0;
        for (; i < text.size() && is_digit(text[i]); ++i) {
            const auto digit = static_cast<std::uint64_t>(text[i] - '0');
            value = value > (std::numeric_limits<std::uint64_t>::max() - digit) / 10
                        ? std::numeric_limits<std::uint64_t>::max()  // saturates below
                        : value * 10 + digit;
        }
        const std::size_t unit_at = i;
        while (i < text.size() && is_letter(text[i])) ++i;
        const auto name = text.substr(unit_at, i - unit_at);
        if (name.empty()) return problem(duration_problem::missing_unit);
        std::size_t u = 0;
        while (u < units.size() && units[u].name != name) ++u;
        if (u == units.size()) return problem(duration_problem::unknown_unit, name);
        if (u < next_unit) return problem(duration_problem::out_of_order);
        next_unit = u + 1;
        if (!saturated) add_saturating(total, value, units[u].factor, saturated);
    }
    parsed_duration out;
    out.value = std::chrono::milliseconds(total);
    out.saturated = saturated;
    return out;
}

std::string_view describe(duration_problem p) noexcept {
    switch (p) {
        case duration_problem::none:
            return "valid";
        case duration_problem::empty:
            return "empty";
        case duration_problem::sign:
            return "must not have a sign";
        case duration_problem::fraction:
            return "has a fraction; use a smaller unit instead";
        case duration_problem::not_a_number:
            return "expected a number";
        case duration_problem::missing_unit:
            return "missing unit";
        case duration_problem::unknown_unit:
            return "unknown unit";
        case duration_problem::out_of_order:
            return "units repeated or out of order; write the largest unit first, like 1m30s";
    }
    return "invalid";
}

std::string format_duration(std::chrono::milliseconds d) {
    auto ms = d.count();
    if (ms == 0) return "0s";
    std::string out;
    if (ms < 0) {  // not produced by the parser, but printing must not lie
        out = "-";
        ms = ms == std::numeric_limits<std::int64_t>::min() ? max_ms : -ms;
    }
    for (const auto& u : units) {
        if (u.name == "d") continue;  // 48h reads better than 2d
        if (ms >= u.factor) {
            out += std::to_string(ms / u.factor);
            out += u.name;
            ms %= u.factor;
        }
    }
    return out;
}

}  // namespace taskpoller::core
