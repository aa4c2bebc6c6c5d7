#pragma once
// The cloud the engine talks to: API 2.0 and API 3.0 side by side, each service reached with the
// protocol its profile names (registry: service_profile::proto). One api_client (connections,
// credentials, settings, call counters) serves both.
//
// Threading and lifetime: the io_context's thread only; the http client and registry must
// outlive it.

#include "engine/api_client.hpp"
#include "engine/cloud.hpp"
#include "engine/cloud_v2.hpp"
#include "engine/cloud_v3.hpp"

namespace taskpoller::engine {

class cloud_router final : public cloud {
  public:
    cloud_router(http::client& http, const registry& reg, qcloud::credentials creds,
                 api_settings settings, core::logger log);

    core::result<std::unique_ptr<prepared_submission>> prepare(
        const service_profile& service, const action_profile& action, std::string_view region,
        const boost::json::object& params) const override {
        return pick(service).prepare(service, action, region, params);
    }
    boost::asio::awaitable<submission_answer> async_submit(const service_profile& service,
                                                           const action_profile& action,
                                                           std::string_view region,
                                                           const prepared_submission& p,
                                                           std::size_t call) override {
        return pick(service).async_submit(service, action, region, p, call);
    }
    boost::asio::awaitable<task_poll_answer> async_poll_task(const service_profile& service,
                                                             std::string_view region,
                                                             std::string_view request_id) override {
        return pick(service).async_poll_task(service, region, request_id);
    }
    boost::asio::awaitable<instances_answer> async_poll_instances(
        const service_profile& service, std::string_view region,
        std::span<const std::string> ids) override {
        return pick(service).async_poll_instances(service, region, ids);
    }
    std::size_t max_instances_per_call() const noexcept override { return 100; }
    const api_stats& stats() const noexcept override { return api_.stats(); }
    void reconfigure(qcloud::credentials creds, const api_settings& settings) override;

  private:
    cloud& pick(const service_profile& s) {
        return s.proto == protocol::v3 ? static_cast<cloud&>(v3_) : v2_;
    }
    const cloud& pick(const service_profile& s) const {
        return s.proto == protocol::v3 ? static_cast<const cloud&>(v3_) : v2_;
    }

    api_client api_;
    cloud_v2 v2_;
    cloud_v3 v3_;
};

}  // namespace taskpoller::engine
