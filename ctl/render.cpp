#include "ctl/render.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>

#include "ctl/duration.hpp"

namespace taskpoller::ctl {
namespace {

constexpr std::array<std::string_view, 9> canonical_states{"pending",   "running",   "succeeded",
                                                           "failed",    "timed_out", "not_found",
                                                           "cancelled", "rejected",  "unknown"};

std::string_view colour_code(std::string_view state) noexcept {
    if (state == "succeeded" || state == "done") return "\x1b[32m";
    if (state == "failed" || state == "rejected" || state == "not_found") return "\x1b[31m";
    if (state == "timed_out" || state == "unknown") return "\x1b[33m";
    if (state == "running" || state == "submitted" || state == "submitting") return "\x1b[36m";
    if (state == "cancelled") return "\x1b[35m";
    return {};
}

// "[####------]": `cells` cells, the finished share filled.
std::string progress_bar(std::int64_t finished, std::int64_t total, int cells) {
    cells = std::max(cells, 1);
    const auto filled = total == 0 ? 0 : static_cast<int>(finished * cells / total);
    std::string bar = "[";
    bar.append(static_cast<std::size_t>(filled), '#');
    bar.append(static_cast<std::size_t>(cells - filled), '-');
    return bar + "]";
}

// "12s", "3m5s", "2h10m", "3d4h".
std::string whole_seconds(std::int64_t s) {
    if (s < 60) return fmt::format("{}s", s);
    if (s < 3600) return fmt::format("{}m{}s", s / 60, s % 60);
    if (s < 86'400) return fmt::format("{}h{}m", s / 3600, (s % 3600) / 60);
    return fmt::format("{}d{}h", s / 86'400, (s % 86'400) / 3600);
}

// The first code points of plain `s` that fit in `width` columns.
std::string cut_to_width(std::string_view s, std::size_t width) {
    std::size_t n = 0;
    std::size_t i = 0;
    for (; i < s.size(); ++i) {
        if ((static_cast<unsigned char>(s[i]) & 0xC0) != 0x80 && n++ == width) break;
    }
    return std::string(s.substr(0, i));
}

}  // namespace

std::size_t display_width(std::string_view s) noexcept {
    std::size_t n = 0;
    for (std::size_t i = 0; i < s.size(); ++i) {
        const auto c = static_cast<unsigned char>(s[i]);
        if (c == 0x1b && i + 1 < s.size() && s[i + 1] == '[') {
            // CSI: parameters and intermediates, then one final byte in 0x40..0x7E.
            for (i += 2; i < s.size(); ++i) {
                const auto f = static_cast<unsigned char>(s[i]);
                if (f >= 0x40 && f <= 0x7E) break;
            }
            continue;
        }
        if ((c & 0xC0) != 0x80) ++n;
    }
    return n;
}

bool colour_enabled(bool stdout_is_tty, bool no_color_flag, const char* no_color_env) noexcept {
    const bool env_set = no_color_env != nullptr && no_color_env[0] != '\0';
    return stdout_is_tty && !no_color_flag && !env_set;
}

std::string colour_state(std::string_view state, std::string_view text, bool colour) {
    const auto code = colour ? colour_code(state) : std::string_view{};
    if (code.empty()) return std::string(text);
    return fmt::format("{}{}\x1b[0m", code, text);
}

std::string sanitize(std::string_view s) {
    std::string out(s);
    for (char& c : out) {
        const auto u = static_cast<unsigned char>(c);
        if (u < 0x20 || u == 0x7F) c = '?';
    }
    return out;
}

std::string render_table(const std::vector<std::string>& headers,
                         const std::vector<std::vector<cell>>& rows, bool colour) {
    std::vector<std::size_t> widths;
    for (const auto& h : headers) widths.push_back(display_width(h));
    for (const auto& row : rows) {
        for (std::size_t i = 0; i < row.size() && i < widths.size(); ++i) {
            widths[i] = std::max(widths[i], display_width(sanitize(row[i].text)));
        }
    }
    std::string out;
    auto emit = [&](std::size_t i, std::string_view text, std::string_view state) {
        const bool last = i + 1 == widths.size();
        out += colour_state(state, text, colour);
        if (!last) out.append(widths[i] - display_width(text) + 2, ' ');
    };
    for (std::size_t i = 0; i < headers.size(); ++i) emit(i, headers[i], {});
    out += '\n';
    for (const auto& row : rows) {
        for (std::size_t i = 0; i < widths.size(); ++i) {
            if (i < row.size()) {
                emit(i, sanitize(row[i].text), row[i].state);
            } else {
                emit(i, "", {});
            }
        }
        while (!out.empty() && out.back() == ' ') out.pop_back();
        out += '\n';
    }
    return out;
}

std::string render_counts(const state_counts& counts, bool colour) {
    std::vector<std::string> parts;
    auto add = [&](std::string_view state, std::int64_t n) {
        if (n != 0) parts.push_back(colour_state(state, fmt::format("{} {}", state, n), colour));
    };
    for (auto s : canonical_states) {
        const auto it = counts.find(s);
        if (it != counts.end()) add(s, it->second);
    }
    for (const auto& [state, n] : counts) {
        if (std::find(canonical_states.begin(), canonical_states.end(), state) ==
            canonical_states.end()) {
            add(sanitize(state), n);
        }
    }
    if (parts.empty()) return "none";
    return fmt::format("{}", fmt::join(parts, "  "));
}

bool is_finished_state(std::string_view s) noexcept {
    return s != "pending" && s != "running";
}

std::string render_progress(const state_counts& counts, int width, bool colour) {
    std::int64_t total = 0;
    std::int64_t finished = 0;
    for (const auto& [state, n] : counts) {
        total += n;
        if (is_finished_state(state)) finished += n;
    }
    return fmt::format("{} {}/{} entries finished  {}", progress_bar(finished, total, width),
                       finished, total, render_counts(counts, colour));
}

std::string redraw_prefix(std::size_t last_width, int last_cols, int cols) {
    if (cols <= 0 || cols >= last_cols || last_width < static_cast<std::size_t>(cols)) {
        return "\r\x1b[K";
    }
    // Rewrapped, the old line ends last_width / cols rows below its first.
    return fmt::format("\r\x1b[{}A\x1b[J", last_width / static_cast<std::size_t>(cols));
}

std::string eta_text(std::optional<std::chrono::milliseconds> remaining) {
    if (!remaining) return {};
    const auto ms = remaining->count();
    if (ms > 1000) return "ETA " + whole_seconds((ms + 999) / 1000);
    if (ms > -5000) return "ETA ~now";
    return "overdue " + whole_seconds(-ms / 1000);
}

std::string render_progress_line(const state_counts& counts, std::chrono::milliseconds elapsed,
                                 std::optional<std::chrono::milliseconds> eta, int width,
                                 bool colour) {
    constexpr int max_bar = 30;
    constexpr int min_bar = 5;
    std::int64_t total = 0;
    std::int64_t finished = 0;
    for (const auto& [state, n] : counts) {
        total += n;
        if (is_finished_state(state)) finished += n;
    }
    const auto limit = static_cast<std::size_t>(std::max(width - 1, 1));
    const auto done = fmt::format("{}/{} entries finished", finished, total);
    const auto detail = "  " + render_counts(counts, colour);
    auto timing = "  " + humanize_duration(elapsed);
    if (const auto e = eta_text(eta); !e.empty()) timing += "  " + e;
    // Each variant, from the fullest; a bar (when wanted) takes what the rest leaves, up to
    // max_bar cells: the bar, its space, then the text.
    struct variant {
        bool bar, detail, timing;
    };
    for (const variant v : {variant{true, true, true}, variant{true, false, true},
                            variant{true, false, false}, variant{false, false, false}}) {
        std::string text = done;
        if (v.detail) text += detail;
        if (v.timing) text += timing;
        const auto used = display_width(text);
        if (!v.bar) {
            if (used <= limit) return text;
            continue;
        }
        if (used + 3 + min_bar > limit) continue;  // "[" + cells + "] "
        const auto cells = std::min<std::size_t>(max_bar, limit - used - 3);
        return progress_bar(finished, total, static_cast<int>(cells)) + " " + text;
    }
    // Too narrow even for the words: the bare counts, cut as a last resort.
    return cut_to_width(fmt::format("{}/{}", finished, total), limit);
}

}  // namespace taskpoller::ctl
