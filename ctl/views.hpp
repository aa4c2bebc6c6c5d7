#pragma once
// Human views of the daemon's JSON documents (batches, tasks, lists, status, events). Missing
// or mistyped fields render as "-" rather than failing: the daemon may add fields, and a view
// must never crash on what it receives.

#include <boost/json/fwd.hpp>
#include <cstdint>
#include <optional>
#include <string>

#include "ctl/render.hpp"

namespace taskpoller::ctl {

/// Counts by state from a batch's "counts" object, or from a list of tasks/batches.
state_counts counts_of_batch(const boost::json::value& batch);

/// Counts for a progress display over one batch or task document (a task counts as 1).
state_counts progress_counts(const boost::json::value& doc);

/// A batch: a summary header then the entries table.
std::string render_batch(const boost::json::value& batch, bool colour);
/// A task: one "field: value" line per field.
std::string render_task(const boost::json::value& task, bool colour);
/// A batch or a task, chosen by shape.
std::string render_document(const boost::json::value& doc, bool colour);
/// A {"batches":[...]} or {"tasks":[...]} page as a table, with AGE (since created_at) and
/// DURATION (created_at to finished_at, or to `now_ms` while live) when `now_ms` is given;
/// `wide` adds columns (region, labels, created/finished times, last status and error).
std::string render_list(const boost::json::value& page, bool colour, bool wide = false,
                        std::optional<std::int64_t> now_ms = std::nullopt);
/// The ids of a batch/task document or of a list page, one per line: batch ids, or
/// SERVICE/REQUEST_ID for tasks.
std::string render_names(const boost::json::value& doc);
/// A batch's state for people: "done", or "done (2 failed, 1 timed_out)" when some tasks or
/// entries did not succeed; `colour` picks red (failed/not_found/rejected) or yellow.
std::string batch_state_text(const boost::json::value& batch, bool colour);
/// Milliseconds since the epoch of an RFC 3339 UTC time ("2026-11-27T23:15:20.123Z").
std::optional<std::int64_t> parse_time_ms(std::string_view text);
/// A duration for people: "45s", "3m12s", "2h5m", "3d4h" (negative reads "0s").
std::string human_duration(std::int64_t ms);
/// The GET /v1/status document.
std::string render_status(const boost::json::value& status, bool colour);
/// One event-stream line for people (no trailing newline); `raw` is used for unknown types.
std::string render_event(const boost::json::value& event, bool colour);

/// The string at `obj[key]`, a number formatted, "-" for null or absent values.
std::string field(const boost::json::value& obj, std::string_view key);

}  // namespace taskpoller::ctl
