#pragma once
// Secondary indexes over record positions. Records live in vectors in creation order, so a
// position list built by appending is already sorted: pagination seeks the next position. Entries
// of evicted records stay until the next compaction (readers check the record is alive).

#include <cstdint>
#include <span>
#include <vector>

#include "store/huge_pages.hpp"

struct roaring_bitmap_s;  // <roaring/roaring.h>, kept out of this header

namespace taskpoller::store {

/// For each small id (service, action, label...), the positions of the records that have it, as
/// a compressed bitmap (CRoaring, Debian's libroaring): 1 bit a position where an id is common,
/// 2 bytes where it is rare, instead of 4 bytes each (issue 20). Positions are added in
/// increasing order (records are appended), which CRoaring appends in O(1).
class posting_lists {
  public:
    posting_lists() = default;
    ~posting_lists();
    posting_lists(const posting_lists&) = delete;
    posting_lists& operator=(const posting_lists&) = delete;

    void add(std::uint32_t id, std::uint32_t pos);
    /// How many positions id's list holds.
    std::uint64_t count(std::uint32_t id) const;
    /// The first position ≥ from in id's list, or `end` if there is none below it.
    std::uint32_t next(std::uint32_t id, std::uint32_t from, std::uint32_t end) const;
    void clear();
    /// Compresses runs of positions (after a rebuild: most lists are dense runs then).
    void optimize();

  private:
    std::vector<roaring_bitmap_s*> lists_;  // null: no position yet
};

/// One bit per position per state: "which tasks are running" without touching the records.
class state_bits {
  public:
    explicit state_bits(std::size_t states) : bits_(states) {}

    void set(std::size_t state, std::uint32_t pos) {
        auto& b = bits_[state];
        if (pos / 64 >= b.size()) b.resize(pos / 64 + 1, 0);
        b[pos / 64] |= std::uint64_t{1} << (pos % 64);
    }
    void clear(std::size_t state, std::uint32_t pos) {
        auto& b = bits_[state];
        if (pos / 64 < b.size()) b[pos / 64] &= ~(std::uint64_t{1} << (pos % 64));
    }
    /// The first position ≥ from with the bit set, or `end` if none below it.
    std::uint32_t next(std::size_t state, std::uint32_t from, std::uint32_t end) const;
    void clear_all() {
        for (auto& b : bits_) b.clear();
    }

  private:
    std::vector<std::vector<std::uint64_t>> bits_;
};

inline std::uint32_t state_bits::next(std::size_t state, std::uint32_t from,
                                      std::uint32_t end) const {
    const auto& b = bits_[state];
    for (std::size_t w = from / 64; w < b.size() && w * 64 < end; ++w) {
        std::uint64_t word = b[w];
        if (w == from / 64) word &= ~std::uint64_t{0} << (from % 64);
        if (word != 0) {
            auto pos =
                static_cast<std::uint32_t>(w * 64 + static_cast<unsigned>(__builtin_ctzll(word)));
            return pos < end ? pos : end;
        }
    }
    return end;
}

}  // namespace taskpoller::store
