#pragma once
// The PostgreSQL ledger's schema (docs/ha.md "The ledger's tables") as an ordered list of
// migrations, and the lease statements that go with it. Pure data: the migration runner (with
// the connection) applies, in one transaction under pg_advisory_xact_lock(schema_lock_key),
// every migration whose version is above the highest in tp_schema_version, records each, and
// refuses a database whose version is above latest_schema_version() (a newer daemon's).
//
// Each statement is ONE SQL statement without a trailing semicolon, so it can go through the
// extended protocol (PQsendQueryParams, pipeline mode), which refuses several statements in
// one string. Several ledgers (one per account) can share a database: every table is keyed by
// `ledger` first.

#include <cstdint>
#include <span>
#include <string_view>

namespace taskpoller::ledger {

struct migration {
    int version = 0;                               ///< 1, 2, 3, ... strictly increasing
    std::string_view description;                  ///< one line, recorded in tp_schema_version
    std::span<const std::string_view> statements;  ///< applied in order
};

/// Every migration, oldest first.
std::span<const migration> migrations() noexcept;
/// The version this build writes (the last migration's).
int latest_schema_version() noexcept;

/// The advisory lock key the runner takes (pg_advisory_xact_lock) around migrations.
inline constexpr std::int64_t schema_lock_key = 0x7470'6c65'6467'6572;  // "tpledger"

/// Run before reading the version: creates tp_schema_version if it does not exist.
extern const std::string_view bootstrap_statement;
/// $1 version, $2 description.
extern const std::string_view record_version_statement;
/// Returns one row: the highest applied version (0 when none).
extern const std::string_view current_version_statement;

/// The lease statements (docs/ha.md "The lease"); every time in them is the database's clock.
/// acquire and renew never shorten expires_at (greatest(expires_at, now() + ttl)): a statement
/// its sender abandoned may still execute later, and with the ttl of before a reload it would
/// otherwise cut the expiry below the deadline a newer grant gave (found by
/// tests/unit/ledger/lease_property_test.cpp).
namespace lease_sql {
/// $1 ledger. Creates the row once (holder '', epoch 0, expired).
extern const std::string_view ensure_row;
/// $1 ledger, $2 node, $3 ttl (interval). Returns epoch, expires_at, now() when granted, no row
/// when refused.
extern const std::string_view acquire;
/// $1 ledger, $2 node, $3 epoch, $4 ttl. Returns epoch, expires_at, now(); no row = lost.
extern const std::string_view renew;
/// $1 ledger. Returns holder, epoch, expires_at, now(): what a refused acquire reports.
extern const std::string_view read;
/// $1 ledger, $2 node, $3 epoch. Ends the lease at once (graceful stop), keeping the epoch.
extern const std::string_view release;
/// $1 ledger, $2 node, $3 epoch. The fence check, first in every leader write transaction:
/// returns a row only while this node holds this epoch unexpired, and keeps the row from
/// changing (FOR SHARE) until the transaction ends. No row: roll back.
extern const std::string_view fence;
}  // namespace lease_sql

/// The SQLSTATE tp_fence() raises when the node does not hold the epoch unexpired.
inline constexpr std::string_view fenced_sqlstate = "TPF01";

/// The notification channels (LISTEN/NOTIFY; the payload is the ledger name).
inline constexpr std::string_view lease_channel = "tp_lease";
inline constexpr std::string_view changes_channel = "tp_changes";
inline constexpr std::string_view intents_channel = "tp_intents";

}  // namespace taskpoller::ledger
