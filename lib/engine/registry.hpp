#pragma once
// The service/action registry: which services taskpoller knows, the host each one is reached
// at, how a task's state is found (its resolver), and, per action, how a submission answers and
// when its task counts as finished. A submission for an action without a completion rule is
// refused here, before anything is sent. Plain data and pure functions: no I/O, no YAML (the
// config loader maps its YAML onto service_override).

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/polling_defaults.hpp"
#include "core/result.hpp"
#include "engine/types.hpp"

namespace taskpoller::engine {

enum class resolver_kind {
    task_result,     ///< one task-result call per requestId (lb, bmlb, bmeip)
    instance_state,  ///< DescribeInstances over the task's instances (cvm)
};

enum class response_kind {
    common_async,  ///< `{"requestId": N}`: one task for the whole call
    batch,         ///< `{"detail": {resource: {requestId}}}`: one entry per resource
};

/// How a CVM action's completion is read from instance states (docs/protocol.md "Completion").
struct cvm_rule {
    int target = 2;           ///< status that means done
    int transitional = -100;  ///< status seen while the action runs; -100 = none known
    std::string ids_param = "instanceIds";  ///< `instanceIds` (array, `.n`) or `instanceId`
    milliseconds settle_delay{core::polling_defaults::settle_delay};  ///< stale-read guard
    bool has_transitional() const noexcept { return transitional != -100; }
};

struct action_profile {
    std::string name;
    response_kind response = response_kind::common_async;
    std::optional<cvm_rule> cvm;       ///< set for instance_state services only
    std::optional<double> rate_limit;  ///< requests/s for calls of this action; unset = service's
};

struct service_profile {
    std::string name;         ///< "cvm", "lb", ...
    std::string host_prefix;  ///< host = prefix + "." + host suffix
    resolver_kind resolver = resolver_kind::task_result;
    std::string result_action;                ///< poll action: DescribeLoadBalancersTaskResult...
    std::string result_param = "requestId";   ///< its requestId parameter (task_result only)
    std::optional<double> rate_limit;         ///< default for this service's actions
    std::optional<double> result_rate_limit;  ///< requests/s for polls (result_action calls)
    std::map<std::string, action_profile, std::less<>> actions;
};

/// Changes to one action from configuration. Unset fields keep the built-in value. A new action
/// of a cvm-like service needs `target`; a new action elsewhere needs nothing. An override named
/// after the service's result_action (the poll API) may only set rate_limit: it limits polls.
struct action_override {
    std::optional<response_kind> response;
    std::optional<int> target;
    std::optional<int> transitional;  ///< -100 removes the transitional state
    std::optional<std::string> ids_param;
    std::optional<milliseconds> settle_delay;
    std::optional<double> rate_limit;
};

/// Changes to one service from configuration. A service not built in may be added when it names
/// its `result_action` (task-result services only).
struct service_override {
    std::string name;
    std::optional<std::string> host_prefix;
    std::optional<std::string> result_action;
    std::optional<std::string> result_param;
    std::optional<double> rate_limit;
    std::map<std::string, action_override> actions;
};

inline constexpr std::string_view default_host_suffix = "api.qcloud.com";

class registry {
  public:
    /// The built-in profiles (cvm, lb, bmlb, bmeip) with hosts under `host_suffix`.
    explicit registry(std::string host_suffix = std::string(default_host_suffix));

    /// Applies one service's overrides. Fails, naming the service/action and the bad field
    /// (unknown service without result_action, non-positive rate, unknown status code, empty
    /// ids_param, negative settle delay, new cvm action without target); on failure the
    /// registry is unchanged.
    core::result<void> apply(const service_override& o);

    /// Sets the settle delay of every cvm action (configuration's `polling.settle_delay`).
    /// Call it before apply(): per-action overrides applied afterwards win. Fails, changing
    /// nothing, on a negative delay.
    core::result<void> set_settle_delay(milliseconds d);

    /// The action's profile, or an error listing the service's known actions (or the known
    /// services if the service itself is unknown). The pointer lives as long as the registry
    /// is not modified.
    core::result<const action_profile*> find_action(std::string_view service,
                                                    std::string_view action) const;

    /// The service's profile, or nullptr.
    const service_profile* find_service(std::string_view service) const noexcept;

    /// "cvm.api.qcloud.com"; empty if the service is unknown.
    std::string host(std::string_view service) const;

    /// Requests/s for calls of `action` (a submitted action or the poll API): the action's own
    /// limit, else the service's, else `fallback` (the global default).
    double rate_limit(std::string_view service, std::string_view action, double fallback) const;

    const std::string& host_suffix() const noexcept { return host_suffix_; }
    void set_host_suffix(std::string s) { host_suffix_ = std::move(s); }
    std::vector<std::string> service_names() const;

  private:
    std::map<std::string, service_profile, std::less<>> services_;
    std::string host_suffix_;
};

/// Whether `status` is a documented CVM instance status (-1 .. 20, docs/protocol.md "Completion").
bool is_known_cvm_status(int status) noexcept;

/// A short English name of a CVM status ("running", "stopping"), or "unknown status".
std::string_view cvm_status_name(int status) noexcept;

}  // namespace taskpoller::engine
