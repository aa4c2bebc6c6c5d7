#pragma once
// Text rendering for people: aligned tables, state colours and the progress line. Pure
// functions returning strings, so they are tested without a terminal.

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
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

/// Display columns of `s`: UTF-8 code points, not bytes, and ANSI escape sequences (CSI, e.g.
/// colours) count for nothing.
std::size_t display_width(std::string_view s) noexcept;

/// What an ETA reads for `remaining` time to the expected finish: "ETA 12s" (rounded up to
/// whole seconds), "ETA ~now" from 1 s before to 5 s after it, then "overdue 5s"; empty when
/// unknown (nullopt).
std::string eta_text(std::optional<std::chrono::milliseconds> remaining);

/// The interactive progress line, fitted to a terminal `width` columns wide: never more than
/// width - 1 display columns, so the cursor never wraps. In full:
///   "[#####-----] 12/40 finished  running 28  succeeded 12  3m20s  ETA 12s"
/// When it does not fit, the bar shrinks first (from 30 cells down to 5), then the per-state
/// counts are dropped, then the elapsed time and ETA, then the bar; the last resort is the
/// plain "12/40 finished" cut to fit. `eta` as eta_text. No trailing newline.
std::string render_progress_line(const state_counts& counts, std::chrono::milliseconds elapsed,
                                 std::optional<std::chrono::milliseconds> eta, int width,
                                 bool colour);

/// What goes before each redraw of the progress line: back to its start and erase it
/// ("\r\x1b[K"). When the terminal narrowed since the last line was drawn (it was
/// `last_width` columns wide on a terminal `last_cols` wide, now `cols`) and no longer fits,
/// a terminal that rewraps text on resize (tmux, VTE, kitty, iTerm2...) now shows it on
/// several rows, the cursor on the last: those rows are erased too (up, then erase to the end
/// of the screen), so no fragment of it stays above the new line.
std::string redraw_prefix(std::size_t last_width, int last_cols, int cols);

/// True for states the progress bar counts as finished.
bool is_finished_state(std::string_view state) noexcept;

/// `s` with control characters (and DEL) replaced by '?'.
std::string sanitize(std::string_view s);

}  // namespace taskpoller::ctl
