#pragma once
// The in-memory store: batches by id, tasks by identity (service, requestId, region, batch:
// core/task_key.hpp), secondary indexes, a change
// sequence with a bounded change log, one-shot watchers, retention, and a journal hook.
//
// Single-threaded by design (docs/design.md "Policies"): every call must come from the io_context's
// thread; there are no locks. Watch callbacks run synchronously at the end of the mutation that
// satisfies them (or inside the registering call if already satisfied); they may call the store,
// but must not destroy it.

#include <array>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/batch_id.hpp"
#include "core/clock.hpp"
#include "core/logger.hpp"
#include "core/result.hpp"
#include "core/types.hpp"
#include "store/change_log.hpp"
#include "store/huge_pages.hpp"
#include "store/indexes.hpp"
#include "store/interner.hpp"
#include "store/key_table.hpp"
#include "store/observer.hpp"
#include "store/records.hpp"
#include "store/types.hpp"
#include "store/watch.hpp"

namespace taskpoller::store {

class store {
  public:
    /// `clock` must outlive the store.
    explicit store(const core::clock& clock, store_options options = {}, core::logger log = {});
    ~store();
    store(const store&) = delete;
    store& operator=(const store&) = delete;

    // ---- mutations: each validates its input and the state transition, and returns an error
    // (invalid / not_found / conflict) instead of changing anything when they fail.

    /// New batch in `submitting`, one entry (outcome unknown) per resource named in the spec.
    /// conflict if client_token is already used by a retained batch.
    core::result<core::batch> create_batch(const batch_spec& spec);
    /// Records the answer to a submitting batch: creates one `pending` task per distinct
    /// accepted request_id, of this batch. A requestId some other task already has (the cloud
    /// reused it, or another region issued the same number) is a collision: logged, counted
    /// (task_key_collisions()), and tracked as a task of its own, never merged. The batch becomes
    /// `submitted` if it started tasks, else `unknown` if an entry is unknown, else `rejected`.
    core::result<core::batch> record_batch_outcome(std::string_view batch_id,
                                                   const batch_outcome& outcome);
    /// The outcome of a submitting batch was lost: `unknown` (never re-sent); its entries (the
    /// resources named at creation) stay unknown, with `message`.
    core::result<core::batch> mark_batch_unknown(std::string_view batch_id,
                                                 std::string_view message);
    /// Start-up repair after a replay: a `submitted` batch whose outcome reached the journal
    /// without all of its tasks (the daemon was killed between those records) gets the missing
    /// ones back from its accepted entries, `pending`, with the deadline of a sibling task (none
    /// if no sibling survived). Returns how many tasks it created; each is a normal change.
    std::size_t track_lost_outcome_tasks();
    /// Start-up repair after a replay: a `submitted` batch whose tasks are all terminal becomes
    /// `done` (the daemon was killed between a task's last record and its batch's). Returns how
    /// many batches it finished; each is a normal change.
    std::size_t finish_settled_batches();
    /// Starts tracking a requestId submitted elsewhere (`pending`, no batch). conflict if a task
    /// with the same service, requestId and region is tracked (adopted or of a batch: the same
    /// cloud task); the same requestId in another region is a collision, tracked on its own.
    core::result<core::task> adopt_task(const adopt_spec& spec);
    /// Applies one poll's findings; returns the state after. conflict for an illegal transition
    /// (e.g. any change to a terminal task).
    core::result<core::task_state> update_task(const core::task_key& key, const task_update& u);
    /// Stops tracking: `cancelled`. conflict if already terminal.
    core::result<core::task> cancel_task(const core::task_key& key);
    /// Cancels every live task of a submitted batch (which then becomes `done`). conflict while
    /// the batch is still `submitting`, or if it is already terminal.
    core::result<core::batch> cancel_batch(std::string_view batch_id);

    // ---- queries (never fail on unknown ids: nullopt = "never seen or forgotten")

