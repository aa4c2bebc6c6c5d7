#include "ledger/write_buffer.hpp"

#include <fmt/format.h>

#include <unordered_map>

#include "core/states.hpp"
#include "core/task_key.hpp"
#include "store/journal_record.hpp"

namespace taskpoller::ledger {

namespace {

std::int64_t ms_of(core::sys_time t) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

constexpr std::string_view fence_sql = "SELECT tp_fence($1, $2, $3::bigint)";

constexpr std::string_view insert_changes_sql =
    "INSERT INTO tp_changes (ledger, seq, kind, subject, state, record, epoch) "
    "SELECT $1, u.seq, u.kind, u.subject, u.state, decode(u.record, 'hex'), $2::bigint "
    "FROM unnest($3::bigint[], $4::text[], $5::text[], $6::text[], $7::text[]) "
    "AS u(seq, kind, subject, state, record) "
    "ON CONFLICT (ledger, seq) DO NOTHING";

constexpr std::string_view delete_batches_sql =
    "DELETE FROM tp_batches WHERE ledger = $1 AND id = ANY($2::text[])";

constexpr std::string_view delete_tasks_sql =
    "DELETE FROM tp_tasks t USING unnest($2::text[], $3::text[], $4::text[], $5::text[]) "
    "AS u(service, request_id, region, batch_id) "
    "WHERE t.ledger = $1 AND t.service = u.service AND t.request_id = u.request_id "
    "AND t.region = u.region AND t.batch_id = u.batch_id";

constexpr std::string_view upsert_batches_sql =
    "INSERT INTO tp_batches (ledger, id, state, client_token, created_seq, updated_seq, "
    "finished_at, record) "
    "SELECT $1, u.id, u.state, u.token, u.created_seq, u.updated_seq, "
    "CASE WHEN u.ms = 0 THEN NULL ELSE to_timestamp(u.ms / 1000.0) END, decode(u.record, 'hex') "
    "FROM unnest($2::text[], $3::text[], $4::text[], $5::bigint[], $6::bigint[], $7::bigint[], "
    "$8::text[]) AS u(id, state, token, created_seq, updated_seq, ms, record) "
    "ON CONFLICT (ledger, id) DO UPDATE SET state = excluded.state, "
    "client_token = excluded.client_token, created_seq = excluded.created_seq, updated_seq = "
    "excluded.updated_seq, "
    "finished_at = excluded.finished_at, record = excluded.record";

constexpr std::string_view upsert_tasks_sql =
    "INSERT INTO tp_tasks (ledger, service, request_id, region, batch_id, state, created_seq, "
    "updated_seq, deadline, record) "
    "SELECT $1, u.service, u.request_id, u.region, u.batch_id, u.state, u.created_seq, "
    "u.updated_seq, CASE WHEN u.ms = 0 THEN NULL ELSE to_timestamp(u.ms / 1000.0) END, "
    "decode(u.record, 'hex') "
    "FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::bigint[], "
    "$8::bigint[], $9::bigint[], $10::text[]) "
    "AS u(service, request_id, region, batch_id, state, created_seq, updated_seq, ms, record) "
    "ON CONFLICT (ledger, service, request_id, region, batch_id) DO UPDATE SET "
    "state = excluded.state, created_seq = excluded.created_seq, updated_seq = "
    "excluded.updated_seq, deadline = excluded.deadline, "
    "record = excluded.record";

constexpr std::string_view ledger_state_sql =
    "INSERT INTO tp_ledger_state (ledger, last_seq) VALUES ($1, $2::bigint) "
    "ON CONFLICT (ledger) DO UPDATE SET "
    "last_seq = greatest(tp_ledger_state.last_seq, excluded.last_seq)";

constexpr std::string_view notify_sql = "SELECT pg_notify('tp_changes', $1)";

// A batch created with a client_token takes the intent a follower recorded for it, if any, in
// the same transaction: the intent is `done` exactly when its batch exists (docs/ha.md
// "Submissions on a follower").
constexpr std::string_view take_intents_sql =
    "UPDATE tp_intents i SET state = 'done', batch_id = u.id, finished_at = now() "
    "FROM unnest($2::text[], $3::text[]) AS u(token, id) "
    "WHERE i.ledger = $1 AND i.client_token = u.token AND i.state = 'intent'";

}  // namespace

std::string pg_text_array(const std::vector<std::string>& items) {
    std::string out = "{";
    for (std::size_t i = 0; i < items.size(); ++i) {
        if (i) out += ',';
        out += '"';
        for (char ch : items[i]) {
            if (ch == '"' || ch == '\\') out += '\\';
            out += ch;
        }
        out += '"';
    }
    out += '}';
    return out;
}

std::string pg_int_array(const std::vector<std::int64_t>& items) {
    std::string out = "{";
    for (std::size_t i = 0; i < items.size(); ++i) {
        if (i) out += ',';
        out += std::to_string(items[i]);
    }
    out += '}';
    return out;
}

std::string to_hex(std::string_view bytes) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string out;
    out.resize(bytes.size() * 2);
    for (std::size_t i = 0; i < bytes.size(); ++i) {
        auto b = static_cast<unsigned char>(bytes[i]);
        out[2 * i] = digits[b >> 4];
        out[2 * i + 1] = digits[b & 15];
    }
    return out;
}

