#pragma once
// Awaitable waits on the store, for long-polls (`?wait=30s`) and the events stream: a
// steady_timer that a one-shot store watcher cancels early. No polling.
//
// Lifetime and cancellation: each wait holds its watcher's handle in its coroutine frame, so a
// wait that completes, times out, is cancelled (per-operation cancellation, e.g. the connection
// closed or `||` with another awaitable) or whose frame is destroyed unregisters its callback
// before it goes away; none is ever left behind. The store is used only when the wait starts;
// it should outlive its waiters, but if it is destroyed first they do not touch it again and
// simply run to their timeout.

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/task_key.hpp"

namespace taskpoller::store {

class store;

enum class wait_status {
    ready,      ///< the condition holds (it may already have held when the wait started)
    timed_out,  ///< the timeout passed first
    not_found,  ///< the task or batch is not tracked (never seen, or forgotten)
    cancelled,  ///< the wait was cancelled
};

std::string_view to_string(wait_status s) noexcept;

using wait_duration = std::chrono::steady_clock::duration;

/// Completes when the task is terminal, or on timeout/cancellation.
boost::asio::awaitable<wait_status> async_wait_terminal(store& s, core::task_key key,
                                                        wait_duration timeout);
/// Completes when the batch is terminal (done, rejected or unknown).
boost::asio::awaitable<wait_status> async_wait_batch_terminal(store& s, std::string batch_id,
                                                              wait_duration timeout);
/// Completes when s.seq() > since (at once if it already is); never not_found.
boost::asio::awaitable<wait_status> async_wait_changes(store& s, std::uint64_t since,
                                                       wait_duration timeout);

}  // namespace taskpoller::store
