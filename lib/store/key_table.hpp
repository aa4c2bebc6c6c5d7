#pragma once
// An open-addressing hash index from a caller-computed hash to a record position (uint32).
// 8 bytes a slot, at most 80 % full, growing by half: 10-15 bytes per task instead of a
// node-based map's ~64 (issue 20; it was a power of two at most half full, 16.8 bytes a task
// at a million). A hash picks its home slot by multiplication (h * slots >> 32), so any number
// of slots works. Linear probing with backward-shift deletion, so no tombstones accumulate.

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
        for (std::size_t i = home(h); slots_[i].used; i = next(i)) {
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
        for (std::size_t i = home(h); slots_[i].used; i = next(i)) {
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
        for (std::size_t i = home(h); slots_[i].used; i = next(i)) {
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
    std::size_t home(std::uint32_t h) const {
        return static_cast<std::size_t>((std::uint64_t{h} * slots_.size()) >> 32);
    }
    std::size_t next(std::size_t i) const { return i + 1 == slots_.size() ? 0 : i + 1; }
    /// Whether n positions fit in `slots` (at most 80 % full; one slot always stays free).
    static bool fits(std::size_t n, std::size_t slots) { return n * 5 <= slots * 4 && n < slots; }
    void grow();
    void rehash(std::size_t slots);
    void place(std::uint32_t hash, std::uint32_t pos);
    void erase_at(std::size_t i);

    huge_vector<slot> slots_;
    std::size_t size_ = 0;
};

}  // namespace taskpoller::store