    std::optional<core::batch> get_batch(std::string_view batch_id) const;
    /// Task lookups take a key that names the task exactly or, with an empty region or batch,
    /// the only task it matches (core/task_key.hpp); several matches = none.
    std::optional<core::task> get_task(const core::task_key& key) const;
    /// The exact identity of the task `key` names: not_found, or conflict when several tasks
    /// match (the message lists each one's region and batch, to qualify the key with).
    core::result<core::task_key> resolve_task(const core::task_key& key) const;
    /// How many times a new task's service and requestId were already some other task's.
    std::uint64_t task_key_collisions() const { return collisions_; }
    std::optional<core::task_state> task_state_of(const core::task_key& key) const;
    std::optional<core::batch> find_batch_by_token(std::string_view client_token) const;
    /// invalid error for a malformed page_token; otherwise a page in creation order.
    core::result<page<core::task>> list_tasks(const task_filter& f, const page_request& p) const;
    core::result<page<core::batch>> list_batches(const batch_filter& f,
                                                 const page_request& p) const;
    /// Calls fn(key, state, deadline) for every live task: the pending ones, then the running
    /// ones, each in creation order. (The poller's start-up after a restore.)
    void for_each_live_task(const std::function<void(const core::task_key&, core::task_state,
                                                     core::sys_time)>& fn) const;

    core::task_counts task_counts() const { return task_counts_; }
    std::array<std::uint32_t, core::batch_state_count> batch_counts() const {
        return batch_counts_;
    }
    std::size_t task_count() const { return task_total_; }
    std::size_t batch_count() const { return batch_total_; }

    /// The newest change's sequence number (0 before any change).
    std::uint64_t seq() const { return seq_; }
    /// Changes with seq > since (at most max), with explicit gap reporting (change_log.hpp).
    change_page changes_since(std::uint64_t since, std::size_t max) const {
        return log_.since(since, max);
    }

    // ---- watchers (one-shot; the handle unregisters on destruction)

    /// Calls cb once the task is terminal (now, before returning, if it already is).
    /// not_found if the task is not tracked.
    core::result<watch_handle> watch_task_terminal(const core::task_key& key,
                                                   watch_table::callback cb);
    /// Same for a batch (done, rejected or unknown).
    core::result<watch_handle> watch_batch_terminal(std::string_view batch_id,
                                                    watch_table::callback cb);
    /// Calls cb once seq() > after_seq (now if already so).
    watch_handle watch_changes(std::uint64_t after_seq, watch_table::callback cb);

    /// Registered, not yet fired watchers (tests and status).
    std::size_t watcher_count() const { return watches_->size(); }

    // ---- retention (the daemon arms one timer at next_expiry() and calls expire())

    /// Forgets finished units whose TTL passed at `now`, then the oldest finished ones while over
    /// a maximum count. Each eviction is a change (batch_expired / task_expired). Returns how
    /// many tasks and batches were forgotten.
    std::size_t expire(core::sys_time now);
    /// When expire() next has work: the oldest finished unit's expiry, or its finish time (in
    /// the past: "now") while over a maximum count; nullopt if nothing is finished. It can move
    /// earlier after a change (something finished), so re-arm after changes.
    std::optional<core::sys_time> next_expiry() const;
    void set_retention(const retention_policy& r) { options_.retention = r; }
    /// How many times evicted records' holes were compacted away (status, tests).
    std::size_t compactions() const { return compactions_; }
    /// Batches keeping no entries of their own (collapse_entries), for tests and benchmarks.
    std::size_t collapsed_batches() const;

    // ---- journal hook (issue 7)

    /// Receives every change (nullptr to detach). Must outlive the store or be detached first.
    void set_observer(store_observer* o) { observer_ = o; }
    /// The observer's health(): fails (error_kind::unavailable) once changes are no longer
    /// recorded durably. create_batch and adopt_task refuse to start anything new then.
    core::result<void> durability() const;
    /// The observer's when_durable (at once, successfully, without one): what a mutation's
    /// caller awaits (engine/durable.hpp) before sending a request or answering a client.
    void when_durable(std::uint64_t seq, std::function<void(core::result<void>)> done) const;
    /// Start-up replay: inserts or replaces an object exactly as given (state, seqs, times),
    /// without validating transitions, notifying or logging changes. A task naming a batch needs
    /// the batch restored first. invalid for malformed objects. Call finish_restore() after the
    /// last one and before any other use.
    /// `fresh`: the caller knows the object is not in the store yet (a snapshot holds each object
    /// once), so the lookup for an older version is skipped.
    /// Taken by value: a replay moves each decoded object in (its strings are not copied).
    core::result<void> restore_batch(core::batch b, bool fresh = false);
    core::result<void> restore_task(core::task t, bool fresh = false);
    /// Replays an expiry: the object (and, for a batch, its tasks) is forgotten. `seq` is the
    /// expiry change's sequence number. Unknown objects are ignored (already forgotten).
    void restore_expired_batch(std::string_view batch_id, std::uint64_t seq);
    void restore_expired_task(const core::task_key& key, std::uint64_t seq);
    /// Ends a restore: rebuilds the indexes once and makes the change log report a gap for every
    /// seq restored. `seq_floor`: the sequence the restored state is at when that is newer than
    /// every restored object (a follower's load of the current state at ledger sequence N, whose
    /// newest changes may have been expiries): seq() becomes at least seq_floor and the log's
    /// gap covers it, even when nothing was restored.
    void finish_restore(std::uint64_t seq_floor = 0);
    // ---- follower replication (docs/store.md "Followers", docs/ha.md "Followers")

