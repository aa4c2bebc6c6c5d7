#include "store/journal_pending.hpp"

#include <algorithm>

namespace taskpoller::store {

void pending_changes::note(std::string index_key, item it) {
    auto [pos, inserted] = index_.try_emplace(std::move(index_key), items_.size());
    if (inserted) {
        items_.push_back(std::move(it));
        return;
    }
    auto& old = items_[pos->second];
    old.expired = it.expired;
    old.seq = it.seq;
}

void pending_changes::note_batch(std::string_view id, bool expired, std::uint64_t seq) {
    item it;
    it.batch_id = std::string(id);
    it.expired = expired;
    it.seq = seq;
    note("b" + it.batch_id, std::move(it));
}

void pending_changes::note_task(const core::task_key& key, bool expired, std::uint64_t seq) {
    item it;
    it.is_task = true;
    it.key = key;
    it.expired = expired;
    it.seq = seq;
    note("t" + core::format_task_identity(key), std::move(it));
}

void pending_changes::clear() {
    items_.clear();
    index_.clear();
}

std::chrono::milliseconds retry_backoff::next() noexcept {
    auto d = next_;
    next_ = std::min(max_, next_ * 2);
    return d;
}

}  // namespace taskpoller::store
