// The tracker's rate-limited describes and the read-only reconciliation of a lost answer
// (engine/reconcile.hpp decides; this only fetches). Nothing here sends a mutation.
#include <fmt/format.h>

#include <algorithm>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "engine/reconcile.hpp"
#include "engine/tracker.hpp"

// GCC 12 reports a false -Wmismatched-new-delete for coroutine frames whose promise type has a
// sized operator delete (Asio's awaitable); see GCC bug 109224.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

namespace taskpoller::engine {

namespace asio = boost::asio;

namespace {

asio::awaitable<void> sleep_until(asio::any_io_executor ex, core::steady_time t) {
    asio::steady_timer wait(ex, t);
    boost::system::error_code ec;
    co_await wait.async_wait(asio::redirect_error(asio::use_awaitable, ec));
}

std::vector<core::entry> entries_of(const std::vector<std::string>& ids, const reconcile_result& r,
                                    const std::string& message) {
    std::vector<core::entry> out;
    out.reserve(ids.size());
    for (const auto& id : ids) {
        core::entry e;
        e.resource_id = id;
        if (std::find(r.accepted.begin(), r.accepted.end(), id) != r.accepted.end()) {
            e.outcome = core::entry_outcome::accepted;
            e.request_id = r.request_id.empty() ? reconciled_request_id(id) : r.request_id;
        } else {
            // API 2.0: the call ran, but nothing shows whether this instance took it.
            e.outcome = core::entry_outcome::unknown;
            e.message = message;
        }
        out.push_back(std::move(e));
    }
    return out;
}

}  // namespace

asio::awaitable<void> tracker::take_token(const std::string& service, const std::string& action) {
    auto now = clock_.steady_now();
    action_key key{service, action};
    std::size_t buckets = limiter_.size();
    auto bucket = limiter_.bucket(key, now);
    if (limiter_.size() != buckets) {
        limiter_.configure(
            key, config_.services.rate_limit(service, action, config_.limits.default_rate), now);
    }
    auto grant = limiter_.acquire(bucket, now);
    if (!grant.immediate && grant.ready_at > now) co_await sleep_until(executor_, grant.ready_at);
}

asio::awaitable<std::optional<std::vector<instance_observation>>> tracker::describe_instances(
    const core::batch& b, const std::vector<std::string>& ids, core::steady_time* first_sent) {
    std::vector<instance_observation> seen;
    const std::size_t per_call = std::max<std::size_t>(1, cloud_->max_instances_per_call());
    for (std::size_t i = 0; i < ids.size(); i += per_call) {
        const service_profile* svc = config_.services.find_service(b.service);
        if (svc == nullptr || stopping_) co_return std::nullopt;
        const std::string poll_action = svc->result_action;
        co_await take_token(b.service, poll_action);
        svc = config_.services.find_service(b.service);  // a reload may have replaced it
        if (svc == nullptr || stopping_) co_return std::nullopt;
        const auto n = std::min(per_call, ids.size() - i);
        if (i == 0 && first_sent != nullptr) *first_sent = clock_.steady_now();
        auto a = co_await cloud_->async_poll_instances(
            *svc, b.region, std::span<const std::string>(ids.data() + i, n));
        if (a.failure) {
            if (a.failure->cls == failure_class::throttled)
                limiter_.on_throttled({b.service, poll_action}, clock_.steady_now());
            log_.info(
                "batch {}: describing its instances failed ({}): no reconciliation of a "
                "lost answer is possible for this call",
                b.id, a.failure->message);
            co_return std::nullopt;
        }
        for (auto& o : a.instances) seen.push_back(std::move(o));
    }
    co_return seen;
}

asio::awaitable<submission_answer> tracker::reconcile(
    const core::batch& b, const std::vector<std::string>& ids,
    const std::vector<instance_observation>& before, submission_answer lost) {
    auto action = config_.services.find_action(b.service, b.action);
    if (!action || !(*action)->cvm) co_return lost;
    const cvm_rule rule = *(*action)->cvm;
    // Whatever ran, ran before its answer was lost: from then on, a stale read hides it for at
    // most the settle delay.
    const auto lost_at = clock_.steady_now();
    const auto until = lost_at + rule.settle_delay + config_.submit.reconcile_window;
    log_.warn(
        "batch {} ({} {}): the answer was lost ({}); reconciling read-only by describing "
        "its {} instances (never sent again)",
        b.id, b.service, b.action, lost.message, ids.size());
    reconcile_result r;
    for (auto next = clock_.steady_now();; next += config_.submit.reconcile_interval) {
        co_await sleep_until(executor_, next);
        if (stopping_) break;
        // How long after the loss the cloud read the instances: at the earliest when the
        // describe was sent, not when its answer came. An answer delayed past the settle delay
        // (a slow network, a loaded machine) may still hold a stale read, which must not prove
        // that nothing ran.
        auto sent = clock_.steady_now();
        auto now = co_await describe_instances(b, ids, &sent);
        if (now) {
            r = reconcile_call(rule, b.action, ids, before, *now, sent - lost_at);
            if (r.verdict != reconcile_verdict::undecided) break;
        }
        if (clock_.steady_now() >= until) break;
    }
    const std::string seen = r.evidence.empty() ? std::string("nothing described") : r.evidence;
    submission_answer out;
    switch (r.verdict) {
        case reconcile_verdict::executed: {
            ++submit_stats_.reconciliations["executed"];
            out.what = submission_answer::kind::accepted;
            out.message = fmt::format("the answer was lost ({}); reconciled: it ran ({})",
                                      lost.message, seen);
            out.entries =
                entries_of(ids, r, "the call ran, but this instance showed no change: " + seen);
            log_.warn("batch {}: {}", b.id, out.message);
            co_return out;
        }
        case reconcile_verdict::not_executed:
            ++submit_stats_.reconciliations["not_executed"];
            out.what = submission_answer::kind::rejected;
            out.code = -2;
            out.message = fmt::format("not executed: the answer was lost ({}); reconciled: {}",
                                      lost.message, seen);
            log_.warn("batch {}: {}", b.id, out.message);
            co_return out;
        case reconcile_verdict::undecided:
            break;
    }
    ++submit_stats_.reconciliations["undecided"];
    lost.message += fmt::format(" (not reconciled: {})", seen);
    co_return lost;
}

}  // namespace taskpoller::engine
