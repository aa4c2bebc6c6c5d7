#include "config/units.hpp"

#include <fmt/format.h>

#include <array>
#include <limits>
#include <optional>

#include "core/duration.hpp"

namespace taskpoller::config {
namespace {

constexpr std::string_view duration_hint = "expected a number with a unit, like 500ms, 2s, 5m, 1h";

struct unit {
    std::string_view name;
    std::int64_t factor;
};

core::error fail(std::string message) {
    return core::error{std::move(message)};
}

bool is_digit(char c) {
    return c >= '0' && c <= '9';
}

// Reads the leading digits of `rest` into `value`; false on overflow.
bool take_number(std::string_view& rest, std::uint64_t& value) {
    value = 0;
    while (!rest.empty() && is_digit(rest.front())) {
        const auto digit = static_cast<std::uint64_t>(rest.front() - '0');
        if (value > (std::numeric_limits<std::uint64_t>::max() - digit) / 10) return false;
        value = value * 10 + digit;
        rest.remove_prefix(1);
    }
    return true;
}

// Errors about the shape of the text that apply before any number is read.
std::optional<core::error> precheck(std::string_view text, std::string_view what,
                                    std::string_view hint) {
    if (text.empty()) return fail(fmt::format("empty {}; {}", what, hint));
    if (text.front() == '-')
        return fail(fmt::format("negative {} \"{}\" is not allowed", what, text));
    if (text.front() == '+') return fail(fmt::format("{} \"{}\" must not have a sign", what, text));
    if (text.find_first_of(".,") != std::string_view::npos) {
        return fail(
            fmt::format("{} \"{}\" has a fraction; use a smaller unit instead", what, text));
    }
    if (!is_digit(text.front()))
        return fail(fmt::format("invalid {} \"{}\"; {}", what, text, hint));
    return std::nullopt;
}

}  // namespace

core::result<duration> parse_duration(std::string_view text) {
    if (auto e = precheck(text, "duration", duration_hint)) return *e;
    // The grammar is core's (shared with the control API and taskpollerctl); the messages are
    // the configuration's.
    const auto p = core::parse_duration(text);
    using problem = core::duration_problem;
    switch (p.problem) {
        case problem::none:
            break;
        case problem::missing_unit:
            return fail(fmt::format("duration \"{}\" is missing a unit; {}", text, duration_hint));
        case problem::unknown_unit:
            return fail(fmt::format("unknown unit \"{}\" in duration \"{}\"; use ms, s, m, h or d",
                                    p.unit, text));
        case problem::out_of_order:
            return fail(
                fmt::format("units repeated or out of order in duration \"{}\"; write the "
                            "largest unit first, like 1m30s",
                            text));
        default:
            return fail(fmt::format("invalid duration \"{}\"; {}", text, duration_hint));
    }
    if (p.saturated) return fail(fmt::format("duration \"{}\" is too large", text));
    return p.value;
}

std::string format_duration(duration d) {
    return core::format_duration(d);
}

namespace {

constexpr std::array<unit, 9> size_units{{{"B", 1},
                                          {"KiB", 1LL << 10},
                                          {"MiB", 1LL << 20},
                                          {"GiB", 1LL << 30},
                                          {"TiB", 1LL << 40},
                                          {"KB", 1'000},
                                          {"MB", 1'000'000},
                                          {"GB", 1'000'000'000},
                                          {"TB", 1'000'000'000'000}}};

constexpr std::string_view size_hint = "expected a byte count like 4096, 64KiB or 8MiB";

}  // namespace

core::result<std::uint64_t> parse_size(std::string_view text) {
    if (auto e = precheck(text, "size", size_hint)) return *e;
    std::string_view rest = text;
    std::uint64_t value = 0;
    if (!take_number(rest, value)) return fail(fmt::format("size \"{}\" is too large", text));
    const auto name = rest;
    if (name.empty()) return value;
    for (const auto& u : size_units) {
        if (u.name != name) continue;
        std::uint64_t bytes = 0;
        if (__builtin_mul_overflow(value, static_cast<std::uint64_t>(u.factor), &bytes)) {
            return fail(fmt::format("size \"{}\" is too large", text));
        }
        return bytes;
    }
    return fail(
        fmt::format("unknown unit \"{}\" in size \"{}\"; use B, KiB, MiB, GiB, TiB, KB, "
                    "MB, GB or TB",
                    name, text));
}

std::string format_size(std::uint64_t bytes) {
    static constexpr std::array<std::string_view, 4> names{"TiB", "GiB", "MiB", "KiB"};
    for (std::size_t i = 0; i < names.size(); ++i) {
        const std::uint64_t factor = 1ULL << (10 * (names.size() - i));
        if (bytes != 0 && bytes % factor == 0) return fmt::format("{}{}", bytes / factor, names[i]);
    }
    return fmt::format("{}B", bytes);
}

core::result<unsigned> parse_file_mode(std::string_view text) {
    const auto hint = "expected an octal mode like \"0660\"";
    if (text.empty() || text.size() > 4)
        return fail(fmt::format("invalid mode \"{}\"; {}", text, hint));
    unsigned mode = 0;
    for (char c : text) {
        if (c < '0' || c > '7') return fail(fmt::format("invalid mode \"{}\"; {}", text, hint));
        mode = mode * 8 + static_cast<unsigned>(c - '0');
    }
    if (mode > 0777) {
        return fail(
            fmt::format("mode \"{}\" is out of range: at most 0777 (no setuid, setgid or "
                        "sticky bits)",
                        text));
    }
    return mode;
}

std::string format_file_mode(unsigned mode) {
    return fmt::format("0{:03o}", mode);
}

}  // namespace taskpoller::config
