#pragma once
// What the journal still owes the disk (issue 16, docs/durability.md "When the journal fails").
// I/O-free, single-threaded, owned by the journal.
//
// Every record carries a whole object, so what must be rewritten after a failed write or sync is
// not the lost bytes but "the current state of every object changed since the log was last
// durable": pending_changes remembers those objects (once each, in the order they were first
// changed, with whether the last change was an expiry) until the next successful sync.
// retry_backoff spaces out the attempts to write them again.

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/task_key.hpp"

namespace taskpoller::store {

class pending_changes {
  public:
    struct item {
        bool is_task = false;
        std::string batch_id;   ///< when !is_task
        core::task_key key;     ///< when is_task
        bool expired = false;   ///< the last change was an expiry: write an expiry record
        std::uint64_t seq = 0;  ///< the last change's sequence number (for the expiry record)
    };

    /// Remembers that batch `id` changed (`expired`: it was forgotten) at `seq`. A batch noted
    /// again keeps its first position and takes the new state.
    void note_batch(std::string_view id, bool expired, std::uint64_t seq);
    /// Same for a task.
    void note_task(const core::task_key& key, bool expired, std::uint64_t seq);
    /// Forgets everything (the log is durable up to its end).
    void clear();
    bool empty() const noexcept { return items_.empty(); }
    std::size_t size() const noexcept { return items_.size(); }
    /// One item per object, in first-noted order (a batch before the tasks its outcome created).
    const std::vector<item>& items() const noexcept { return items_; }

  private:
    void note(std::string index_key, item it);

    std::vector<item> items_;
    std::unordered_map<std::string, std::size_t> index_;  // "b" + id or "t" + the task identity
};

/// Delays between attempts: `first`, then doubling, never above `max`; reset() starts over.
class retry_backoff {
  public:
    retry_backoff(std::chrono::milliseconds first, std::chrono::milliseconds max) noexcept
        : first_(first), max_(max), next_(first) {}
    /// The delay before the next attempt (and doubles the one after).
    std::chrono::milliseconds next() noexcept;
    void reset() noexcept { next_ = first_; }

  private:
    std::chrono::milliseconds first_, max_, next_;
};

}  // namespace taskpoller::store
