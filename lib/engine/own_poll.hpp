#pragma once
// The bounds on a submission's own poll settings (core::poll_settings, the API's "poll"
// object): what a caller may ask of this daemon. I/O-free; the tracker calls it before anything
// is recorded or sent, so a refused value changes nothing.

#include <chrono>

#include "core/poll_settings.hpp"
#include "core/result.hpp"

namespace taskpoller::engine {

/// The longest a submission may ask to wait between polls (or before the first).
inline constexpr std::chrono::hours own_poll_max = core::max_own_poll;

/// Each field set must lie in [min_interval, own_poll_max] (polling.min_interval: the daemon's
/// floor, so no caller can make it hammer the API), interval must not exceed max_interval when
/// both are given, and initial_delay must be shorter than the tasks' `timeout` (else they would
/// time out unpolled). The error names the field, the value and the bound.
core::result<void> check_own_poll(const core::poll_settings& own, std::chrono::milliseconds timeout,
                                  std::chrono::milliseconds min_interval);

}  // namespace taskpoller::engine
