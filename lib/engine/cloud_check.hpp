#pragma once
// The daemon's check of its cloud access (issue 18): at start and after every change of
// credentials or configuration, one signed read-only call per configured service, asking about
// a requestId (or an instance) that does not exist. The cloud's answer says whether it accepted
// the signature and the credentials: "no such task" is a success here. I/O-free judgement; the
// tracker makes the calls (tracker_check.cpp).

#include <optional>
#include <string>

#include "core/clock.hpp"
#include "engine/clock_skew.hpp"
#include "engine/outcomes.hpp"

namespace taskpoller::engine {

struct cloud_check {
    enum class verdict { ok, refused, inconclusive };
    std::string service;
    std::string action;  ///< the read-only action called
    verdict result = verdict::inconclusive;
    std::string message;  ///< what the answer means, for logs and /v1/status
    core::sys_time checked_at{};
    /// The cloud's clock as the answer's Date header gave it (nullopt: no usable Date).
    std::optional<clock_reading> clock{};
};

std::string_view to_string(cloud_check::verdict v) noexcept;

/// The id the probes ask about: made up, so that no real task is touched or confused with it.
inline constexpr const char* probe_id = "taskpoller-probe-0";

/// What one probe's answer (`failure`: nullopt = answered normally) says about the access;
/// `clock` (the answer's Date, if any) is kept, and named when the signature was refused as
/// expired.
cloud_check judge_probe(std::string service, std::string action,
                        const std::optional<call_failure>& failure,
                        const std::optional<clock_reading>& clock = std::nullopt);

}  // namespace taskpoller::engine
