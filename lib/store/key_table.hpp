#pragma once
// An open-addressing hash index from a caller-computed hash to a record position (uint32).
// 8 bytes a slot and at most 50 % load: ~16 bytes per task instead of a node-based map's ~64.
// Linear probing with backward-shift deletion, so no tombstones accumulate.

#include <cstdint>
#include <optional>
#include <vector>

#include "store/huge_pages.hpp"

namespace taskpoller::store {

class key_table {
  public:
    /// The position whose record `matches(pos)` among those stored under `hash`, or nullopt.
    template <class Match>
    std::optional<std::uint32_t> find(std::uint64_t hash, Match matches) const {
        if (slots_.empty()) return std::nullopt;
        auto h = fold(hash);
        for (std::size_t i = h & mask(); slots_[i].used; i = (i + 1) & mask()) {
            if (slots_[i].hash == h && matches(slots_[i].pos)) return slots_[i].pos;
        }
        return std::nullopt;
    }

    /// Calls fn(pos) for every position stored under `hash` (and, rarely, a few others whose
    /// folded hash is equal: fn checks the record).
    template <class Fn>
    void for_each(std::uint64_t hash, Fn fn) const {
        if (slots_.empty()) return;
        auto h = fold(hash);
        for (std::size_t i = h & mask(); slots_[i].used; i = (i + 1) & mask()) {
            if (slots_[i].hash == h) fn(static_cast<std::uint32_t>(slots_[i].pos));
        }
    }

    /// Adds a position; the caller has checked that no equal key is present.
    void insert(std::uint64_t hash, std::uint32_t pos);

    /// Removes the position `matches` selects; false if absent.
    template <class Match>
    bool erase(std::uint64_t hash, Match matches) {
        if (slots_.empty()) return false;
        auto h = fold(hash);
        for (std::size_t i = h & mask(); slots_[i].used; i = (i + 1) & mask()) {
            if (slots_[i].hash == h && matches(slots_[i].pos)) {
                erase_at(i);
                return true;
            }
        }
        return false;
    }

    /// Room for `n` positions without growing.
    void reserve(std::size_t n);

    void clear() {
        slots_.clear();
        size_ = 0;
    }
    std::size_t size() const { return size_; }
    std::size_t memory_bytes() const { return slots_.capacity() * sizeof(slot); }

  private:
    struct slot {
        std::uint32_t hash = 0;
        std::uint32_t pos : 31 = 0;
        std::uint32_t used : 1 = 0;
    };
    static std::uint32_t fold(std::uint64_t h) { return static_cast<std::uint32_t>(h ^ (h >> 32)); }
    std::size_t mask() const { return slots_.size() - 1; }
    void grow();
    void rehash(std::size_t slots);  // a power of two
    void place(std::uint32_t hash, std::uint32_t pos);
    void erase_at(std::size_t i);

    huge_vector<slot> slots_;
    std::size_t size_ = 0;
};

}  // namespace taskpoller::store
