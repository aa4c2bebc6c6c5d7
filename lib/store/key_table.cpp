#include "store/key_table.hpp"

#include <stdexcept>

namespace taskpoller::store {

void key_table::insert(std::uint64_t hash, std::uint32_t pos) {
    if (pos >= (1u << 31)) throw std::length_error("key_table: position out of range");
    if ((size_ + 1) * 2 > slots_.size()) grow();
    place(fold(hash), pos);
    ++size_;
}

void key_table::place(std::uint32_t hash, std::uint32_t pos) {
    std::size_t i = hash & mask();
    while (slots_[i].used) i = (i + 1) & mask();
    slots_[i].hash = hash;
    slots_[i].pos = pos;
    slots_[i].used = 1;
}

void key_table::reserve(std::size_t n) {
    std::size_t want = slots_.empty() ? 16 : slots_.size();
    while (n * 2 > want) want *= 2;
    if (want != slots_.size()) rehash(want);
}

void key_table::grow() {
    rehash(slots_.empty() ? 16 : slots_.size() * 2);
}

void key_table::rehash(std::size_t slots) {
    huge_vector<slot> old = std::move(slots_);
    slots_.assign(slots, slot{});
    for (const auto& s : old) {
        if (s.used) place(s.hash, s.pos);
    }
}

void key_table::erase_at(std::size_t i) {
    // Backward shift: pull later members of the probe run into the hole so lookups that would
    // have passed through it still find them.
    std::size_t hole = i;
    for (std::size_t j = (hole + 1) & mask(); slots_[j].used; j = (j + 1) & mask()) {
        std::size_t home = slots_[j].hash & mask();
        bool movable = hole <= j ? (home <= hole || home > j) : (home <= hole && home > j);
        if (movable) {
            slots_[hole] = slots_[j];
            hole = j;
        }
    }
    slots_[hole] = slot{};
    --size_;
}

}  // namespace taskpoller::store
