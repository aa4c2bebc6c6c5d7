#pragma once
// The simulator's configuration: typed, with the defaults documented in docs/simulator.md.
// Loaded once at start-up from YAML (load_config); immutable afterwards.

#include <array>
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace taskpoller::sim {

using millis = std::chrono::milliseconds;

struct account {
    std::string secret_id;
    std::string secret_key;
    /// API 3.0 temporary credentials: when set, every 3.0 call of this SecretId must carry it as
    /// X-TC-Token, else AuthFailure.TokenFailure (rotated with POST /_sim/token).
    std::string token{};
};

/// How long an operation takes: uniform over [min, max] (min == max: fixed).
struct duration_dist {
    millis min{1000};
    millis max{3000};
};

/// What happens to an accepted operation (CVM action or task-creating action).
struct operation_config {
    duration_dist duration;
    double failure_probability = 0.0;
};

enum class fault_kind {
    latency,         ///< answer late (faults.latency_delay) but correctly
    http_500,        ///< HTTP 500 with an HTML body; nothing executed
    http_502,        ///< HTTP 502; nothing executed
    http_503,        ///< HTTP 503; nothing executed
    close_before,    ///< connection closed before the request is processed
    close_after,     ///< the action is executed, then the connection closes: response lost
    truncated_json,  ///< executed; the JSON body is cut in half (Content-Length matches)
    malformed_json,  ///< executed; the body is not JSON
    code_6000,       ///< answered with code 6000; nothing executed
    code_6200,       ///< answered with code 6200; nothing executed
    slow_drip,       ///< executed; the response is written a few bytes at a time
};
inline constexpr std::size_t fault_kind_count = 11;

/// "latency", "http_500", ... as used in YAML and /_sim/stats.
const char* to_string(fault_kind k) noexcept;
/// Parses a fault kind name; nullopt if unknown.
std::optional<fault_kind> fault_kind_from_string(const std::string& name) noexcept;

/// Probability of each fault kind; 0 = never.
using fault_probabilities = std::array<double, fault_kind_count>;

struct fault_config {
    fault_probabilities global{};
    /// Per action: overrides the global probability of the kinds it names.
    std::map<std::string, std::map<fault_kind, double>> per_action;
    millis latency_delay{200};
    millis drip_interval{20};
    std::size_t drip_chunk = 8;
};

/// API 3.0 limits (rate_limits.v3): buckets apart from 2.0's, per (SecretId, service, Action).
/// The defaults are the documented per-action limits (docs/simulator.md).
struct v3_rate_limit_config {
    double default_rate = 20.0;
    std::map<std::string, double> per_action{
        {"DescribeInstances", 40},   {"DescribeInstancesStatus", 40},
        {"RunInstances", 10},        {"StartInstances", 10},
        {"StopInstances", 10},       {"RebootInstances", 10},
        {"ResizeInstanceDisks", 10}, {"ResetInstancesPassword", 10},
        {"TerminateInstances", 10},  {"DescribeTaskStatus", 20},
        {"RegisterTargets", 20},     {"DescribeVpcTaskResult", 20},
        {"DescribeTaskResult", 20},  {"AttachDisks", 20},
        {"DetachDisks", 20},         {"DescribeDisks", 20}};
};

struct rate_limit_config {
    bool enabled = true;
    double default_rate = 20.0;  ///< requests per second per (SecretId, Action)
    std::map<std::string, double> per_action;
    v3_rate_limit_config v3;
};

/// Instances created at start-up (and by /_sim/reset): ids are drawn from the seeded RNG.
struct instance_config {
    int running = 10;
    int stopped = 10;
};

/// CBS disks created at start-up (and by /_sim/reset): ids `disk-xxxxxxxx` from the seed. The
/// attached ones are spread round-robin over the instances, at most 20 per instance.
struct disk_config {
    int unattached = 0;
    int attached = 0;
};

/// The most data disks one instance can have (attached or attaching) [chosen].
inline constexpr int max_disks_per_instance = 20;

struct config {
    std::string host_suffix = "api.qcloud.com";
    std::vector<account> accounts{
        {"AKIDz8krbsJ5yKBZQpn74WFkmLPx3gnPhESA", "Gu5t9xGARNpq86cd98joQYCN3Cozk1qA"}};
    bool tls_only = false;
    bool replay_check = true;  ///< Timestamp window and Nonce reuse checks
    std::chrono::seconds timestamp_window{300};
    /// Shifts the simulated cloud's clock (may be negative): its Date header and the "now" its
    /// Timestamp / X-TC-Timestamp window is checked against, as a daemon whose clock is off by
    /// -clock_offset sees the real cloud. Tasks keep the real clock.
    millis clock_offset{0};
    instance_config instances;
    disk_config disks;
    millis stale_window{1000};
    operation_config default_operation;
    std::map<std::string, operation_config> operations;  ///< by action name
    rate_limit_config rate_limits;
    fault_config faults;
    std::uint64_t seed = 1;

    /// The operation settings for `action` (its own, else the default).
    const operation_config& operation(const std::string& action) const;
    /// The rate for `action` in requests/s; 0 means unlimited.
    double rate_for(const std::string& action) const;
    /// The same for an API 3.0 action (rate_limits.v3).
    double rate_for_v3(const std::string& action) const;
};

/// Reads a YAML file into a config, starting from the defaults. Throws std::runtime_error
/// ("file:line:col: key.path: message") on unreadable files, unknown keys and invalid values:
/// a start-up error.
config load_config(const std::string& path);

/// Same, from YAML text (`origin` names it in error messages).
config parse_config(const std::string& yaml_text, const std::string& origin);

/// Parses "500ms", "2s", "5m", "1h" (a bare number means seconds); nullopt if invalid.
std::optional<millis> parse_duration(const std::string& text);

}  // namespace taskpoller::sim
