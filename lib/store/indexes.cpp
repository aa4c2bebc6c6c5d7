// posting_lists on CRoaring's C API (the header stays out of store.hpp's includers).
#include "store/indexes.hpp"

#include <roaring/roaring.h>

#include <new>

namespace taskpoller::store {

posting_lists::~posting_lists() {
    clear();
}

void posting_lists::add(std::uint32_t id, std::uint32_t pos) {
    if (id >= lists_.size()) lists_.resize(id + 1, nullptr);
    auto*& r = lists_[id];
    if (r == nullptr) {
        r = roaring_bitmap_create();
        if (r == nullptr) throw std::bad_alloc();
    }
    roaring_bitmap_add(r, pos);
}

std::uint64_t posting_lists::count(std::uint32_t id) const {
    if (id >= lists_.size() || lists_[id] == nullptr) return 0;
    return roaring_bitmap_get_cardinality(lists_[id]);
}

std::uint32_t posting_lists::next(std::uint32_t id, std::uint32_t from, std::uint32_t end) const {
    if (id >= lists_.size() || lists_[id] == nullptr || from >= end) return end;
    roaring_uint32_iterator_t it;
    roaring_init_iterator(lists_[id], &it);
    if (!roaring_move_uint32_iterator_equalorlarger(&it, from)) return end;
    return it.current_value < end ? it.current_value : end;
}

void posting_lists::clear() {
    for (auto* r : lists_) {
        if (r != nullptr) roaring_bitmap_free(r);
    }
    lists_.clear();
}

void posting_lists::optimize() {
    for (auto* r : lists_) {
        if (r == nullptr) continue;
        roaring_bitmap_run_optimize(r);
        roaring_bitmap_shrink_to_fit(r);
    }
}

}  // namespace taskpoller::store
