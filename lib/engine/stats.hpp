#pragma once
// Plain counters the engine keeps for metrics (rendered by control/, which the engine does not
// know). Single-threaded like everything else in the engine.

#include <array>
#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <tuple>

namespace taskpoller::engine {

/// Upper bounds (seconds) of the API latency histogram buckets; +Inf is implicit.
inline constexpr std::array<double, 12> latency_buckets = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                                           0.5,   1,    2.5,   5,    10,  30};

struct latency_histogram {
    std::array<std::uint64_t, latency_buckets.size() + 1> counts{};  ///< last: +Inf
    double sum_seconds = 0;
    std::uint64_t total = 0;
    void observe(std::chrono::nanoseconds d);
};

/// Calls by (service, action, outcome); outcome is "ok", "api_error", "throttled", "malformed",
/// "not_sent", "outcome_unknown" or "http_error".
struct api_stats {
    using key = std::tuple<std::string, std::string, std::string>;
    std::map<key, std::uint64_t> calls;
    std::map<std::pair<std::string, std::string>, latency_histogram> latency;
    std::uint64_t throttled_total = 0;

    void count(const std::string& service, const std::string& action, const char* outcome) {
        ++calls[{service, action, outcome}];
    }
};

/// Submissions by outcome: "submitted", "rejected", "unknown", "invalid", "deduplicated",
/// "conflict".
struct submit_stats {
    std::map<std::string, std::uint64_t> outcomes;
};

}  // namespace taskpoller::engine
