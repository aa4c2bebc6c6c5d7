#pragma once
// The journal's hook (issue 7): a listener that sees every change with the object's full state
// after it, which is enough to rebuild the store by replaying them in order through
// store::restore_*(): *_created / *_changed → restore_batch/restore_task, *_expired →
// restore_expired_*, then finish_restore().

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
};

}  // namespace taskpoller::store