std::optional<std::string> from_hex(std::string_view hex) {
    if (hex.size() % 2 != 0) return std::nullopt;
    auto nibble = [](char c) -> int {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        if (c >= 'A' && c <= 'F') return c - 'A' + 10;
        return -1;
    };
    std::string out(hex.size() / 2, '\0');
    for (std::size_t i = 0; i < out.size(); ++i) {
        int hi = nibble(hex[2 * i]);
        int lo = nibble(hex[2 * i + 1]);
        if (hi < 0 || lo < 0) return std::nullopt;
        out[i] = static_cast<char>(hi * 16 + lo);
    }
    return out;
}

// The fields every entry takes from its change.
write_buffer::entry write_buffer::entry_of(const store::change& c, std::string object,
                                           std::string_view object_state, bool expiry) {
    entry e;
    e.seq = c.seq;
    e.kind = c.kind;
    e.subject = c.subject;
    e.state = std::string(c.state);
    e.object = std::move(object);
    e.object_state = std::string(object_state);
    e.expiry = expiry;
    return e;
}

void write_buffer::add_batch(const store::change& c, const core::batch& b) {
    if (failed()) return;
    entry e =
        entry_of(c, b.id, core::to_string(b.state), c.kind == store::change_kind::batch_expired);
    e.is_batch = true;
    if (e.expiry) {
        store::append_batch_expired_record(e.record, b.id, c.seq);
    } else {
        store::append_batch_record(e.record, b);
    }
    e.client_token = b.client_token;
    e.created_seq = b.created_seq;
    e.time_ms = b.finished_at == core::sys_time{} ? 0 : ms_of(b.finished_at);
    changes_.push_back(std::move(e));
}

void write_buffer::add_task(const store::change& c, const core::task& t) {
    if (failed()) return;
    entry e = entry_of(c, core::format_task_identity(t.key()), core::to_string(t.state),
                       c.kind == store::change_kind::task_expired);
    e.key = t.key();
    if (e.expiry) {
        store::append_task_expired_record(e.record, e.key, c.seq);
    } else {
        store::append_task_record(e.record, t);
    }
    e.created_seq = t.created_seq;
    e.time_ms = t.deadline == core::sys_time{} ? 0 : ms_of(t.deadline);
    changes_.push_back(std::move(e));
}

std::uint64_t write_buffer::last_seq() const noexcept {
    return changes_.empty() ? committed_ : std::max(committed_, changes_.back().seq);
}

