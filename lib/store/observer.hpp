#pragma once
// The journal's hook (issue 7): a listener that sees every change with the object's full state
// after it, which is enough to rebuild the store by replaying them in order through
// store::restore_*(): *_created / *_changed → restore_batch/restore_task, *_expired →
// restore_expired_*, then finish_restore(). A follower applies the same pairs one at a time,
// live, through store::apply_replicated_* (docs/store.md "Followers").

#include <cstdint>
#include <functional>

#include "core/result.hpp"
#include "core/types.hpp"
#include "store/change_log.hpp"

namespace taskpoller::store {

class store_observer {
  public:
    virtual ~store_observer() = default;
    /// After every batch change (for batch_expired: the batch's last state). Runs synchronously
    /// inside the mutation; must not call back into the store's mutations.
    virtual void on_batch_change(const change& c, const core::batch& b) = 0;
    /// Same for tasks.
    virtual void on_task_change(const change& c, const core::task& t) = 0;
    /// At the end of every mutation a client is answered about (create_batch,
    /// record_batch_outcome, mark_batch_unknown, adopt_task, cancel_task, cancel_batch), after
    /// its changes and before any watcher runs: the point where `strict` makes them durable.
    /// Poll results (update_task) and expiries have no commit: losing the last few of them in a
    /// crash costs a poll, not a submission.
    virtual void on_commit() {}
    /// Whether changes are still being recorded durably. The store refuses new submissions and
    /// adoptions while this fails (error_kind::unavailable).
    virtual core::result<void> health() const { return {}; }
    /// Calls `done` once every change up to `seq` is durable, or with an unavailable error once
    /// it is known that it never will be. The journal makes a commit durable inside on_commit,
    /// so its answer is immediate (health()); the PostgreSQL ledger answers when the
    /// transaction holding `seq` commits (ledger/write_buffer.hpp). `done` may run before this
    /// returns.
    virtual void when_durable(std::uint64_t seq, std::function<void(core::result<void>)> done) {
        (void)seq;
        done(health());
    }
};

}  // namespace taskpoller::store
