#pragma once
// Text rendering for people: aligned tables, state colours and the progress line. Pure
// functions returning strings, so they are tested without a terminal.

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace taskpoller::ctl {

/// Whether to emit ANSI colour: true only when `stdout_is_tty`, `no_color_flag` is false and
/// NO_COLOR (passed as `no_color_env`, nullptr when unset) is unset or empty.
bool colour_enabled(bool stdout_is_tty, bool no_color_flag, const char* no_color_env) noexcept;

/// `text` wrapped in the colour used for `state` (green for succeeded, red for failures,
/// yellow for timed_out/unknown, ...) when `colour` is true; `text` unchanged otherwise.
std::string colour_state(std::string_view state, std::string_view text, bool colour);

/// A cell; `state`, when set, selects the cell's colour.
struct cell {
    std::string text;
    std::string state;
};

/// Renders `rows` under `headers` in left-aligned columns separated by two spaces, one line
/// each, ending with '\n'. Padding is computed on the plain text, so colour never breaks
/// alignment. Control characters in cells are replaced by '?' so daemon data cannot move the
/// cursor. Rows shorter than the header are padded with empty cells.
std::string render_table(const std::vector<std::string>& headers,
                         const std::vector<std::vector<cell>>& rows, bool colour);

/// Counts by state, in the canonical order (pending, running, succeeded, failed, timed_out,
/// not_found, cancelled, rejected, unknown); unknown states follow in name order.
using state_counts = std::map<std::string, std::int64_t, std::less<>>;

/// "succeeded 3  failed 1" for the non-zero counts, canonical order; "none" if all are zero.
std::string render_counts(const state_counts& counts, bool colour);

/// The progress line: "[#########-----------]  12/40 entries finished  running 28  succeeded 11
/// ..." with `width` bar cells (at least 1); it counts a batch's entries (a task counts as one),
/// so an entry the cloud rejected counts though it never became a task; "finished" counts the
/// terminal and rejected/unknown states. No trailing newline.
std::string render_progress(const state_counts& counts, int width, bool colour);

/// True for states the progress bar counts as finished.
bool is_finished_state(std::string_view state) noexcept;

/// `s` with control characters (and DEL) replaced by '?'.
std::string sanitize(std::string_view s);

}  // namespace taskpoller::ctl
