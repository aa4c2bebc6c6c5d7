#pragma once
// The poller's settings and what it is told of a task to poll (engine/poller.hpp). Plain data:
// the I/O-free half of the poller (poll_state, dispatcher) includes this, not the poller.

#include <chrono>
#include <cstddef>
#include <string>
#include <vector>

#include "core/clock.hpp"
#include "core/polling_defaults.hpp"
#include "core/task_key.hpp"
#include "engine/cvm_state.hpp"
#include "engine/retry.hpp"
#include "engine/scheduler.hpp"

namespace taskpoller::engine {

struct poller_options {
    scheduler_options schedule;
    retry_options retry;
    cvm_options cvm;
    std::size_t max_inflight = 64;  ///< poll calls in flight at once (incl. waiting for tokens)
    std::size_t cvm_batch = 100;    ///< instances per instance-state poll (capped by the protocol)
    double default_rate = 20.0;     ///< requests/s for a poll action without its own limit
    /// A poll action whose queue waits for tokens wakes the loop once this much of its rate has
    /// come in (at least one token, at most half its burst), not for every token: at 20/s the
    /// loop wakes 4 times a second and sends 5 polls each time, where it woke 20 times. A queued
    /// poll waits at most this much longer; the action's rate is the same.
    duration token_batch = std::chrono::milliseconds(250);
    /// The loop wakes at most once per tick for due tasks and tokens (a freed call slot still
    /// wakes it at once): at thousands of polls a second, every wake-up starts a batch of polls
    /// and their answers come back together. A poll is at most one tick late.
    duration wake_tick = std::chrono::milliseconds(2);
};

/// What the poller needs to know about a task to poll it.
struct track_request {
    core::task_key key;
    std::string action;  ///< the submitted action (for CVM rules and learning)
    std::string region;
    std::vector<std::string> resources;  ///< CVM: the instance ids
    core::steady_time submitted{};       ///< steady time of the submission
    core::steady_time deadline{};        ///< steady time after which the task is timed_out
    std::string target{};                ///< its batch's target (CBS attach: the instance)
    core::poll_settings poll{};          ///< its own schedule (scheduler.hpp); empty: configured
};

}  // namespace taskpoller::engine
