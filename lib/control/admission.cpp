#include "control/admission.hpp"

namespace taskpoller::control {

admission_decision connection_table::decide(uid_t uid, bool admin,
                                            const admission_limits& limits) const {
    auto evict_or = [](std::optional<std::uint64_t> victim, admission_verdict refusal) {
        if (victim) return admission_decision{admission_verdict::admit_after_evicting, *victim};
        return admission_decision{refusal, 0};
    };
    if (!admin && count(uid) >= limits.per_uid)
        return evict_or(oldest_idle(uid), admission_verdict::refuse_uid);
    const std::size_t reserved = admin ? 0 : limits.admin_reserved;
    const std::size_t capacity =
        limits.max_connections > reserved ? limits.max_connections - reserved : 0;
    if (size() >= capacity)
        return evict_or(oldest_idle(std::nullopt), admission_verdict::refuse_total);
    return {};
}

void connection_table::add(std::uint64_t id, uid_t uid) {
    if (!entries_.emplace(id, entry{uid, std::nullopt}).second) return;
    ++per_uid_[uid];
}

void connection_table::remove(std::uint64_t id) {
    auto it = entries_.find(id);
    if (it == entries_.end()) return;
    set_busy(id);
    auto u = per_uid_.find(it->second.uid);
    if (u != per_uid_.end() && --u->second == 0) per_uid_.erase(u);
    entries_.erase(it);
}

void connection_table::set_idle(std::uint64_t id, time_point since) {
    auto it = entries_.find(id);
    if (it == entries_.end()) return;
    if (it->second.idle_since) idle_.erase({*it->second.idle_since, id});
    it->second.idle_since = since;
    idle_.emplace(since, id);
}

void connection_table::set_busy(std::uint64_t id) {
    auto it = entries_.find(id);
    if (it == entries_.end() || !it->second.idle_since) return;
    idle_.erase({*it->second.idle_since, id});
    it->second.idle_since.reset();
}

std::size_t connection_table::count(uid_t uid) const noexcept {
    auto it = per_uid_.find(uid);
    return it == per_uid_.end() ? 0 : it->second;
}

std::optional<std::uint64_t> connection_table::oldest_idle(std::optional<uid_t> only) const {
    for (const auto& [since, id] : idle_) {
        if (!only || entries_.at(id).uid == *only) return id;
    }
    return std::nullopt;
}

}  // namespace taskpoller::control