    /// Applies one change the leader's store made, with the object's full state after it
    /// (decoded from its journal record; its updated_seq must be c.seq). Changes must come in
    /// order: c.seq == seq() + 1, else an invalid error naming both seqs and nothing changes
    /// (the caller reloads: restore_* of the current state, then finish_restore(N)). Afterwards
    /// this store is as the leader's was after that change: the same get/list/
    /// find_batch_by_token/counts answers (a task's `polls` excepted: the leader counts polls
    /// that saw nothing new without a change, so a follower learns them with the task's next
    /// change), the same change (seq, kind, subject, state) in changes_since, updated_seq ==
    /// c.seq, and the watchers (watch_task_terminal, watch_batch_terminal, watch_changes) fire
    /// as they would have there, at the end of the call. Timestamps (created_at, finished_at,
    /// deadline) come from the object, never this store's clock. Never calls the observer.
    /// O(1) per change (an eviction's compaction is amortized, as in expire()).
    /// invalid (nothing changed) for: a change kind that is not the call's, an object that the
    /// change does not describe (subject, state, seqs), a malformed object (as restore_*), a
    /// *_created for an object already held, a *_changed for one not held, one that alters what
    /// never changes (service, action, region, labels, client_token, target, poll, resources,
    /// created_at, deadline) or changes a finished object, and a call before finish_restore().
    core::result<void> apply_replicated_batch(const change& c, core::batch b);
    core::result<void> apply_replicated_task(const change& c, core::task t);
    /// batch_expired / task_expired: the object is forgotten as the leader's retention did it
    /// (a batch's tasks expire in their own earlier changes on the leader, in the same order).
    /// invalid unless the object is held and finished (and, for a batch, its tasks already
    /// forgotten; for a batch's task, its batch finished). A follower never calls expire():
    /// retention arrives as these changes.
    core::result<void> apply_replicated_batch_expiry(const change& c, std::string_view batch_id);
    core::result<void> apply_replicated_task_expiry(const change& c, const core::task_key& key);

    /// Capacity for a replay of about this many batches and tasks (an upper bound is fine: the
    /// surplus is released by finish_restore's compaction only if records moved).
    void reserve_for_restore(std::size_t batches, std::size_t tasks);

  private:
    using callbacks = std::vector<watch_table::callback>;

