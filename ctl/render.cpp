#include "ctl/render.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>

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

// Display width of sanitized text: counts UTF-8 code points, not bytes.
std::size_t display_width(std::string_view s) noexcept {
    std::size_t n = 0;
    for (unsigned char c : s) {
        if ((c & 0xC0) != 0x80) ++n;
    }
    return n;
}

}  // namespace

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
    width = std::max(width, 1);
    const auto filled = total == 0 ? 0 : static_cast<int>(finished * width / total);
    std::string bar(static_cast<std::size_t>(filled), '#');
    bar.append(static_cast<std::size_t>(width - filled), '-');
    return fmt::format("[{}] {}/{} entries finished  {}", bar, finished, total,
                       render_counts(counts, colour));
}

}  // namespace taskpoller::ctl
