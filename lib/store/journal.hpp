#pragma once
// The store's journal (issue 7, docs/durability.md): every store change is appended to a log file
// as a checksummed record; a snapshot of the live contents replaces the log when it grows too
// large; start-up replays snapshot + log into an empty store.
//
// Files, for path P: P (the log), P.snapshot, and P.snapshot.tmp while a snapshot is written;
// P.control (journal_control.hpp: what is known durable) and P.lock (journal_lock.hpp).
//
// Ordering: the tracker creates a batch in `submitting` state before it sends the request. That
// change reaches on_batch_change() synchronously, so the intent is in the log (and, in strict
// mode, on disk) before the request leaves; a restart that finds the intent without an outcome
// marks the batch `unknown` instead of sending it again.
//
// Single-threaded like the store; synchronous file I/O (write(2), fdatasync). The daemon drives
// the relaxed-mode sync and compaction from its own timer (flush(), compact_if_due()).

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "core/logger.hpp"
#include "core/result.hpp"
#include "store/journal_control.hpp"
#include "store/journal_file.hpp"
#include "store/journal_lock.hpp"
#include "store/journal_pending.hpp"
#include "store/observer.hpp"

namespace taskpoller::store {

class store;

enum class durability {
    /// A mutation a client is answered about (a submission's intent, its outcome, an adoption, a
    /// cancellation) is fdatasync'ed before it returns (store_observer::on_commit). Poll results
    /// and expiries are written at once and synced by the next flush(), like `relaxed`.
    strict,
    relaxed,  ///< every change is written at once; flush() (every sync_interval) syncs it
};

struct journal_options {
    durability mode = durability::strict;
    /// How often the daemon should call flush() in relaxed mode (the most a power loss can lose).
    std::chrono::milliseconds sync_interval{5};
    /// compact_if_due() writes a snapshot and starts a new log once the log is this large.
    std::uint64_t compact_at_bytes = 64u << 20;
    /// Skip corrupt records in the middle of the log or snapshot instead of refusing to start.
    bool recover = false;
    /// fdatasync(2) replacement (tests count calls); returns 0 or -1 with errno set.
    std::function<int(int fd)> sync;
    /// Called when a write leaves the log waiting for a sync (sync_due() turns true): the daemon
    /// arms a one-shot timer of sync_interval that calls flush(), so an idle daemon never wakes.
    std::function<void()> on_dirty;
    /// write(2) replacement (tests inject ENOSPC, short writes); unset: write(2).
    journal_file::write_fn write;
    /// Called once each time the journal turns failed: the daemon arms a timer that calls
    /// retry() after retry_delay(), again and again until it succeeds.
    std::function<void()> on_failed;
    /// First and longest delay between retry() attempts (doubling in between).
    std::chrono::milliseconds retry_first{100};
    std::chrono::milliseconds retry_max{std::chrono::seconds{30}};
    core::logger log;
};

struct replay_stats {
    std::size_t snapshot_records = 0;    ///< batch/task records loaded from the snapshot
    std::size_t log_records = 0;         ///< records applied from the log
    std::size_t stale_records = 0;       ///< log records older than the snapshot (skipped)
    std::size_t skipped_records = 0;     ///< corrupt regions skipped (recover only)
    std::uint64_t truncated_bytes = 0;   ///< torn tail removed from the log
    std::size_t marked_unknown = 0;      ///< `submitting` batches turned `unknown`
    std::size_t lost_tasks_tracked = 0;  ///< tasks of a recorded outcome recreated from its batch
    std::size_t batches_finished = 0;    ///< `submitted` batches whose tasks had all ended
    std::size_t batches = 0;             ///< in the store after replay
    std::size_t tasks = 0;
};

struct journal_counters {
    std::uint64_t records = 0;  ///< records appended since open
    std::uint64_t syncs = 0;    ///< fdatasync calls on the log
    std::uint64_t compactions = 0;
    std::uint64_t compaction_failures = 0;  ///< compact() calls that failed
    std::uint64_t log_bytes = 0;            ///< current log size
    std::uint64_t snapshot_bytes = 0;       ///< size of the snapshot last written or replayed
};

class journal final : public store_observer {
  public:
    /// Locks `path`.lock (journal_lock: one daemon per journal, held until destruction), then
    /// opens (creating if absent, with its directory entry synced) the log at `path`. Fails with
    /// a message naming the file if another process holds the lock, if the log cannot be opened
    /// or is not a journal (wrong magic or a newer format version). Nothing is read beyond the
    /// header until replay().
    static core::result<std::unique_ptr<journal>> open(std::string path, journal_options options);
    ~journal() override;
    journal(const journal&) = delete;
    journal& operator=(const journal&) = delete;

    /// Loads the snapshot then the log into `s`, which must be empty, through restore_* and
    /// finish_restore(); truncates a torn tail (warning) if the control file agrees it can only
    /// be one (check_log; otherwise refuses, naming the file, offsets and --recover, unless
    /// options.recover), then rewrites the control file; refuses corruption in the middle
    /// (error naming the file and offset) unless options.recover. Then attaches itself as the
    /// store's observer and marks every batch still `submitting` as `unknown` (journaled). After a
    /// recovered replay, compacts at once so the damaged log is gone. Call once, before any
    /// other store use. The journal must be destroyed (or detach()ed) before the store.
    core::result<replay_stats> replay(store& s);
    /// Stops observing the store (no-op if not attached).
    void detach();

