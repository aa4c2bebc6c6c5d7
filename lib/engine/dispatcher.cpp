#include "engine/dispatcher.hpp"

#include <algorithm>
#include <cassert>

namespace taskpoller::engine::detail {

void dispatcher::step(time_point now, std::vector<poll_call>& calls,
                      std::vector<task_write>& writes) {
    last_step_ = now;
    drain(now, calls);
    while (has_room()) {
        due_.clear();
        state_.schedule().pop_due(now, state_.options().max_inflight - inflight_, due_);
        if (due_.empty()) break;
        take_due(now, calls, writes);
    }
}

void dispatcher::take_due(time_point now, std::vector<poll_call>& calls,
                          std::vector<task_write>& writes) {
    // Per service and region: two instance-state services (API 3.0 cvm and cbs) never share a
    // call, whatever their region.
    std::map<std::pair<std::uint16_t, std::uint16_t>, std::vector<std::uint32_t>> by_region;
    for (const auto& d : due_) {
        const live_task* t = state_.find(d.handle);
        if (t == nullptr) continue;
        if (d.why == scheduler::due_task::reason::deadline) {
            writes.push_back(state_.expire(d.handle));
            continue;
        }
        if (t->instance_state) {
            // Already riding along in a call in flight: its answer reschedules it.
            if (!state_.polling(d.handle)) {
                const std::pair<std::uint16_t, std::uint16_t> where{t->service, t->region};
                by_region[where].push_back(d.handle);
            }
            continue;
        }
        ready_[state_.bucket_of(t->service)].emplace_back(d.handle, t->gen);
    }
    drain(now, calls);
    for (auto& [where, handles] : by_region) {
        const auto [service, region] = where;
        for (auto h : handles) state_.set_polling(h, true);  // due: never someone's rider
        for (auto& group : state_.group_cvm(handles)) {
            state_.add_riders(group, service, region);
            poll_call c;
            c.instances = true;
            c.region = region;
            c.service = service;
            c.bucket = state_.bucket_of(service);
            for (auto h : group) {
                state_.set_polling(h, true);
                c.gens.push_back(state_.gen_of(h));
            }
            c.handles = std::move(group);
            calls.push_back(std::move(c));
            ++inflight_;
        }
    }
}

void dispatcher::drain(time_point now, std::vector<poll_call>& calls) {
    auto& limiter = state_.limiter();
    for (auto it = ready_.begin(); it != ready_.end();) {
        auto& q = it->second;
        while (!q.empty() && has_room()) {
            auto [h, gen] = q.front();
            if (!state_.alive(h, gen)) {  // cancelled or finished while waiting
                q.pop_front();
                continue;
            }
            if (limiter.available(it->first, now) == 0) break;
            q.pop_front();
            limiter.acquire(it->first, now);
            const live_task* t = state_.find(h);
            calls.push_back(poll_call{false, t->service, t->region, it->first, {h}, {gen}});
            ++inflight_;
        }
        it = q.empty() ? ready_.erase(it) : std::next(it);
    }
}

std::optional<time_point> dispatcher::next_wake(time_point now) {
    if (!has_room()) return std::nullopt;
    std::optional<time_point> next = state_.schedule().next_due();
    auto& limiter = state_.limiter();
    const auto& opt = state_.options();
    const std::size_t room = opt.max_inflight - inflight_;
    for (const auto& [bucket, q] : ready_) {
        if (q.empty()) continue;
        const std::size_t want = std::min({q.size(), room, limiter.batch(bucket, opt.token_batch)});
        auto t = std::max(limiter.ready_for(bucket, want, now), now + std::chrono::milliseconds(1));
        if (!next || t < *next) next = t;
    }
    if (next) next = std::max(*next, last_step_ + opt.wake_tick);
    return next;
}

bool dispatcher::finished() noexcept {
    assert(inflight_ > 0 && "finished() without a call in flight");
    const bool was_full = !has_room();
    if (inflight_ > 0) --inflight_;
    return was_full;
}

std::size_t dispatcher::waiting() const noexcept {
    std::size_t n = 0;
    for (const auto& [bucket, q] : ready_) n += q.size();
    return n;
}

}  // namespace taskpoller::engine::detail
