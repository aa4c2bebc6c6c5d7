#pragma once
// Task, batch and entry states (docs/design.md "States") and their legal transitions. Pure values.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace taskpoller::core {

/// A tracked task. `pending` → `running` → exactly one terminal state; terminal never changes.
enum class task_state : std::uint8_t {
    pending,
    running,
    succeeded,
    failed,
    timed_out,
    not_found,
    cancelled,
};
inline constexpr std::size_t task_state_count = 7;

/// A submitted call. `submitting` → `submitted` → `done`, or `submitting` → `rejected`/`unknown`.
/// `done`, `rejected` and `unknown` are terminal (an unknown batch is never re-sent).
enum class batch_state : std::uint8_t { submitting, submitted, done, rejected, unknown };
inline constexpr std::size_t batch_state_count = 5;

/// One resource's outcome in a batch answer: a task, a rejection, or not known.
enum class entry_outcome : std::uint8_t { accepted, rejected, unknown };

bool is_terminal(task_state s) noexcept;
bool is_terminal(batch_state s) noexcept;

/// Whether a task may move from `from` to `to`. A live state may "move" to itself (a status
/// update that changes nothing); a terminal state never moves, not even to itself.
bool can_transition(task_state from, task_state to) noexcept;
/// Same for batches: submitting→submitted|rejected|unknown, submitted→done; nothing else.
bool can_transition(batch_state from, batch_state to) noexcept;

/// The lower-case names used on the socket and in logs ("timed_out", "submitted"...). The views
/// point to static storage.
std::string_view to_string(task_state s) noexcept;
std::string_view to_string(batch_state s) noexcept;
std::string_view to_string(entry_outcome o) noexcept;

/// Inverse of to_string; nullopt for anything else (exact, case-sensitive match).
std::optional<task_state> parse_task_state(std::string_view s) noexcept;
std::optional<batch_state> parse_batch_state(std::string_view s) noexcept;
std::optional<entry_outcome> parse_entry_outcome(std::string_view s) noexcept;

}  // namespace taskpoller::core