    // lookups (positions into tasks_ / batches_)
    std::uint64_t task_hash(std::uint32_t service, std::string_view request_id) const;
    /// Every task with this service and requestId (any region or batch).
    std::vector<std::uint32_t> tasks_with(std::uint32_t service, std::string_view rid) const;
    /// The batch's own task for this requestId.
    std::optional<std::uint32_t> find_batch_task(std::uint32_t bpos, std::string_view rid) const;
    /// The exact match, else the only qualified match (core/task_key.hpp); `ambiguous` (if
    /// given) says whether several matched.
    std::optional<std::uint32_t> find_task(const core::task_key& key,
                                           bool* ambiguous = nullptr) const;
    std::string_view task_region(std::uint32_t pos) const;
    // A task's service, action, label set, region and poll settings: its own (attrs_) or its
    // batch's (detail::task_attrs).
    const detail::task_attrs* own_attrs(const detail::task_rec& t) const {
        return t.attrs == detail::no_attrs ? nullptr : &attrs_[t.attrs];
    }
    template <class T>
    T shared_attr(const detail::task_rec& t, T detail::task_attrs::*own,
                  T detail::batch_rec::*batch) const {
        auto* a = own_attrs(t);
        return a != nullptr ? a->*own : batches_[t.batch].*batch;
    }
    std::uint32_t task_service(const detail::task_rec& t) const {
        return shared_attr(t, &detail::task_attrs::service, &detail::batch_rec::service);
    }
    std::uint32_t task_action(const detail::task_rec& t) const {
        return shared_attr(t, &detail::task_attrs::action, &detail::batch_rec::action);
    }
    std::uint32_t task_labelset(const detail::task_rec& t) const {
        return shared_attr(t, &detail::task_attrs::labelset, &detail::batch_rec::labelset);
    }
    std::int64_t task_created_at(const detail::task_rec& t) const {
        return shared_attr(t, &detail::task_attrs::created_at, &detail::batch_rec::task_created_at);
    }
    std::int64_t task_deadline(const detail::task_rec& t) const {
        return shared_attr(t, &detail::task_attrs::deadline, &detail::batch_rec::task_deadline);
    }
    std::uint32_t task_poll(const detail::task_rec& t) const {
        return t.batch != detail::no_batch ? batches_[t.batch].poll : attrs_[t.attrs].poll;
    }
    /// Keeps `a` for a task; its position in attrs_.
    std::uint32_t add_attrs(const detail::task_attrs& a);
    /// Frees the task's own attrs (if any).
    void drop_attrs(detail::task_rec& t);
    /// A task record's attrs: its own unless it has a batch with the same service, action,
    /// labels, and the same creation time and deadline as the batch's first task.
    void set_attrs(detail::task_rec& t, const detail::task_attrs& a);
    /// An entry's requestId: its own, or its task's once linked.
    std::string_view entry_request_id(const detail::batch_rec& b, const detail::entry_rec& e) const;
    /// The entry's task (a position in tasks_), if it is linked or its requestId names one.
    std::optional<std::uint32_t> entry_task(std::uint32_t bpos, const detail::entry_rec& e) const;
    /// Links the batch's unlinked accepted entries to their tasks in its task list.
    void link_entries(std::uint32_t bpos);
    /// The entries linked to task `pos` keep its requestId themselves again (before it dies).
    void unlink_entries_to(std::uint32_t pos);
    /// A batch whose entries say no more than its tasks — one accepted entry with code 0 and no
    /// message for each resource of each task, in task order, as an answer that accepted
    /// everything gives — keeps none (batch_rec::entries_are_tasks; issue 20).
    void collapse_entries(std::uint32_t bpos);
    /// Makes such a batch's entries again (before they or its tasks change).
    void expand_entries(std::uint32_t bpos);
    /// Calls fn(resource, task position) for each entry a collapsed batch stands for.
    template <class Fn>
    void for_each_task_entry(const detail::batch_rec& b, Fn fn) const {
        for (auto tp : b.tasks) {
            std::string_view res = tasks_[tp].resources;
            for (std::size_t i = 0; i <= res.size();) {
                auto nl = res.find('\n', i);
                if (nl == std::string_view::npos) nl = res.size();
                fn(res.substr(i, nl - i), tp);
                i = nl + 1;
            }
        }
    }
    /// The task's whole identity (core/task_key.hpp).
    core::task_key task_key_of(std::uint32_t pos) const;
    /// "region ap-x, batch b-1" / "region ap-x, adopted": how to tell colliding tasks apart.
    std::string task_origin(std::uint32_t pos) const;
    /// Logs and counts a collision of a new task with the existing ones (`others`).
    void note_collision(std::string_view what, const std::vector<std::uint32_t>& others);
    /// Only the task whose identity is exactly `key` (no qualified match).
    std::optional<std::uint32_t> find_exact_task(const core::task_key& key) const;
    std::optional<std::uint32_t> find_batch(std::string_view batch_id) const;
    // The batch id index (a key_table: 10-15 bytes a batch instead of a map node's ~40).
    static std::uint64_t batch_hash(std::uint64_t id) { return id * 0x9e3779b97f4a7c15ull; }
    std::optional<std::uint32_t> batch_pos(std::uint64_t id) const {
        return batch_ids_.find(batch_hash(id),
                               [&](std::uint32_t p) { return batches_[p].id == id; });
    }
    /// Makes `pos` the batch with this id (replacing any other).
    void set_batch_pos(std::uint64_t id, std::uint32_t pos) {
        erase_batch_pos(id);
        batch_ids_.insert(batch_hash(id), pos);
    }
    void erase_batch_pos(std::uint64_t id) {
        batch_ids_.erase(batch_hash(id), [&](std::uint32_t p) { return batches_[p].id == id; });
    }
    template <class Rec>
    static std::uint32_t first_after(const huge_vector<Rec>& recs, std::uint64_t created_seq);

    // views
    core::task task_view(std::uint32_t pos) const;
    core::batch batch_view(std::uint32_t pos) const;
    std::string task_subject(std::uint32_t pos) const;

