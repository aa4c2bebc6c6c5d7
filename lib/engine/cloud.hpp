#pragma once
// The protocol seam: the engine (tracker, poller) reaches the cloud only through `cloud`. An
// implementation builds a submission from the caller's JSON parameters, builds and sends one poll
// for a task or for up to max_instances_per_call() instances, and turns every answer and failure
// into the protocol-neutral outcomes of engine/outcomes.hpp. API 2.0 is engine/cloud_v2.hpp;
// API 3.0 is a second implementation beside it. The scheduler, rate limiter and store know
// nothing of either.
//
// Threading and lifetime: the io_context's thread only. Calls never throw for network or cloud
// trouble (everything is an outcome); an exception out of a call is a bug, which the caller's
// supervision reports (docs/design.md "Faults"). The views and profiles passed to the async calls
// are read only until the call's first suspension (a configuration reload replaces the
// registry's profiles while calls are in flight); whatever is needed later is copied first.

#include <boost/asio/awaitable.hpp>
#include <boost/json/object.hpp>
#include <cstddef>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"
#include "engine/outcomes.hpp"
#include "qcloud/signer.hpp"

namespace taskpoller::engine {

struct action_profile;
struct service_profile;
struct api_stats;
struct api_settings;

/// A submission checked and encoded by the protocol, ready to be sent (any number of times:
/// each send is signed afresh). The engine reads only the common fields.
struct prepared_submission {
    virtual ~prepared_submission() = default;
    std::vector<std::string> resources;  ///< the resource ids addressed, in order; may be empty
    std::string fingerprint;             ///< digest of service, action, region and parameters
    /// A submission sent as several calls (API 3.0 chunks: at most 100 InstanceIds per call):
    /// the resources of each call. Empty: one call naming `resources`.
    std::vector<std::vector<std::string>> chunks;
    /// The action's target_param value (AttachDisks' InstanceId), if any.
    std::string target{};

    std::size_t calls() const noexcept { return chunks.empty() ? 1 : chunks.size(); }
    /// The resources of every call, in order (one list of `resources` if not chunked).
    std::vector<std::vector<std::string>> call_resources() const {
        return chunks.empty() ? std::vector<std::vector<std::string>>{resources} : chunks;
    }
};

class cloud {
  public:
    virtual ~cloud() = default;

    /// Checks `params` (the action's parameters as the caller gave them) and encodes them.
    /// Errors (kind invalid) name the offending parameter; nothing is sent.
    virtual core::result<std::unique_ptr<prepared_submission>> prepare(
        const service_profile& service, const action_profile& action, std::string_view region,
        const boost::json::object& params) const = 0;

    /// Signs and sends call `call` (< p.calls()) of `p` once, on a fresh connection, and reads
    /// the answer.
    virtual boost::asio::awaitable<submission_answer> async_submit(const service_profile& service,
                                                                   const action_profile& action,
                                                                   std::string_view region,
                                                                   const prepared_submission& p,
                                                                   std::size_t call) = 0;

    /// One poll of a task-result task (service.result_action with the task's id).
    virtual boost::asio::awaitable<task_poll_answer> async_poll_task(
        const service_profile& service, std::string_view region, std::string_view request_id) = 0;

    /// One instance-state poll of `ids` (at most max_instances_per_call()).
    virtual boost::asio::awaitable<instances_answer> async_poll_instances(
        const service_profile& service, std::string_view region,
        std::span<const std::string> ids) = 0;

    /// The most instances one instance-state poll may name.
    virtual std::size_t max_instances_per_call() const noexcept = 0;

    /// Counters of every call made so far (metrics).
    virtual const api_stats& stats() const noexcept = 0;

    /// Configuration reload: credentials and HTTP settings for calls from now on.
    virtual void reconfigure(qcloud::credentials creds, const api_settings& settings) = 0;
};

}  // namespace taskpoller::engine
