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