    // changes
    void insert_task(detail::task_rec&& rec);
    std::uint32_t insert_batch(detail::batch_rec&& rec);
    /// A terminal state also records the finish (retention, watchers): at `finished_at`
    /// (nanoseconds since the epoch: a replicated change's) or, by default, the clock's now.
    void set_task_state(std::uint32_t pos, core::task_state to,
                        std::optional<std::int64_t> finished_at = std::nullopt);
    void set_batch_state(std::uint32_t pos, core::batch_state to,
                         std::optional<std::int64_t> finished_at = std::nullopt);
    void maybe_finish_batch(std::uint32_t pos);
    void emit_task(std::uint32_t pos, change_kind kind);
    void emit_batch(std::uint32_t pos, change_kind kind);
    void run_callbacks();
    /// End of a client-acknowledged mutation: the observer's on_commit(), then run_callbacks().
    void commit_and_run_callbacks();
    void add_outcome_tasks(std::uint32_t bpos, const batch_outcome& o);

    // retention and compaction
    template <class Rec>
    static std::optional<std::uint32_t> by_created_seq(const huge_vector<Rec>& recs,
                                                       std::uint64_t seq);
    bool unit_alive(const detail::finished_unit& u) const;
    std::size_t evict_unit(const detail::finished_unit& u);
    /// `batch_going`: its batch is evicted next (its entries need not keep the requestId).
    void evict_task(std::uint32_t pos, bool batch_going = false);
    std::size_t evict_batch(std::uint32_t pos);
    void rebuild_finished();
    /// Compacts once evicted holes outnumber the living (amortized O(1) per eviction).
    void maybe_compact();

    // follower replication (store_replica.cpp)
    /// The checks every apply_replicated_* makes first: not restoring, c.seq == seq() + 1.
    core::result<void> check_replicated(const change& c, change_kind a, change_kind b) const;
    /// After a replicated expiry: drops finished_ entries already forgotten, compacts if due.
    void after_replicated_expiry();
    detail::batch_rec batch_record(core::batch&& b);
    detail::task_rec task_record(core::task&& t, std::uint32_t batch);
    static std::vector<detail::entry_rec> entry_records(const std::vector<core::entry>& entries);
    /// Entries given by a journal, a ledger or a leader: an accepted one's requestId is valid
    /// (entry_rec splits requestId and message at the first '\n').
    static core::result<void> check_entries(const core::batch& b);
    /// A task's resources as task_rec holds them (joined with '\n').
    static std::string joined_resources(const std::vector<std::string>& resources);
    void compact();
    /// compact()'s slow path: drops dead records and restores creation order (indexes stale).
    void drop_dead_records();
    void index_task(std::uint32_t pos, bool keys = true);   // keys: also the key table
    void index_batch(std::uint32_t pos, bool keys = true);  // keys: also batch_ids_

    const core::clock& clock_;
    store_options options_;
    core::logger logger_;
    core::batch_id_generator ids_;
    std::uint64_t seq_ = 0;
    change_log log_;
    store_observer* observer_ = nullptr;
    std::shared_ptr<watch_table> watches_;
    callbacks due_;  // callbacks satisfied by the current mutation, run at its end

    interner services_;
    interner actions_;
    interner regions_;
    label_sets labels_;
    poll_table polls_;

    huge_vector<detail::task_rec> tasks_;    // creation order; evicted ones stay until compact()
    huge_vector<detail::task_attrs> attrs_;  // adopted tasks' own (task_rec::attrs)
    std::vector<std::uint32_t> free_attrs_;  // positions in attrs_ no task uses
    huge_vector<detail::batch_rec> batches_;
    key_table task_keys_;
    key_table batch_ids_;                                    // batch id → position (batch_pos)
    std::unordered_map<std::string, std::uint64_t> tokens_;  // client_token → batch id
    posting_lists task_by_service_;
    posting_lists task_by_action_;
    posting_lists task_by_label_;
    state_bits task_states_{core::task_state_count};
    posting_lists batch_by_service_;
    posting_lists batch_by_action_;
    posting_lists batch_by_label_;
    state_bits batch_states_{core::batch_state_count};

    std::deque<detail::finished_unit> finished_;  // oldest finished first
    bool restoring_ = false;
    std::string restore_batch_key_;  // restore_task's last batch lookup (id → position)
    std::uint32_t restore_batch_pos_ = detail::no_batch;
    std::size_t compactions_ = 0;
    std::uint64_t collisions_ = 0;
    std::size_t finished_tasks_ = 0;
    std::size_t finished_batches_ = 0;
    std::size_t task_total_ = 0;
    std::size_t batch_total_ = 0;
    core::task_counts task_counts_{};
    std::array<std::uint32_t, core::batch_state_count> batch_counts_{};
};

}  // namespace taskpoller::store
