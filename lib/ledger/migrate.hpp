#pragma once
// The schema migration runner (issue 19): brings a database to the versions this binary knows,
// in one transaction serialised by an advisory lock, so daemons starting at once apply each
// version exactly once. The list itself is the schema's (lib/ledger/schema.hpp).

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "core/result.hpp"
#include "ledger/pg_connection.hpp"
#include "ledger/schema.hpp"

namespace taskpoller::ledger {

/// One schema version as the runner applies it: `sql` may hold several statements (run as one
/// script).
struct migration_script {
    std::int32_t version = 0;  ///< > 0, strictly increasing along the list
    std::string description{};
    std::string sql{};
};

/// The ledger's schema (ledger/schema.hpp migrations()) as scripts: each version's statements
/// joined with ";\n".
std::vector<migration_script> schema_scripts();

/// The table recording applied versions (version, description, applied_at): created by
/// schema.hpp's bootstrap_statement, written by its record_version_statement. The lock every
/// runner takes first is schema.hpp's schema_lock_key.
inline constexpr const char* migrations_table = "tp_schema_version";

/// What to apply: indexes into `known`, in order. I/O-free. Fails when `known` is not strictly
/// increasing from 1 up, when the database has a version newer than the newest known one
/// (a newer binary migrated it: this one must not run on it), or a version it does not know.
core::result<std::vector<std::size_t>> plan_migrations(std::span<const migration_script> known,
                                                       std::span<const std::int32_t> applied);

struct migrate_report {
    std::int32_t from_version = 0;        ///< the newest version before (0: none)
    std::int32_t to_version = 0;          ///< the newest version after
    std::vector<std::int32_t> applied{};  ///< what this call applied (empty: already current)
};

/// Runs the missing migrations on `c` (connected, idle): BEGIN; the advisory lock; the version
/// table created if missing; each missing version's script and its row; COMMIT. On any failure
/// the transaction is rolled back and nothing is applied; the error names the version that
/// failed. `timeout` bounds each statement (waiting for the lock included).
boost::asio::awaitable<pg_outcome<migrate_report>> async_migrate(
    pg_connection& c, std::span<const migration_script> known,
    std::chrono::milliseconds timeout = std::chrono::milliseconds(60000));

}  // namespace taskpoller::ledger
