#include "ledger/schema.hpp"

#include <array>

namespace taskpoller::ledger {

namespace {

using namespace std::string_view_literals;

// 1: the lease. One row per ledger; the epoch only ever grows (acquire bumps it).
constexpr std::array v1_lease{
    R"SQL(CREATE TABLE tp_lease (
    ledger      text        PRIMARY KEY,
    holder      text        NOT NULL DEFAULT '',
    epoch       bigint      NOT NULL DEFAULT 0 CHECK (epoch >= 0),
    expires_at  timestamptz NOT NULL DEFAULT '-infinity',
    acquired_at timestamptz
))SQL"sv,
};

// 2: the change table, in the store's own change sequence (the `seq` clients see in events
// and `updated_seq`). `record` is one journal record exactly as store/journal_record.hpp
// encodes it (header, CRC-32C, type, versioned payload): whole objects, so a follower applies
// it with the same restore_* calls a journal replay uses. `epoch` is the writer's lease epoch.
constexpr std::array v2_changes{
    R"SQL(CREATE TABLE tp_changes (
    ledger       text        NOT NULL,
    seq          bigint      NOT NULL CHECK (seq > 0),
    kind         text        NOT NULL CHECK (kind IN ('batch_created', 'batch_changed',
                     'batch_expired', 'task_created', 'task_changed', 'task_expired')),
    subject      text        NOT NULL,
    state        text        NOT NULL,
    record       bytea       NOT NULL,
    epoch        bigint      NOT NULL CHECK (epoch > 0),
    committed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (ledger, seq)
))SQL"sv,
    R"SQL(CREATE INDEX tp_changes_committed ON tp_changes (ledger, committed_at))SQL"sv,
    // Per ledger: the newest seq written and the oldest still in tp_changes (older ones were
    // trimmed: a follower behind it reloads the current state below, like an events-stream gap).
    R"SQL(CREATE TABLE tp_ledger_state (
    ledger     text   PRIMARY KEY,
    last_seq   bigint NOT NULL DEFAULT 0 CHECK (last_seq >= 0),
    trimmed_to bigint NOT NULL DEFAULT 0 CHECK (trimmed_to >= 0),
    CHECK (trimmed_to <= last_seq)
))SQL"sv,
};

// 3: the current state, upserted in the same transaction as each change (deleted on expiry),
// so a node that takes over or falls behind the trimmed change table loads it directly.
constexpr std::array v3_current{
    R"SQL(CREATE TABLE tp_batches (
    ledger       text        NOT NULL,
    id           text        NOT NULL,
    state        text        NOT NULL CHECK (state IN ('submitting', 'submitted', 'done',
                     'rejected', 'unknown')),
    client_token text        NOT NULL DEFAULT '',
    created_seq  bigint      NOT NULL CHECK (created_seq > 0),
    updated_seq  bigint      NOT NULL CHECK (updated_seq >= created_seq),
    finished_at  timestamptz,
    record       bytea       NOT NULL,
    PRIMARY KEY (ledger, id)
))SQL"sv,
    R"SQL(CREATE UNIQUE INDEX tp_batches_token ON tp_batches (ledger, client_token)
    WHERE client_token <> '')SQL"sv,
    R"SQL(CREATE TABLE tp_tasks (
    ledger      text        NOT NULL,
    service     text        NOT NULL,
    request_id  text        NOT NULL,
    region      text        NOT NULL,
    batch_id    text        NOT NULL DEFAULT '',
    state       text        NOT NULL CHECK (state IN ('pending', 'running', 'succeeded',
                    'failed', 'timed_out', 'not_found', 'cancelled')),
    created_seq bigint      NOT NULL CHECK (created_seq > 0),
    updated_seq bigint      NOT NULL CHECK (updated_seq >= created_seq),
    deadline    timestamptz,
    record      bytea       NOT NULL,
    PRIMARY KEY (ledger, service, request_id, region, batch_id)
))SQL"sv,
    R"SQL(CREATE INDEX tp_tasks_live ON tp_tasks (ledger, created_seq)
    WHERE state IN ('pending', 'running'))SQL"sv,
};

// 4: submissions accepted by any node, sent only by the leader after an epoch-checked claim.
constexpr std::array v4_intents{
    R"SQL(CREATE TABLE tp_intents (
    ledger        text        NOT NULL,
    client_token  text        NOT NULL CHECK (client_token <> ''),
    batch_id      text        NOT NULL,
    request       jsonb       NOT NULL,
    fingerprint   text        NOT NULL,
    origin        text        NOT NULL,
    state         text        NOT NULL DEFAULT 'intent'
                      CHECK (state IN ('intent', 'claimed', 'done', 'unknown')),
    claimed_epoch bigint      CHECK (claimed_epoch > 0),
    claimed_by    text,
    created_at    timestamptz NOT NULL DEFAULT now(),
    claimed_at    timestamptz,
    finished_at   timestamptz,
    PRIMARY KEY (ledger, client_token),
    UNIQUE (ledger, batch_id),
    CHECK (state <> 'claimed' OR claimed_epoch IS NOT NULL),
    CHECK (state <> 'intent' OR claimed_epoch IS NULL)
))SQL"sv,
    R"SQL(CREATE INDEX tp_intents_open ON tp_intents (ledger, created_at)
    WHERE state IN ('intent', 'claimed'))SQL"sv,
};

