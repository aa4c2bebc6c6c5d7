#pragma once
// The leader's side of the ledger's writes (issue 19, docs/ha.md "The ledger sink"), I/O-free:
// every change the store makes is buffered with its journal record (store/journal_record.hpp)
// until a transaction commits it, and everyone waiting for a change to be durable is told when
// it is (or that it never will be: the node lost its lease).
//
// One transaction carries a prefix of the buffer: the fence (tp_fence: this node holds this
// epoch, unexpired, FOR SHARE), the change rows, the current-state deletes and upserts (one per
// object: its last state in the prefix), tp_ledger_state.last_seq, and a NOTIFY. Every statement
// is idempotent (change rows ON CONFLICT DO NOTHING, upserts, greatest(last_seq)), so a
// transaction whose COMMIT outcome was lost is simply written again with the same prefix.
//
// Single-threaded (the io_context's thread).

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"
#include "core/types.hpp"
#include "ledger/pg_connection.hpp"
#include "store/change_log.hpp"

namespace taskpoller::ledger {

/// What a durability waiter is told: success, or why the change will never be committed by
/// this node (error_kind::unavailable).
using durable_callback = std::function<void(core::result<void>)>;

/// A text array literal for PostgreSQL ("{...}"): each element double-quoted with `"` and `\`
/// escaped. Elements may hold anything but NUL.
std::string pg_text_array(const std::vector<std::string>& items);
/// Same for integers.
std::string pg_int_array(const std::vector<std::int64_t>& items);
/// Bytes as lower-case hex (what decode(x, 'hex') reads back), and back (nullopt on bad input).
std::string to_hex(std::string_view bytes);
std::optional<std::string> from_hex(std::string_view hex);

class write_buffer {
  public:
    /// The store observer's feed: one call per change, in seq order.
    void add_batch(const store::change& c, const core::batch& b);
    void add_task(const store::change& c, const core::task& t);

    /// A statement for the next transaction besides the changes (an intent refused or taken,
    /// ledger/node.hpp); it must be idempotent, like everything the buffer writes.
    void add_statement(pg_statement s) { extras_.push_back(std::move(s)); }

    /// Changes and statements not yet committed.
    std::size_t pending() const noexcept { return changes_.size() + extras_.size(); }
    /// The highest seq committed (or given to reset_committed).
    std::uint64_t committed_seq() const noexcept { return committed_; }
    /// The highest seq buffered or committed.
    std::uint64_t last_seq() const noexcept;

    /// One transaction's worth: the statements (fence first; async_transaction adds BEGIN and
    /// COMMIT) for the oldest `max_changes` pending changes, and the seq they end at.
    struct transaction {
        std::vector<pg_statement> statements{};
        std::uint64_t through_seq = 0;
        std::size_t changes = 0;
        std::size_t extras = 0;  ///< add_statement()s it carries
    };
    /// Empty statements when nothing is pending.
    /// `max_bytes` bounds the records it carries (at least one change goes in).
    transaction next_transaction(std::string_view ledger, std::string_view node,
                                 std::uint64_t epoch, std::size_t max_changes,
                                 std::size_t max_bytes = 8u << 20) const;

    /// The transaction `t` committed: drops its changes and statements and tells the waiters of
    /// every seq up to it.
    void committed(const transaction& t);
    /// Calls `done` once every change up to `seq` is committed: at once if it is (or if
    /// `seq` is 0), with `failed()`'s error at once if the buffer has failed.
    void when_durable(std::uint64_t seq, durable_callback done);
    /// Nothing pending will ever be committed by this node (the lease is lost): every waiter is
    /// told `why` now, later when_durable calls too, and the pending changes are dropped.
    void fail(const std::string& why);
    bool failed() const noexcept { return !failure_.empty(); }
    /// A fresh start at a new term: everything up to `seq` is the ledger's already.
    void reset_committed(std::uint64_t seq);
    std::size_t waiters() const noexcept { return waiters_.size(); }

  private:
    struct entry {
        std::uint64_t seq = 0;
        store::change_kind kind{};
        std::string subject{};
        std::string state{};         // the change's
        std::string object_state{};  // the object's, for the current-state row
        std::string record{};        // the journal record's bytes
        // the current-state row
        bool expiry = false;
        bool is_batch = false;
        std::string object{};  // batch id, or the task identity (core::format_task_identity)
        core::task_key key{};  // tasks
        std::string client_token{};
        std::uint64_t created_seq = 0;
        std::int64_t time_ms = 0;  // batch finished_at / task deadline, 0 = NULL
    };

    static entry entry_of(const store::change& c, std::string object, std::string_view object_state,
                          bool expiry);

    std::deque<entry> changes_;  // oldest first; a prefix may be in flight
    std::deque<pg_statement> extras_;
    std::uint64_t committed_ = 0;
    std::multimap<std::uint64_t, durable_callback> waiters_;
    std::string failure_;
};

}  // namespace taskpoller::ledger
