#pragma once
// The change sequence and a bounded ring of recent changes, so an events stream can resume from
// `since=SEQ` and is told explicitly when it asked for changes the ring no longer holds.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace taskpoller::store {

enum class change_kind : std::uint8_t {
    batch_created,
    batch_changed,
    batch_expired,
    task_created,
    task_changed,
    task_expired,
};

/// "batch_created", "task_changed", ...
std::string_view to_string(change_kind k) noexcept;

/// One change. `subject` is a batch id or a task key ("lb/6356081"); `state` is the object's
/// state after the change (its to_string name, static storage).
struct change {
    std::uint64_t seq = 0;
    change_kind kind = change_kind::task_changed;
    std::string subject;
    std::string_view state;
};

/// What changes_since() returns. When `gap` is true, the changes between `since` and
/// `first_available` are gone (the caller should resynchronise from a full listing);
/// `changes` then starts at `first_available`.
struct change_page {
    std::vector<change> changes;
    bool gap = false;
    std::uint64_t first_available = 0;  ///< oldest seq still held (0 if none ever recorded)
    std::uint64_t last_seq = 0;         ///< the newest seq at the time of the call
};

class change_log {
  public:
    /// `capacity` ≥ 1 changes are retained.
    explicit change_log(std::size_t capacity);

    /// Records a change; its seq must be greater than every earlier one.
    void push(change c);

    /// Changes with seq > since, oldest first, at most `max` of them. A gap is reported when
    /// `since + 1` is older than the oldest retained change (and changes were dropped).
    change_page since(std::uint64_t since, std::size_t max) const;

    /// Declares every seq ≤ `seq` unavailable (used after restoring a store from a journal,
    /// whose history the ring never held): a reader asking for older changes gets a gap.
    void skip_to(std::uint64_t seq);

    std::size_t capacity() const { return ring_.size(); }
    std::size_t size() const { return size_; }

  private:
    std::vector<change> ring_;
    std::size_t head_ = 0;  // index of the oldest
    std::size_t size_ = 0;
    std::uint64_t last_seq_ = 0;
    std::uint64_t dropped_up_to_ = 0;  // every seq <= this that was recorded has been dropped
};

}  // namespace taskpoller::store
