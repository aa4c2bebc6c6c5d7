#pragma once
// A submission's own polling schedule (the request's "poll" object, docs/api.md): each field set
// replaces the configured `polling` value for that submission's tasks; unset fields follow the
// configuration (and its reloads). The deadline ("poll.timeout") is kept as the task's deadline,
// not here. The tracker bounds the values by the configuration (polling.min_interval).

#include <chrono>
#include <compare>
#include <optional>

#include "core/result.hpp"

namespace taskpoller::core {

struct poll_settings {
    std::optional<std::chrono::milliseconds> initial_delay{};  ///< first poll after submission
    std::optional<std::chrono::milliseconds> interval{};       ///< first backoff step
    std::optional<std::chrono::milliseconds> max_interval{};   ///< backoff cap

    bool empty() const noexcept { return !initial_delay && !interval && !max_interval; }
    friend bool operator==(const poll_settings&, const poll_settings&) = default;
    /// An order, so that distinct settings can key a map (store/interner, engine/scheduler).
    friend auto operator<=>(const poll_settings&, const poll_settings&) = default;
};

/// The longest own poll setting (each of the three fields).
inline constexpr std::chrono::hours max_own_poll{24};

/// The store's sanity check, also of journaled values (the tracker applies the configuration's
/// bounds first): no negative value, none above max_own_poll, and no interval above
/// max_interval when both are given.
inline result<void> validate_poll(const poll_settings& p) {
    for (const auto* d : {&p.initial_delay, &p.interval, &p.max_interval}) {
        if (*d && (*d)->count() < 0) return error{"poll settings must not be negative"};
        if (*d && **d > max_own_poll) return error{"poll settings must not exceed 24h"};
    }
    if (p.interval && p.max_interval && *p.interval > *p.max_interval)
        return error{"poll.interval must not exceed poll.max_interval"};
    return {};
}

}  // namespace taskpoller::core
