// The tracker's probe of its cloud access (engine/cloud_check.hpp judges the answers).
#include "core/scope_exit.hpp"
#include "engine/tracker.hpp"

// GCC 12 reports a false -Wmismatched-new-delete for coroutine frames whose promise type has a
// sized operator delete (Asio's awaitable); see GCC bug 109224.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

namespace taskpoller::engine {

namespace asio = boost::asio;

void tracker::log_clock(std::string_view service, const std::optional<clock_reading>& clock) {
    if (!clock) {
        log_.warn("clock: no usable Date header from {} (or no answer): skew not measured",
                  service);
        return;
    }
    const auto what = describe_reading(*clock);
    switch (judge_skew(clock->skew, clock->uncertainty())) {
        case skew_level::ok:
            log_.debug("clock: {} (Date of {}'s answer)", what, service);
            break;
        case skew_level::warn:
            log_.warn(
                "clock: this machine is {} (Date of {}'s answer): more than {} s off; "
                "the cloud refuses signatures beyond {} s (check NTP)",
                what, service, skew_warn_after.count(), signature_window.count());
            break;
        case skew_level::fail:
            log_.error(
                "clock: this machine is {} (Date of {}'s answer): beyond the cloud's {} s "
                "signature window, every signed call is refused (fix the time: NTP)",
                what, service, signature_window.count());
            break;
    }
}

asio::awaitable<void> tracker::async_check_cloud() {
    if (drain_->checking || stopping_) co_return;
    drain_->checking = true;
    ++drain_->submitting;  // a call in flight holds the shutdown like a submission
    core::scope_exit done([d = drain_] {
        d->checking = false;
        --d->submitting;
        d->check();
    });
    std::vector<cloud_check> out;
    const std::string region = config_.default_region;
    for (const auto& name : config_.services.service_names()) {
        if (stopping_) break;
        const service_profile* svc = config_.services.find_service(name);
        if (svc == nullptr || svc->result_action.empty()) continue;
        const std::string action = svc->result_action;
        co_await take_token(name, action);
        svc = config_.services.find_service(name);  // a reload may have replaced it
        if (svc == nullptr || stopping_) break;
        std::optional<call_failure> failure;
        std::optional<clock_reading> clock;
        if (svc->resolver == resolver_kind::instance_state) {
            const std::string ids[] = {std::string(probe_id)};
            auto a = co_await cloud_->async_poll_instances(*svc, region, ids);
            failure = std::move(a.failure);
            clock = std::move(a.clock);
        } else {
            auto a = co_await cloud_->async_poll_task(*svc, region, probe_id);
            failure = std::move(a.failure);
            clock = std::move(a.clock);
        }
        auto c = judge_probe(name, action, failure, clock);
        c.checked_at = clock_.system_now();
        switch (c.result) {
            case cloud_check::verdict::ok:
                log_.info("cloud access: {} {} in {}: {}", name, action, region, c.message);
                break;
            case cloud_check::verdict::refused:
                log_.error("cloud access: {} {} in {}: {}", name, action, region, c.message);
                break;
            case cloud_check::verdict::inconclusive:
                log_.warn("cloud access: {} {} in {}: {}", name, action, region, c.message);
                break;
        }
        log_clock(name, c.clock);
        out.push_back(std::move(c));
    }
    checks_ = std::move(out);
}

}  // namespace taskpoller::engine