// 5: the fence as a function, so that it can abort the transaction it opens: a pipelined
// transaction runs every statement it holds, and a plain SELECT returning no row would not stop
// the writes after it. SQLSTATE TPF01 = "this node does not hold this epoch unexpired".
constexpr std::array v5_fence{
    R"SQL(CREATE FUNCTION tp_fence(p_ledger text, p_node text, p_epoch bigint) RETURNS bigint
LANGUAGE plpgsql AS $fence$
BEGIN
    PERFORM 1 FROM tp_lease
     WHERE ledger = p_ledger AND holder = p_node AND epoch = p_epoch AND expires_at > now()
       FOR SHARE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'taskpoller: % does not hold epoch % of ledger % (lease lost)',
            p_node, p_epoch, p_ledger USING ERRCODE = 'TPF01';
    END IF;
    RETURN p_epoch;
END
$fence$)SQL"sv,
};

// 6: an intent the leader refused (its validation failed there: a configuration that differs
// between nodes, a client_token used for other content) records why, for the follower that
// accepted it to answer its client. The request becomes `json`, which keeps its text as
// written: jsonb reorders keys, and the leader must submit exactly what the client sent (API
// 3.0 sends the body as it is; the client_token check compares a digest of it).
constexpr std::array v6_intent_refusal{
    R"SQL(ALTER TABLE tp_intents ALTER COLUMN request TYPE json USING request::json)SQL"sv,
    R"SQL(ALTER TABLE tp_intents ADD COLUMN error text)SQL"sv,
    R"SQL(ALTER TABLE tp_intents DROP CONSTRAINT tp_intents_state_check)SQL"sv,
    R"SQL(ALTER TABLE tp_intents ADD CONSTRAINT tp_intents_state_check
    CHECK (state IN ('intent', 'claimed', 'done', 'unknown', 'refused')))SQL"sv,
};

constexpr std::array all{
    migration{1, "lease: one row per ledger (holder, epoch, expires_at)", v1_lease},
    migration{2, "change table and per-ledger sequence state", v2_changes},
    migration{3, "current state of batches and tasks", v3_current},
    migration{4, "submission intents and their claims", v4_intents},
    migration{5, "tp_fence(): the fence check that aborts its transaction", v5_fence},
    migration{6, "tp_intents: refused intents and why", v6_intent_refusal},
};

}  // namespace

std::span<const migration> migrations() noexcept {
    return all;
}

int latest_schema_version() noexcept {
    return all.back().version;
}

const std::string_view bootstrap_statement =
    R"SQL(CREATE TABLE IF NOT EXISTS tp_schema_version (
    version     integer     PRIMARY KEY CHECK (version > 0),
    description text        NOT NULL,
    applied_at  timestamptz NOT NULL DEFAULT now()
))SQL";

const std::string_view record_version_statement =
    "INSERT INTO tp_schema_version (version, description) VALUES ($1, $2)";

const std::string_view current_version_statement =
    "SELECT coalesce(max(version), 0) FROM tp_schema_version";

namespace lease_sql {

const std::string_view ensure_row =
    "INSERT INTO tp_lease (ledger) VALUES ($1) ON CONFLICT (ledger) DO NOTHING";

const std::string_view acquire =
    "UPDATE tp_lease SET holder = $2, epoch = epoch + 1, "
    "expires_at = greatest(expires_at, now() + $3::interval), acquired_at = now() "
    "WHERE ledger = $1 AND (expires_at <= now() OR holder = $2) "
    "RETURNING epoch, expires_at, now()";

const std::string_view renew =
    "UPDATE tp_lease SET expires_at = greatest(expires_at, now() + $4::interval) "
    "WHERE ledger = $1 AND holder = $2 AND epoch = $3 RETURNING epoch, expires_at, now()";

const std::string_view read =
    "SELECT holder, epoch, expires_at, now() FROM tp_lease WHERE ledger = $1";

const std::string_view release =
    "UPDATE tp_lease SET expires_at = now() WHERE ledger = $1 AND holder = $2 AND epoch = $3 "
    "AND expires_at > now()";

const std::string_view fence =
    "SELECT epoch FROM tp_lease WHERE ledger = $1 AND holder = $2 AND epoch = $3 "
    "AND expires_at > now() FOR SHARE";

}  // namespace lease_sql

}  // namespace taskpoller::ledger
