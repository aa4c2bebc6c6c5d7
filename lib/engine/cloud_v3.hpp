#pragma once
// API 3.0 behind the protocol seam (engine/cloud.hpp): the action's JSON request object sent as
// is (compact, raw UTF-8, exactly the bytes signed), TC3-HMAC-SHA256 signing (lib/qcloud/tc3),
// `{"Response": ...}` answers read into protocol-neutral outcomes, 3.0 error codes classified
// (lib/qcloud/v3_errors, docs/protocol.md "API 3.0: error codes"). Nothing of API 2.0 here: no
// flattened parameters, no integer codes, no `detail` map. The reading functions in `v3::` are
// pure and unit-tested on their own; cloud_v3 adds only the sends (api_client::async_send).
//
// Batches: a 3.0 call covers many resources and answers with one RequestId or one error. Every
// resource of an accepted call gets an entry with that RequestId (one task per call); a
// whole-call error rejects every entry with the code and message. An array longer than the
// action's maximum (CVM 100 InstanceIds, CLB 20 Targets) is sent as several calls (chunks).
//
// Threading and lifetime: the io_context's thread only; the api_client and registry must
// outlive it.

#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "engine/api_client.hpp"
#include "engine/cloud.hpp"
#include "engine/registry.hpp"
#include "qcloud/tc3.hpp"
#include "qcloud/v3_errors.hpp"
#include "qcloud/v3_response.hpp"

namespace taskpoller::engine {

namespace v3 {

/// The engine's class of a 3.0 error code: throttled, resign, transient (retry, outcome
/// unknown), missing (precondition: a poll's task or resource does not exist), account
/// (credentials, permissions, routing), final (everything else).
failure_class classify(std::string_view code) noexcept;

/// A call_failure from a 3.0 error ("AuthFailure.SignatureExpire: ...").
call_failure failure_of(const qcloud::v3::api_error& e);

/// The body of a task-result poll, `{"<param>":"<request_id>"}`: written directly, through
/// boost::json only for text that JSON must escape.
std::string task_poll_body(std::string_view param, std::string_view request_id);

/// A task-result poll's answer, read as `reader` says (CLB Status 0/1/2, VPC SUCCESS/...).
task_poll_answer read_task_poll(task_reader reader, const call_outcome& out);

/// A DescribeInstances answer with LatestOperation* per instance.
instances_answer read_instances(const call_outcome& out);

/// A DescribeDisks answer: each disk as an observation (id, DiskState).
instances_answer read_disks(const call_outcome& out);

/// A submission call's answer: success (a RequestId) accepts every resource of the call; an
/// error becomes throttled, busy (another task holds the resource), resign, unknown (server
/// error, unreadable answer, lost answer) or rejected (every other class), by its class alone.
submission_answer read_submission(const call_outcome& out,
                                  const std::vector<std::string>& resources);

/// The JSON bodies of a submission: `params` as one body, or, when the action's chunk
/// parameter holds more than its maximum, one body per slice of it (same other members).
/// Also the resources each body names. Errors (kind invalid) name the parameter.
struct encoded_calls {
    std::vector<std::string> bodies;
    std::vector<std::vector<std::string>> resources;  ///< per body
    std::vector<std::string> all_resources;           ///< in order, without repeats
};
core::result<encoded_calls> encode_submission(const action_profile& action,
                                              const boost::json::object& params);

}  // namespace v3

class cloud_v3 final : public cloud {
  public:
    cloud_v3(api_client& api, const registry& reg);

    core::result<std::unique_ptr<prepared_submission>> prepare(
        const service_profile& service, const action_profile& action, std::string_view region,
        const boost::json::object& params) const override;
    boost::asio::awaitable<submission_answer> async_submit(const service_profile& service,
                                                           const action_profile& action,
                                                           std::string_view region,
                                                           const prepared_submission& p,
                                                           std::size_t call) override;
    boost::asio::awaitable<task_poll_answer> async_poll_task(const service_profile& service,
                                                             std::string_view region,
                                                             std::string_view request_id) override;
    boost::asio::awaitable<instances_answer> async_poll_instances(
        const service_profile& service, std::string_view region,
        std::span<const std::string> ids) override;
    std::size_t max_instances_per_call() const noexcept override { return 100; }
    const api_stats& stats() const noexcept override { return api_.stats(); }
    void reconfigure(qcloud::credentials creds, const api_settings& settings) override;

  private:
    /// Signs `body` for `action` of `service` now and sends it.
    boost::asio::awaitable<call_outcome> call(const service_profile& service,
                                              std::string_view action, std::string_view region,
                                              std::string body, bool fresh_connection);
    const registry& registry_;
    api_client& api_;
    qcloud::tc3::key_cache keys_;  ///< derived once per UTC day and service
};

}  // namespace taskpoller::engine
