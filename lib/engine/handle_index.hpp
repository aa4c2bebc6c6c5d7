#pragma once
// An open-addressing hash index of 32-bit handles whose keys live elsewhere (issue 20). The
// poller's key index: each slot holds a live task's handle and nothing else; the key is compared
// and rehashed through the caller (poll_state reads it from the task's live_task), so the index
// costs 4 bytes a slot (≈ 8 bytes a task at a load between 1/4 and 3/4) instead of an
// unordered_map node with its own copy of the key (≈ 120 bytes). Linear probing, tombstones on
// erase, a full rehash when live + tombstone slots pass 3/4 of the table. I/O-free; tested
// against std::unordered_map in tests/unit/engine/handle_index_test.cpp.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

namespace taskpoller::engine::detail {

class handle_index {
  public:
    /// The largest handle the index can hold (two values are reserved for its markers).
    static constexpr std::uint32_t max_handle = 0xfffffffdu;

    std::size_t size() const noexcept { return size_; }
    bool empty() const noexcept { return size_ == 0; }
    std::size_t capacity() const noexcept { return slots_.size(); }
    std::size_t tombstones() const noexcept { return tombstones_; }

    /// The handle whose key `same(handle)` says equals the looked-up key (whose hash is `hash`).
    template <class Same>
    std::optional<std::uint32_t> find(std::uint64_t hash, Same&& same) const {
        if (slots_.empty()) return std::nullopt;
        const std::size_t mask = slots_.size() - 1;
        for (std::size_t i = start(hash);; i = (i + 1) & mask) {
            const std::uint32_t s = slots_[i];
            if (s == empty_slot) return std::nullopt;
            if (s != tombstone && same(s)) return s;
        }
    }

    /// Adds `h` (<= max_handle) under `hash`. The caller makes sure no handle with an equal key
    /// is present. `hash_of(handle)` must give the hash each present handle was inserted with:
    /// a growth or cleanup rehashes every handle.
    template <class HashOf>
    void insert(std::uint64_t hash, std::uint32_t h, HashOf&& hash_of) {
        if ((size_ + tombstones_ + 1) * 4 > slots_.size() * 3) rehash(hash_of);
        place(hash, h);
        ++size_;
    }

    /// Removes handle `h`, inserted under `hash`; false if it is not present.
    bool erase(std::uint64_t hash, std::uint32_t h) {
        if (slots_.empty()) return false;
        const std::size_t mask = slots_.size() - 1;
        for (std::size_t i = start(hash);; i = (i + 1) & mask) {
            const std::uint32_t s = slots_[i];
            if (s == empty_slot) return false;
            if (s == h) {
                // A tombstone only where a probe may have to pass it: before an empty slot it
                // can become empty at once.
                if (slots_[(i + 1) & mask] == empty_slot) {
                    slots_[i] = empty_slot;
                } else {
                    slots_[i] = tombstone;
                    ++tombstones_;
                }
                --size_;
                return true;
            }
        }
    }

    /// Makes room for `n` handles in all without a rehash (a bulk load whose size is known: the
    /// growth steps' discarded tables would stay in the process's heap). `hash_of` as insert's.
    template <class HashOf>
    void reserve(std::size_t n, HashOf&& hash_of) {
        if ((n + tombstones_) * 4 > slots_.size() * 3) rehash(hash_of, n);
    }

    void clear() noexcept {
        slots_.clear();
        slots_.shrink_to_fit();
        size_ = 0;
        tombstones_ = 0;
    }

  private:
    static constexpr std::uint32_t empty_slot = 0xffffffffu;
    static constexpr std::uint32_t tombstone = 0xfffffffeu;
    static constexpr std::size_t min_capacity = 16;

    std::size_t start(std::uint64_t hash) const noexcept {
        // Fibonacci hashing: the high bits of the product, so a weak hash still spreads.
        const std::uint64_t mixed = hash * 0x9e3779b97f4a7c15ull;
        return static_cast<std::size_t>(mixed >> 32) & (slots_.size() - 1);
    }

    void place(std::uint64_t hash, std::uint32_t h) {
        const std::size_t mask = slots_.size() - 1;
        std::size_t i = start(hash);
        while (slots_[i] != empty_slot && slots_[i] != tombstone) i = (i + 1) & mask;
        if (slots_[i] == tombstone) --tombstones_;
        slots_[i] = h;
    }

    template <class HashOf>
    void rehash(HashOf&& hash_of, std::size_t reserved = 0) {
        // At most half full afterwards (room for the one being inserted); smaller when erasures
        // left mostly tombstones. With `reserved`: room for that many at most 3/4 full.
        std::size_t cap = min_capacity;
        while (cap < (size_ + 1) * 2 || cap * 3 < reserved * 4) cap *= 2;
        std::vector<std::uint32_t> old(cap, empty_slot);
        old.swap(slots_);
        tombstones_ = 0;
        for (const std::uint32_t s : old) {
            if (s != empty_slot && s != tombstone) place(hash_of(s), s);
        }
    }

    std::vector<std::uint32_t> slots_;
    std::size_t size_ = 0;
    std::size_t tombstones_ = 0;
};

}  // namespace taskpoller::engine::detail
