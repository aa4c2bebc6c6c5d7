#include "store/key_table.hpp"

#include <algorithm>
#include <stdexcept>

namespace taskpoller::store {

void key_table::insert(std::uint64_t hash, std::uint32_t pos) {
    if (pos >= (1u << 31)) throw std::length_error("key_table: position out of range");
    if (!fits(size_ + 1, slots_.size())) grow();
    place(fold(hash), pos);
    ++size_;
}

void key_table::place(std::uint32_t hash, std::uint32_t pos) {
    std::size_t i = home(hash);
    while (slots_[i].used) i = next(i);
    slots_[i].hash = hash;
    slots_[i].pos = pos;
    slots_[i].used = 1;
}

void key_table::reserve(std::size_t n) {
    if (fits(n, slots_.size())) return;
    std::size_t want = std::max<std::size_t>(16, n + n / 4 + 1);
    rehash(want);
}

void key_table::grow() {
    rehash(slots_.empty() ? 16 : slots_.size() + slots_.size() / 2);
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
    for (std::size_t j = next(hole); slots_[j].used; j = next(j)) {
        std::size_t h = home(slots_[j].hash);
        bool movable = hole <= j ? (h <= hole || h > j) : (h <= hole && h > j);
        if (movable) {
            slots_[hole] = slots_[j];
            hole = j;
        }
    }
    slots_[hole] = slot{};
    --size_;
}

}  // namespace taskpoller::store
