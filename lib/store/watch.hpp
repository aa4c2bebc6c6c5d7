#pragma once
// One-shot callbacks the store fires after the mutation that satisfies them ("task X is
// terminal", "batch X is terminal", "something changed after seq N"). No polling: the store
// calls notify_*() from its mutations.

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <unordered_map>
#include <utility>
#include <vector>

namespace taskpoller::store {

class watch_table;

/// Owns one registration. Destroying or cancel()ing it unregisters the callback if it has not
/// fired. Safe whether or not the store still exists (it holds only a weak reference). Move-only.
class watch_handle {
  public:
    watch_handle() = default;
    watch_handle(std::weak_ptr<watch_table> table, std::uint64_t id)
        : table_(std::move(table)), id_(id) {}
    watch_handle(watch_handle&& o) noexcept
        : table_(std::move(o.table_)), id_(std::exchange(o.id_, 0)) {}
    watch_handle& operator=(watch_handle&& o) noexcept;
    watch_handle(const watch_handle&) = delete;
    watch_handle& operator=(const watch_handle&) = delete;
    ~watch_handle() { cancel(); }

    /// Unregisters (no-op if already fired, cancelled, or the store is gone).
    void cancel() noexcept;
    /// True while the callback is registered and has not fired.
    bool pending() const;

  private:
    std::weak_ptr<watch_table> table_;
    std::uint64_t id_ = 0;
};

/// The registrations. Task and batch watches are keyed by the object's created_seq (stable for
/// its lifetime); change watches by the seq they wait to see exceeded.
class watch_table {
  public:
    using callback = std::function<void()>;

    std::uint64_t add_object(std::uint64_t object_seq, callback cb);
    std::uint64_t add_changes(std::uint64_t after_seq, callback cb);
    void remove(std::uint64_t id) noexcept;
    bool contains(std::uint64_t id) const { return callbacks_.count(id) != 0; }

    /// Detaches the callbacks waiting for `object_seq` (returned, not yet called).
    std::vector<callback> take_object(std::uint64_t object_seq);
    /// Detaches the change watchers satisfied by `current_seq` (after_seq < current_seq).
    void take_changes(std::uint64_t current_seq, std::vector<callback>& out);
    /// Same as take_object, appending to `out`.
    void take_object(std::uint64_t object_seq, std::vector<callback>& out);
    std::size_t size() const { return callbacks_.size(); }

  private:
    struct reg {
        callback cb;
        std::uint64_t object_seq;  // for a change watcher: after_seq
        bool changes;
    };
    std::uint64_t next_id_ = 1;
    std::unordered_map<std::uint64_t, reg> callbacks_;
    std::multimap<std::uint64_t, std::uint64_t> by_object_;
    std::multimap<std::uint64_t, std::uint64_t> by_after_;  // after_seq → id
};

}  // namespace taskpoller::store
