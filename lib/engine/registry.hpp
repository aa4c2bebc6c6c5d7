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

/// The protocol a service is reached with (docs/protocol.md): API 2.0 (`<svc>.api.qcloud.com`,
/// form parameters, HmacSHA256) or API 3.0 (`<svc>.tencentcloudapi.com`, JSON, TC3).
enum class protocol { v2, v3 };

std::string_view to_string(protocol p) noexcept;

/// Where API 3.0 calls go: `<svc>.tencentcloudapi.com` (nearest access point), the regional
/// `<svc>.<region>.tencentcloudapi.com`, or the international `<svc>.intl.tencentcloudapi.com`.
enum class v3_endpoint { nearest, regional, intl };

/// How an API 3.0 task-result answer is read.
enum class task_reader {
    v2_status,        ///< API 2.0 `data.status` 0/1/2
    clb_task_status,  ///< CLB DescribeTaskStatus: `Status` 0/1/2
    vpc_task_result,  ///< VPC DescribeVpcTaskResult: `Status` SUCCESS/RUNNING/FAILED
    cbs_disks,        ///< API 3.0 resource state: CBS DescribeDisks(DiskIds) `DiskState`
};

enum class resolver_kind {
    task_result,     ///< one task-result call per requestId (lb, bmlb, bmeip)
    instance_state,  ///< DescribeInstances over the task's instances (cvm)
};

enum class response_kind {
    common_async,  ///< `{"requestId": N}`: one task for the whole call
    batch,         ///< `{"detail": {resource: {requestId}}}`: one entry per resource
};

/// API 3.0 resource states of an action without a RequestId on the resource (CBS disks).
struct resource_states {
    std::string_view source;        ///< before: "UNATTACHED"
    std::string_view transitional;  ///< during: "ATTACHING"
    std::string_view target;        ///< done: "ATTACHED"
};

/// How a CVM action's completion is read from instance states (docs/protocol.md "Completion").
struct cvm_rule {
    int target = 2;           ///< status that means done
    int transitional = -100;  ///< status seen while the action runs; -100 = none known
    std::string ids_param = "instanceIds";  ///< `instanceIds` (array, `.n`) or `instanceId`
    milliseconds settle_delay{core::polling_defaults::settle_delay};  ///< stale-read guard
    /// API 3.0: done only when the instance's LatestOperationRequestId is the task's RequestId
    /// and LatestOperationState is SUCCESS or FAILED (target/transitional are not used).
    bool by_latest_operation = false;
    /// API 3.0 without a RequestId on the resource (CBS disks): done when the resource shows
    /// the target state after the transitional one was seen or `settle_delay` has passed;
    /// failed when it is back in the source state (stable) after the transitional one. Static
    /// storage (built-in rules only), so each tracked task's copy of the rule stays small.
    const resource_states* states = nullptr;
    bool by_resource_state() const noexcept { return states != nullptr; }
    bool has_transitional() const noexcept { return transitional != -100; }
};

/// API 3.0: one call covers at most `max` elements of the array parameter `param`; a longer
/// array is sent as several calls (chunks), each its own request.
struct chunk_rule {
    std::string param{};  ///< "InstanceIds", "Targets"
    std::size_t max = 0;  ///< 0: no chunking
};

struct action_profile {
    std::string name;
    response_kind response = response_kind::common_async;
    std::optional<cvm_rule> cvm;       ///< set for instance_state services only
    std::optional<double> rate_limit;  ///< requests/s for calls of this action; unset = service's
    /// API 3.0: the parameter naming the resources acted on ("InstanceIds" array,
    /// "LoadBalancerId" string); empty: none named.
    std::string resource_param{};
    chunk_rule chunk{};              ///< API 3.0 only
    bool resource_required = false;  ///< API 3.0: refuse a call without resource_param
    /// API 3.0: the string parameter naming the one resource all of them are acted on with
    /// (AttachDisks' "InstanceId"): completion also checks that they ended up with it.
    std::string target_param{};
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
    engine::protocol proto = engine::protocol::v2;
    std::string version{};  ///< API 3.0 X-TC-Version ("2017-03-12")
    task_reader reader = task_reader::v2_status;
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
    /// Switches a built-in service to its profile of the other protocol (cvm has both).
    std::optional<engine::protocol> proto{};
    /// API 3.0 X-TC-Version (a newer version of the same API); refused for 2.0 services.
    std::optional<std::string> version{};
};

inline constexpr std::string_view default_host_suffix = "api.qcloud.com";

class registry {
  public:
    /// The built-in profiles: API 2.0 lb, bmlb, bmeip with hosts under `host_suffix`; API 3.0
    /// clb and vpc; cvm in `default_protocol` (the other protocol's cvm via apply()).
    explicit registry(std::string host_suffix = std::string(default_host_suffix),
                      engine::protocol default_protocol = engine::protocol::v2);

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

    /// "cvm.api.qcloud.com" (2.0) or "cvm.tencentcloudapi.com" (3.0, by v3_endpoint_style();
    /// `region` only matters for the regional style); empty if the service is unknown.
    std::string host(std::string_view service, std::string_view region = {}) const;

    engine::v3_endpoint v3_endpoint_style() const noexcept { return v3_endpoint_; }
    void set_v3_endpoint_style(engine::v3_endpoint e) noexcept { v3_endpoint_ = e; }
    engine::protocol default_protocol() const noexcept { return default_protocol_; }

    /// Requests/s for calls of `action` (a submitted action or the poll API): the action's own
    /// limit, else the service's, else `fallback` (the global default).
    double rate_limit(std::string_view service, std::string_view action, double fallback) const;

    const std::string& host_suffix() const noexcept { return host_suffix_; }
    void set_host_suffix(std::string s) { host_suffix_ = std::move(s); }
    std::vector<std::string> service_names() const;

  private:
    std::map<std::string, service_profile, std::less<>> services_;
    std::string host_suffix_;
    engine::protocol default_protocol_ = engine::protocol::v2;
    engine::v3_endpoint v3_endpoint_ = engine::v3_endpoint::nearest;
    milliseconds settle_delay_{core::polling_defaults::settle_delay};
};

/// The built-in profile of `name` in protocol `p`, if there is one.
std::optional<service_profile> builtin_service(std::string_view name, protocol p);

/// Whether `status` is a documented CVM instance status (-1 .. 20, docs/protocol.md "Completion").
bool is_known_cvm_status(int status) noexcept;

/// A short English name of a CVM status ("running", "stopping"), or "unknown status".
std::string_view cvm_status_name(int status) noexcept;

}  // namespace taskpoller::engine
