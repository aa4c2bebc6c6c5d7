#pragma once
// API 2.0 behind the protocol seam (engine/cloud.hpp): parameters flattened to `name.N` form,
// HMAC signing and form encoding (lib/qcloud), `{"code":..}` answers read into protocol-neutral
// outcomes, 2.0 error codes classified (docs/protocol.md "Error codes"). The reading functions
// in `v2::` are pure and unit-tested on their own; cloud_v2 adds only the sends (api_client).
//
// Threading and lifetime: the io_context's thread only; the http client and registry must
// outlive it.

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/logger.hpp"
#include "engine/api_client.hpp"
#include "engine/cloud.hpp"
#include "engine/registry.hpp"
#include "qcloud/params.hpp"
#include "qcloud/response.hpp"
#include "qcloud/signer.hpp"

namespace taskpoller::http {
class client;
}

namespace taskpoller::engine {

class registry;

namespace v2 {

/// The class of an API 2.0 error code (`code_desc`: the answer's codeDesc or string code).
/// Throttling by name, then 5000 "no such resource" is missing, 4200/4500 resign, 4400
/// throttled, 6000/6200 transient, 41xx/4300/4600/6100 account-wide, anything else final.
/// A code we could not read (qcloud::code::unrecognised) is transient.
failure_class classify(int code, std::string_view code_desc) noexcept;

/// A call_failure from a parse error of qcloud/response.hpp.
call_failure failure_of(const qcloud::response_error& e);

/// A task-result poll's answer (`data.status` 0/1/2).
task_poll_answer read_task_poll(const call_outcome& out);

/// A DescribeInstances answer.
instances_answer read_instances(const call_outcome& out);

/// A submission's answer: a batch action's `detail` map or a common async `requestId` become
/// per-resource entries; an error code becomes rejected, throttled or resign by its class.
submission_answer read_submission(response_kind response, const call_outcome& out,
                                  const std::vector<std::string>& resources);

}  // namespace v2

class cloud_v2 final : public cloud {
  public:
    /// Sends through `api` (shared with API 3.0: one set of connections, credentials, stats).
    cloud_v2(api_client& api, const registry& reg);

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
    void count(std::string_view service, std::string_view action, std::string_view label);

    const registry& registry_;
    api_client& api_;
};

}  // namespace taskpoller::engine
