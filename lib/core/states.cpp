#include "core/states.hpp"

#include <array>

namespace taskpoller::core {
namespace {

constexpr std::array<std::string_view, task_state_count> task_names{
    "pending", "running", "succeeded", "failed", "timed_out", "not_found", "cancelled"};
constexpr std::array<std::string_view, batch_state_count> batch_names{
    "submitting", "submitted", "done", "rejected", "unknown"};
constexpr std::array<std::string_view, 3> entry_names{"accepted", "rejected", "unknown"};

template <class E, std::size_t N>
std::optional<E> parse_name(const std::array<std::string_view, N>& names, std::string_view s) {
    for (std::size_t i = 0; i < N; ++i) {
        if (names[i] == s) return static_cast<E>(i);
    }
    return std::nullopt;
}

template <std::size_t N>
std::string_view name_of(const std::array<std::string_view, N>& names, std::size_t i) {
    return i < N ? names[i] : std::string_view{"invalid"};
}

}  // namespace

bool is_terminal(task_state s) noexcept {
    return s != task_state::pending && s != task_state::running;
}

bool is_terminal(batch_state s) noexcept {
    return s == batch_state::done || s == batch_state::rejected || s == batch_state::unknown;
}

bool can_transition(task_state from, task_state to) noexcept {
    if (is_terminal(from)) return false;
    if (from == task_state::running && to == task_state::pending) return false;
    return static_cast<std::size_t>(to) < task_state_count;
}

bool can_transition(batch_state from, batch_state to) noexcept {
    switch (from) {
        case batch_state::submitting:
            return to == batch_state::submitted || to == batch_state::rejected ||
                   to == batch_state::unknown;
        case batch_state::submitted:
            return to == batch_state::done;
        default:
            return false;
    }
}

std::string_view to_string(task_state s) noexcept {
    return name_of(task_names, static_cast<std::size_t>(s));
}
std::string_view to_string(batch_state s) noexcept {
    return name_of(batch_names, static_cast<std::size_t>(s));
}
std::string_view to_string(entry_outcome o) noexcept {
    return name_of(entry_names, static_cast<std::size_t>(o));
}

std::optional<task_state> parse_task_state(std::string_view s) noexcept {
    return parse_name<task_state>(task_names, s);
}
std::optional<batch_state> parse_batch_state(std::string_view s) noexcept {
    return parse_name<batch_state>(batch_names, s);
}
std::optional<entry_outcome> parse_entry_outcome(std::string_view s) noexcept {
    return parse_name<entry_outcome>(entry_names, s);
}

}  // namespace taskpoller::core
