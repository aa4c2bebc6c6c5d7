#pragma once
// JSON views of the domain objects as the control API shows them (docs/api.md "Objects"), and
// the lines of the events stream. Pure functions; no I/O.

#include <boost/json/object.hpp>
#include <optional>
#include <string>

#include "core/clock.hpp"
#include "core/types.hpp"

namespace taskpoller::store {
struct change;
class store;
}  // namespace taskpoller::store

namespace taskpoller::engine {
class registry;
}

namespace taskpoller::control {

/// RFC 3339 UTC with milliseconds: "2026-11-27T23:15:20.123Z".
std::string format_time(core::sys_time t);

/// {"service","request_id","key","state","action","batch_id"|null,"resources","labels",
///  "last_status"|null,"last_error"|null,"polls","created_at","finished_at"|null,
///  "deadline"|null,"expected_finish_at"|null,"updated_seq"}, and "protocol" ("v2"/"v3", the
/// service's in `reg`) when `reg` is given and knows the service. "expected_finish_at" is
/// `expected_finish` (engine::tracker::expected_finish: created_at + the learned p90), null when
/// not given.
boost::json::object task_view(const core::task& t, const engine::registry* reg = nullptr,
                              std::optional<core::sys_time> expected_finish = std::nullopt);

/// The batch with its "counts" (task states plus entries "rejected" and "unknown") and
/// "entries" (each with its task's state, or "rejected"/"unknown"); "protocol" and
/// "expected_finish_at" as task_view.
boost::json::object batch_view(const core::batch& b, const engine::registry* reg = nullptr,
                               std::optional<core::sys_time> expected_finish = std::nullopt);

/// One events-stream line (without the newline) for `c`, looking the object up in `s` for its
/// current view: {"seq","type":"task"|"batch","change":"created"|"changed"|"expired",
/// "state", "key", "task"|"batch":{view}}. An expired or already forgotten object has no view.
std::string change_line(const store::store& s, const store::change& c,
                        const engine::registry* reg = nullptr);

}  // namespace taskpoller::control
