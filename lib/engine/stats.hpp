#pragma once
// Plain counters the engine keeps for metrics (rendered by control/, which the engine does not
// know). Single-threaded like everything else in the engine.

#include <array>
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>

#include "engine/clock_skew.hpp"

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

/// Orders tuples (or pairs) of strings as their string_views, so that a map keyed by strings can
/// be searched with views: counting a call allocates nothing once its key exists.
struct string_tuple_less {
    using is_transparent = void;
    template <class... S>
    static auto views(const std::tuple<S...>& t) {
        return std::apply([](const S&... s) { return std::tuple{std::string_view(s)...}; }, t);
    }
    template <class A, class B>
    static auto views(const std::pair<A, B>& p) {
        return std::pair<std::string_view, std::string_view>{p.first, p.second};
    }
    template <class L, class R>
    bool operator()(const L& l, const R& r) const {
        return views(l) < views(r);
    }
};

/// Calls by (service, action, outcome); outcome is "ok", "api_error", "throttled", "malformed",
/// "not_sent", "outcome_unknown" or "http_error".
struct api_stats {
    using key = std::tuple<std::string, std::string, std::string>;
    std::map<key, std::uint64_t, string_tuple_less> calls;
    std::map<std::pair<std::string, std::string>, latency_histogram, string_tuple_less> latency;
    std::uint64_t throttled_total = 0;
    /// Calls answered AuthFailure.TokenFailure (API 3.0): the daemon then re-reads its
    /// credentials (config/credential_watch.hpp).
    std::uint64_t token_failures = 0;
    /// The latest reading of the cloud's clock, from any answer's Date header (/v1/status
    /// "clock", the metric taskpoller_cloud_clock_skew_seconds).
    std::optional<clock_reading> last_clock{};

    void count(std::string_view service, std::string_view action, std::string_view outcome) {
        auto it = calls.find(std::tuple{service, action, outcome});
        if (it == calls.end()) it = calls.emplace(key{service, action, outcome}, 0).first;
        ++it->second;
    }
};

/// Submissions by outcome: "submitted", "rejected", "unknown", "invalid", "deduplicated",
/// "conflict".
struct submit_stats {
    std::map<std::string, std::uint64_t> outcomes;
    /// Lost answers reconciled read-only (engine/reconcile.hpp), by result: executed,
    /// not_executed, undecided (stayed unknown).
    std::map<std::string, std::uint64_t> reconciliations;
};

}  // namespace taskpoller::engine
