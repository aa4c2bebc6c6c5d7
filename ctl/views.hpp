#pragma once
// Human views of the daemon's JSON documents (batches, tasks, lists, status, events). Missing
// or mistyped fields render as "-" rather than failing: the daemon may add fields, and a view
// must never crash on what it receives.

#include <boost/json/fwd.hpp>
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
/// A {"batches":[...]} or {"tasks":[...]} page as a table.
std::string render_list(const boost::json::value& page, bool colour);
/// The GET /v1/status document.
std::string render_status(const boost::json::value& status, bool colour);
/// One event-stream line for people (no trailing newline); `raw` is used for unknown types.
std::string render_event(const boost::json::value& event, bool colour);

/// The string at `obj[key]`, a number formatted, "-" for null or absent values.
std::string field(const boost::json::value& obj, std::string_view key);

}  // namespace taskpoller::ctl
