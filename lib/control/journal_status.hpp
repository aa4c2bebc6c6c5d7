#pragma once
// The journal's part of GET /v1/status and of /metrics (docs/durability.md "In the daemon").

#include <boost/json/object.hpp>
#include <string_view>

namespace taskpoller::store {
class journal;
}

namespace taskpoller::control {

/// {"enabled":true, "path", "durability", "healthy", "durable", "error", "compaction_error",
/// "pending_changes", "records", "syncs", "compactions", "compaction_failures", "log_bytes",
/// "snapshot_bytes"}. `healthy` is false while the journal has failed (mutations answer 503)
/// and while compactions fail (the log only grows); `error` is then the first of the two
/// errors; `durable` is false only while the journal has failed. `durability` is the configured
/// mode's name. Reads `j` only.
boost::json::object journal_status_of(const store::journal& j, std::string_view durability);

}  // namespace taskpoller::control
