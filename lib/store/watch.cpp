#include "store/watch.hpp"

#include <algorithm>

namespace taskpoller::store {

watch_handle& watch_handle::operator=(watch_handle&& o) noexcept {
    if (this != &o) {
        cancel();
        table_ = std::move(o.table_);
        id_ = std::exchange(o.id_, 0);
    }
    return *this;
}

void watch_handle::cancel() noexcept {
    if (id_ == 0) return;
    if (auto t = table_.lock()) t->remove(id_);
    id_ = 0;
    table_.reset();
}

bool watch_handle::pending() const {
    auto t = table_.lock();
    return t && id_ != 0 && t->contains(id_);
}

std::uint64_t watch_table::add_object(std::uint64_t object_seq, callback cb) {
    auto id = next_id_++;
    callbacks_.emplace(id, reg{std::move(cb), object_seq, false});
    by_object_.emplace(object_seq, id);
    return id;
}

std::uint64_t watch_table::add_changes(std::uint64_t after_seq, callback cb) {
    auto id = next_id_++;
    callbacks_.emplace(id, reg{std::move(cb), after_seq, true});
    by_after_.emplace(after_seq, id);
    return id;
}

void watch_table::remove(std::uint64_t id) noexcept {
    auto it = callbacks_.find(id);
    if (it == callbacks_.end()) return;
    auto& index = it->second.changes ? by_after_ : by_object_;
    auto [b, e] = index.equal_range(it->second.object_seq);
    for (auto o = b; o != e; ++o) {
        if (o->second == id) {
            index.erase(o);
            break;
        }
    }
    callbacks_.erase(it);
}

std::vector<watch_table::callback> watch_table::take_object(std::uint64_t object_seq) {
    std::vector<callback> out;
    take_object(object_seq, out);
    return out;
}

void watch_table::take_object(std::uint64_t object_seq, std::vector<callback>& out) {
    auto [b, e] = by_object_.equal_range(object_seq);
    for (auto o = b; o != e; ++o) {
        auto it = callbacks_.find(o->second);
        out.push_back(std::move(it->second.cb));
        callbacks_.erase(it);
    }
    by_object_.erase(b, e);
}

void watch_table::take_changes(std::uint64_t current_seq, std::vector<callback>& out) {
    auto end = by_after_.lower_bound(current_seq);
    for (auto o = by_after_.begin(); o != end; ++o) {
        auto it = callbacks_.find(o->second);
        out.push_back(std::move(it->second.cb));
        callbacks_.erase(it);
    }
    by_after_.erase(by_after_.begin(), end);
}

}  // namespace taskpoller::store
