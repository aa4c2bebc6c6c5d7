#pragma once
// The exit-code contract of taskpollerctl, computed from the daemon's batch and task JSON.

#include <boost/json/fwd.hpp>
#include <string_view>

namespace taskpoller::ctl {

/// Exit codes. When several apply to one command, the highest wins.
enum class exit_code : int {
    ok = 0,          ///< everything succeeded
    failed = 1,      ///< something failed, was rejected, not found or cancelled; daemon error
    incomplete = 2,  ///< timed out (task or client), outcome unknown, or id unknown (404)
    usage = 3,       ///< bad command line, connection or protocol error
};

constexpr int to_int(exit_code c) noexcept {
    return static_cast<int>(c);
}
/// The more severe of two codes.
constexpr exit_code worst(exit_code a, exit_code b) noexcept {
    return a < b ? b : a;
}

/// True for a task state that never changes again.
bool is_terminal_task_state(std::string_view state) noexcept;
/// True for a batch state that never changes again (done, rejected, unknown).
bool is_terminal_batch_state(std::string_view state) noexcept;

/// True when `doc` (a batch or a task object) has reached a terminal state. A value that is
/// neither (no "state" string) counts as terminal so callers never wait on garbage.
bool is_finished(const boost::json::value& doc) noexcept;

/// The outcome of a batch. With `final_` true (after waiting), a batch or task still live counts
/// as incomplete; with it false (right after submitting), live work counts as fine and only
/// rejections (1) and an unknown batch outcome (2) matter.
exit_code batch_outcome(const boost::json::value& batch, bool final_) noexcept;

/// The outcome of one task state: succeeded 0; failed, not_found, cancelled 1; timed_out 2;
/// a live state is 2 when `final_`, else 0; anything unrecognised is 2.
exit_code task_state_outcome(std::string_view state, bool final_) noexcept;

/// Dispatches on the shape of `doc` (a batch has "entries", a task has "request_id").
exit_code document_outcome(const boost::json::value& doc, bool final_) noexcept;

}  // namespace taskpoller::ctl
