#pragma once
// A counter of long waiters (long-polls, event streams) so a flood of them is refused with 429
// instead of exhausting memory. I/O-free; single-threaded (io thread).

#include <cstddef>
#include <optional>
#include <utility>

namespace taskpoller::control {

class waiter_limit;

/// One admitted waiter; releases its place when destroyed. Move-only. Must not outlive the
/// waiter_limit that issued it.
class waiter_slot {
  public:
    waiter_slot(waiter_slot&& o) noexcept : owner_(std::exchange(o.owner_, nullptr)) {}
    waiter_slot& operator=(waiter_slot&& o) noexcept {
        if (this != &o) {
            release();
            owner_ = std::exchange(o.owner_, nullptr);
        }
        return *this;
    }
    ~waiter_slot() { release(); }

  private:
    friend class waiter_limit;
    explicit waiter_slot(waiter_limit* owner) : owner_(owner) {}
    void release() noexcept;
    waiter_limit* owner_;
};

class waiter_limit {
  public:
    explicit waiter_limit(std::size_t max) : max_(max) {}
    waiter_limit(const waiter_limit&) = delete;
    waiter_limit& operator=(const waiter_limit&) = delete;

    /// A slot, or nullopt when `max` waiters are already active (answer 429 then).
    std::optional<waiter_slot> try_acquire() {
        if (active_ >= max_) return std::nullopt;
        ++active_;
        return waiter_slot(this);
    }
    std::size_t active() const noexcept { return active_; }
    std::size_t max() const noexcept { return max_; }

  private:
    friend class waiter_slot;
    std::size_t max_;
    std::size_t active_ = 0;
};

inline void waiter_slot::release() noexcept {
    if (owner_) --owner_->active_;
    owner_ = nullptr;
}

}  // namespace taskpoller::control
