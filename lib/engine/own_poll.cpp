#include "engine/own_poll.hpp"

#include <fmt/format.h>

#include <optional>
#include <string_view>

#include "core/duration.hpp"

namespace taskpoller::engine {

core::result<void> check_own_poll(const core::poll_settings& own, std::chrono::milliseconds timeout,
                                  std::chrono::milliseconds min_interval) {
    const std::pair<std::string_view, const std::optional<std::chrono::milliseconds>*> fields[] = {
        {"initial_delay", &own.initial_delay},
        {"interval", &own.interval},
        {"max_interval", &own.max_interval}};
    for (const auto& [name, value] : fields) {
        if (!*value) continue;
        if (**value < min_interval) {
            return core::error{fmt::format(
                "poll.{} {} is below polling.min_interval ({}), the shortest this daemon allows",
                name, core::format_duration(**value), core::format_duration(min_interval))};
        }
        if (**value > own_poll_max) {
            return core::error{fmt::format("poll.{} {} is longer than the maximum ({})", name,
                                           core::format_duration(**value),
                                           core::format_duration(own_poll_max))};
        }
    }
    if (own.interval && own.max_interval && *own.interval > *own.max_interval) {
        return core::error{fmt::format("poll.interval {} is longer than poll.max_interval {}",
                                       core::format_duration(*own.interval),
                                       core::format_duration(*own.max_interval))};
    }
    if (own.initial_delay && *own.initial_delay >= timeout) {
        return core::error{fmt::format(
            "poll.initial_delay {} is not shorter than the tasks' timeout {}: they would time out "
            "before their first poll",
            core::format_duration(*own.initial_delay), core::format_duration(timeout))};
    }
    return {};
}

}  // namespace taskpoller::engine
