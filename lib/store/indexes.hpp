#pragma once
// Secondary indexes over record positions. Records live in vectors in creation order, so a
// position list built by appending is already sorted: pagination is a binary search. Entries of
// evicted records stay until the next compaction (readers check the record is alive).

#include <cstdint>
#include <span>
#include <vector>

#include "store/huge_pages.hpp"

namespace taskpoller::store {

/// For each small id (service, action, label...), the positions of the records that have it.
class posting_lists {
  public:
    void add(std::uint32_t id, std::uint32_t pos) {
        if (id >= lists_.size()) lists_.resize(id + 1);
        lists_[id].push_back(pos);
    }
    std::span<const std::uint32_t> get(std::uint32_t id) const {
        return id < lists_.size() ? std::span<const std::uint32_t>(lists_[id])
                                  : std::span<const std::uint32_t>{};
    }
    void clear() { lists_.clear(); }

  private:
    std::vector<huge_vector<std::uint32_t>> lists_;  // a service's list reaches megabytes
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
