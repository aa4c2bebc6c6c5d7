#include "store/change_log.hpp"

#include <algorithm>
#include <array>
#include <stdexcept>

namespace taskpoller::store {

std::string_view to_string(change_kind k) noexcept {
    static constexpr std::array<std::string_view, 6> names{"batch_created", "batch_changed",
                                                           "batch_expired", "task_created",
                                                           "task_changed",  "task_expired"};
    auto i = static_cast<std::size_t>(k);
    return i < names.size() ? names[i] : "invalid";
}

change_log::change_log(std::size_t capacity) : ring_(std::max<std::size_t>(capacity, 1)) {}

void change_log::push(change c) {
    if (c.seq <= last_seq_) throw std::logic_error("change_log: sequence numbers must increase");
    last_seq_ = c.seq;
    if (size_ == ring_.size()) {
        dropped_up_to_ = ring_[head_].seq;
        ring_[head_] = std::move(c);
        head_ = (head_ + 1) % ring_.size();
        return;
    }
    ring_[(head_ + size_) % ring_.size()] = std::move(c);
    ++size_;
}

void change_log::skip_to(std::uint64_t seq) {
    last_seq_ = std::max(last_seq_, seq);
    dropped_up_to_ = std::max(dropped_up_to_, seq);
}

change_page change_log::since(std::uint64_t since, std::size_t max) const {
    change_page page;
    page.last_seq = last_seq_;
    page.first_available = size_ ? ring_[head_].seq : 0;
    page.gap = since < dropped_up_to_;
    // Seqs in the ring increase, so binary search over the logical order.
    std::size_t lo = 0;
    std::size_t hi = size_;
    while (lo < hi) {
        std::size_t mid = (lo + hi) / 2;
        if (ring_[(head_ + mid) % ring_.size()].seq <= since) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    for (std::size_t i = lo; i < size_ && page.changes.size() < max; ++i) {
        page.changes.push_back(ring_[(head_ + i) % ring_.size()]);
    }
    return page;
}

}  // namespace taskpoller::store