    /// Whether writes are waiting for a sync (relaxed mode, or strict mode's poll results).
    bool sync_due() const noexcept { return dirty_; }
    std::chrono::milliseconds sync_interval() const noexcept { return options_.sync_interval; }
    /// Syncs pending writes (no-op if none). An error also marks the journal failed.
    core::result<void> flush();

    /// Strict mode, for several mutations acknowledged together: while the returned guard lives,
    /// commits do not sync; its destruction syncs once. Acknowledge the client only after the
    /// guard is gone. Nests; no-op in relaxed mode. (One mutation, e.g. an outcome creating N
    /// tasks, already syncs once, at its commit.)
    class sync_group {
      public:
        explicit sync_group(journal& j) : j_(&j) { ++j.group_depth_; }
        ~sync_group();
        sync_group(const sync_group&) = delete;
        sync_group& operator=(const sync_group&) = delete;

      private:
        journal* j_;
    };
    sync_group group_syncs() { return sync_group{*this}; }

    /// Whether the log has outgrown options.compact_at_bytes.
    bool compaction_due() const noexcept;
    /// compact() if due. Call from the daemon's timer, never from inside a store callback.
    core::result<void> compact_if_due();
    /// Writes a snapshot of the attached store (temp file, fsync, rename, fsync directory) and
    /// starts a new empty log. On failure the old log stays in use, the error is returned and
    /// kept for compaction_health() until a compaction succeeds.
    core::result<void> compact();
    /// Empty unless the last compaction failed; then its error. Not a durability failure (the
    /// log still records every change, it only keeps growing): the store keeps accepting
    /// mutations, but the daemon reports itself unhealthy (/v1/status, metrics).
    core::result<void> compaction_health() const;

    /// Records in `<path>.control` how much of the log is durable now (journal_control), if that
    /// changed since it was last written (temp file, fsync, rename, fsync directory: ~2 syncs).
    /// The daemon calls it every 2 s and at shutdown; compaction and replay write it too. No-op
    /// (returning health()) while failed or before replay. Not called by the destructor.
    core::result<void> checkpoint();

    /// Empty while healthy; otherwise the first I/O error since it failed. While failed the
    /// journal appends nothing (it remembers which objects changed instead): the daemon must not
    /// acknowledge any mutation (changes are not durable) until retry() succeeds.
    core::result<void> health() const override;
    /// While failed: truncates the log back to its last durable length, appends the current
    /// state of every object changed since then (or its expiry) and syncs. Success makes the
    /// journal healthy again (info line); failure leaves it failed and returns the error. No-op
    /// while healthy. Call from a timer, every retry_delay(); never from a store callback.
    core::result<void> retry();
    /// The delay before the next retry() attempt (doubling from options.retry_first up to
    /// options.retry_max; back to the first after a recovery).
    std::chrono::milliseconds retry_delay() noexcept { return backoff_.next(); }
    /// Objects whose last change is not yet durable (what retry() would write).
    std::size_t pending_changes_count() const noexcept { return pending_.size(); }
    const journal_counters& counters() const noexcept { return counters_; }
    const std::string& path() const noexcept { return path_; }

    void on_batch_change(const change& c, const core::batch& b) override;
    void on_task_change(const change& c, const core::task& t) override;
    /// Strict mode, outside a sync_group: flush() now.
    void on_commit() override;

  private:
    journal(std::string path, journal_options options, journal_lock lock, int fd,
            std::uint64_t size);
    void append(std::string_view bytes);
    core::result<void> sync_log();
    void fail(std::string message);
    std::string pending_records() const;
    core::result<void> compact_once();
    core::result<void> write_control_now(std::uint64_t durable, std::uint64_t snapshot_seq);
    core::result<void> check_against_control(std::uint64_t log_size, std::uint64_t valid_end,
                                             std::optional<std::uint64_t> snapshot_seq,
                                             replay_stats& st);
    core::result<void> write_snapshot(const std::string& tmp);
    core::result<void> restart_log();

    std::string path_;
    journal_options options_;
    journal_lock lock_;
    int fd_ = -1;
    store* store_ = nullptr;
    bool dirty_ = false;
    int group_depth_ = 0;
    std::string failed_;               // first I/O error; empty while healthy
    std::string compaction_error_;     // the last compaction's error; empty after a success
    std::string buf_;                  // reused encoding buffer
    std::uint64_t durable_bytes_ = 0;  // the log's length at its last successful sync
    pending_changes pending_;          // objects changed since then
    retry_backoff backoff_;
    std::optional<journal_control> found_control_;  // what open() read (nullopt: none)
    journal_control control_;                       // what the control file says now
    std::uint64_t max_group_ = min_group_bytes;     // group_bound of the largest unsynced span
    journal_counters counters_;
};

}  // namespace taskpoller::store