write_buffer::transaction write_buffer::next_transaction(std::string_view ledger,
                                                         std::string_view node, std::uint64_t epoch,
                                                         std::size_t max_changes,
                                                         std::size_t max_bytes) const {
    transaction t;
    std::size_t n = 0;
    for (std::size_t bytes = 0; n < std::min(changes_.size(), max_changes); ++n) {
        bytes += changes_[n].record.size();
        if (n > 0 && bytes > max_bytes) break;
    }
    if (n == 0 && extras_.empty()) return t;
    const std::string l(ledger);
    const std::string ep = std::to_string(epoch);
    t.statements.push_back({std::string(fence_sql), {l, std::string(node), ep}});
    for (const auto& x : extras_) t.statements.push_back(x);
    t.extras = extras_.size();
    t.through_seq = committed_;
    if (n == 0) return t;

    std::vector<std::int64_t> seqs;
    std::vector<std::string> kinds, subjects, states, records;
    seqs.reserve(n);
    // The last state of each object in the prefix: only it goes into the current-state tables.
    std::unordered_map<std::string_view, std::size_t> last;
    for (std::size_t i = 0; i < n; ++i) {
        const auto& e = changes_[i];
        seqs.push_back(static_cast<std::int64_t>(e.seq));
        kinds.emplace_back(store::to_string(e.kind));
        subjects.push_back(e.subject);
        states.push_back(e.state);
        records.push_back(to_hex(e.record));
        last[e.object] = i;  // batch ids and task identities cannot collide (format differs)
    }
    t.statements.push_back(
        {std::string(insert_changes_sql),
         {l, ep, pg_int_array(seqs), pg_text_array(kinds), pg_text_array(subjects),
          pg_text_array(states), pg_text_array(records)}});
    records.clear();

    std::vector<std::string> tokens, token_ids;
    std::vector<std::string> del_batches;
    std::vector<std::string> dt_service, dt_rid, dt_region, dt_batch;
    std::vector<std::string> ub_id, ub_state, ub_token, ub_record;
    std::vector<std::int64_t> ub_created, ub_updated, ub_ms;
    std::vector<std::string> ut_service, ut_rid, ut_region, ut_batch, ut_state, ut_record;
    std::vector<std::int64_t> ut_created, ut_updated, ut_ms;
    for (std::size_t i = 0; i < n; ++i) {
        const auto& e = changes_[i];
        if (e.is_batch && e.kind == store::change_kind::batch_created && !e.client_token.empty()) {
            tokens.push_back(e.client_token);
            token_ids.push_back(e.object);
        }
        if (last[e.object] != i) continue;
        if (e.is_batch) {
            if (e.expiry) {
                del_batches.push_back(e.object);
                continue;
            }
            ub_id.push_back(e.object);
            ub_state.push_back(e.object_state);
            ub_token.push_back(e.client_token);
            ub_created.push_back(static_cast<std::int64_t>(e.created_seq));
            ub_updated.push_back(static_cast<std::int64_t>(e.seq));
            ub_ms.push_back(e.time_ms);
            ub_record.push_back(to_hex(e.record));
        } else {
            if (e.expiry) {
                dt_service.push_back(e.key.service);
                dt_rid.push_back(e.key.request_id);
                dt_region.push_back(e.key.region);
                dt_batch.push_back(e.key.batch_id);
                continue;
            }
            ut_service.push_back(e.key.service);
            ut_rid.push_back(e.key.request_id);
            ut_region.push_back(e.key.region);
            ut_batch.push_back(e.key.batch_id);
            ut_state.push_back(e.object_state);
            ut_created.push_back(static_cast<std::int64_t>(e.created_seq));
            ut_updated.push_back(static_cast<std::int64_t>(e.seq));
            ut_ms.push_back(e.time_ms);
            ut_record.push_back(to_hex(e.record));
        }
    }
    // Deletes first: a client_token freed by an expiry may be taken by a batch in the same
    // transaction (tp_batches_token is unique).
    if (!del_batches.empty()) {
        t.statements.push_back({std::string(delete_batches_sql), {l, pg_text_array(del_batches)}});
    }
    if (!dt_service.empty()) {
        t.statements.push_back({std::string(delete_tasks_sql),
                                {l, pg_text_array(dt_service), pg_text_array(dt_rid),
                                 pg_text_array(dt_region), pg_text_array(dt_batch)}});
    }
    if (!ub_id.empty()) {
        t.statements.push_back(
            {std::string(upsert_batches_sql),
             {l, pg_text_array(ub_id), pg_text_array(ub_state), pg_text_array(ub_token),
              pg_int_array(ub_created), pg_int_array(ub_updated), pg_int_array(ub_ms),
              pg_text_array(ub_record)}});
    }
    if (!ut_service.empty()) {
        t.statements.push_back(
            {std::string(upsert_tasks_sql),
             {l, pg_text_array(ut_service), pg_text_array(ut_rid), pg_text_array(ut_region),
              pg_text_array(ut_batch), pg_text_array(ut_state), pg_int_array(ut_created),
              pg_int_array(ut_updated), pg_int_array(ut_ms), pg_text_array(ut_record)}});
    }
    if (!tokens.empty()) {
        t.statements.push_back(
            {std::string(take_intents_sql), {l, pg_text_array(tokens), pg_text_array(token_ids)}});
    }
    t.through_seq = changes_[n - 1].seq;
    t.changes = n;
    t.statements.push_back({std::string(ledger_state_sql), {l, std::to_string(t.through_seq)}});
    t.statements.push_back({std::string(notify_sql), {l}});
    return t;
}

void write_buffer::committed(const transaction& t) {
    for (std::size_t i = 0; i < t.extras && !extras_.empty(); ++i) extras_.pop_front();
    while (!changes_.empty() && changes_.front().seq <= t.through_seq) changes_.pop_front();
    committed_ = std::max(committed_, t.through_seq);
    auto end = waiters_.upper_bound(committed_);
    std::vector<durable_callback> due;
    for (auto it = waiters_.begin(); it != end; ++it) due.push_back(std::move(it->second));
    waiters_.erase(waiters_.begin(), end);
    for (auto& cb : due) cb({});
}

void write_buffer::when_durable(std::uint64_t seq, durable_callback done) {
    if (failed()) return done(core::error{failure_, core::error_kind::unavailable});
    if (seq <= committed_) return done({});
    waiters_.emplace(seq, std::move(done));
}

void write_buffer::fail(const std::string& why) {
    if (failure_.empty()) failure_ = why.empty() ? std::string("the ledger failed") : why;
    changes_.clear();
    extras_.clear();
    auto due = std::move(waiters_);
    waiters_.clear();
    for (auto& [seq, cb] : due) cb(core::error{failure_, core::error_kind::unavailable});
}

void write_buffer::reset_committed(std::uint64_t seq) {
    changes_.clear();
    extras_.clear();
    failure_.clear();
    committed_ = seq;
}

}  // namespace taskpoller::ledger
