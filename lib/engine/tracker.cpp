#include "engine/tracker.hpp"

#include "engine/cloud_router.hpp"

// GCC 12 reports a false -Wmismatched-new-delete for coroutine frames whose promise type has a
// sized operator delete (Asio's awaitable); see GCC bug 109224.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

#include <fmt/format.h>

#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/serialize.hpp>
#include <random>
#include <set>
#include <stdexcept>

#include "engine/durable.hpp"
#include "engine/own_poll.hpp"
#include "engine/submission_rules.hpp"
#include "store/store.hpp"

namespace taskpoller::engine {
namespace asio = boost::asio;

namespace {

random_source backoff_rng() {
    auto engine = std::make_shared<std::mt19937_64>(std::random_device{}());
    return [engine] { return std::uniform_real_distribution<double>(0.0, 1.0)(*engine); };
}

core::sys_time to_sys(const core::clock& c, core::steady_time t) {
    return c.system_now() +
           std::chrono::duration_cast<core::sys_time::duration>(t - c.steady_now());
}

// One entry per resource the call addressed (or "(call)"), all with the same outcome: for an
// answer that has no per-resource detail.
std::vector<core::entry> uniform_entries(const std::vector<std::string>& resources,
                                         core::entry_outcome outcome, int code,
                                         const std::string& message) {
    std::vector<core::entry> out;
    for (const auto& res : call_resources(resources))
        out.push_back({res, outcome, code, message, {}, {}});
    return out;
}

}  // namespace

tracker::tracker(asio::any_io_executor ex, store::store& st, const core::clock& clock,
                 http::client& http, qcloud::credentials creds, tracker_config config,
                 core::logger log, core::fault_handler on_fault)
    : tracker(ex, st, clock, &http, std::move(creds), nullptr, std::move(config), std::move(log),
              std::move(on_fault)) {}

tracker::tracker(asio::any_io_executor ex, store::store& st, const core::clock& clock,
                 std::unique_ptr<cloud> api, tracker_config config, core::logger log,
                 core::fault_handler on_fault)
    : tracker(ex, st, clock, nullptr, qcloud::credentials({}, {}), std::move(api),
              std::move(config), std::move(log), std::move(on_fault)) {}

tracker::tracker(asio::any_io_executor ex, store::store& st, const core::clock& clock,
                 http::client* http, qcloud::credentials creds, std::unique_ptr<cloud> api,
                 tracker_config config, core::logger log, core::fault_handler on_fault)
    : executor_(ex),
      store_(st),
      clock_(clock),
      config_(std::move(config)),
      log_(log),
      limiter_(config_.limits),
      // Both protocols unless another cloud is given; it reads the tracker's own registry,
      // which reloads assign into.
      cloud_(api ? std::move(api)
                 : std::make_unique<cloud_router>(*http, config_.services, std::move(creds),
                                                  config_.api, log)),
      poller_(ex, st, config_.services, *cloud_, limiter_, clock, config_.polling, log,
              std::move(on_fault)) {
    if (config_.submit.max_attempts == 0) throw std::invalid_argument("submit.max_attempts is 0");
}

tracker::~tracker() {
    stop();
    // Coroutine frames destroyed after the tracker (a shutdown past its deadline) still run their
    // guards; they only touch the shared drain state, and call nothing.
    drain_->on_drained = {};
}

void tracker::start() {
    poller_.start();
}

void tracker::stop() {
    stopping_ = true;
    drain_->stopping = true;
    poller_.stop();
}

void tracker::async_drain(std::function<void()> done) {
    drain_->on_drained = std::move(done);
    poller_.set_idle_callback([d = drain_] {
        d->polls_idle = true;
        d->check();
    });
}

void tracker::drain_state::check() {
    if (!stopping || !polls_idle || submitting != 0 || !on_drained) return;
    std::exchange(on_drained, {})();
}

std::optional<core::sys_time> tracker::expected_finish(const core::task& t) const {
    if (core::is_terminal(t.state)) return std::nullopt;
    const auto d = poller_.learned_completion(t.key(), expected_finish_quantile);
    if (!d) return std::nullopt;
    return t.created_at + std::chrono::duration_cast<core::sys_time::duration>(*d);
}

std::optional<core::sys_time> tracker::expected_finish(const core::batch& b) const {
    if (core::is_terminal(b.state)) return std::nullopt;
    // Every task of a batch shares its (service, action), so the first live one polled gives
    // the learned time; the latest finish over them is the batch's created_at plus it.
    for (const auto& e : b.entries) {
        if (e.request_id.empty() || (e.state && core::is_terminal(*e.state))) continue;
        const core::task_key key{b.service, e.request_id, b.region, b.id};
        if (const auto d = poller_.learned_completion(key, expected_finish_quantile)) {
            return b.created_at + std::chrono::duration_cast<core::sys_time::duration>(*d);
        }
    }
    return std::nullopt;
}

core::result<void> tracker::check_poll(const core::poll_settings& own,
                                       std::chrono::milliseconds timeout) const {
    return check_own_poll(own, timeout,
                          std::chrono::duration_cast<std::chrono::milliseconds>(
                              config_.polling.schedule.min_own_interval));
}

core::error tracker::too_many_schedules() {
    return core::error{
        "too many distinct own poll schedules in use (65535); retry later or "
        "use the configured schedule",
        core::error_kind::unavailable};
}

std::size_t tracker::inflight() const noexcept {
    return poller_.inflight() + drain_->submitting;
}

asio::awaitable<core::result<submit_result>> tracker::async_submit(submission s) {
    auto action = config_.services.find_action(s.service, s.action);
    if (!action) co_return action.error();
    const service_profile& svc = *config_.services.find_service(s.service);
    if (s.region.empty()) s.region = config_.default_region;
    if (s.region.empty()) {
        co_return core::error{"no region: give \"region\" or configure cloud.region"};
    }
    auto prepared = cloud_->prepare(svc, **action, s.region, s.params);
    if (!prepared) co_return prepared.error();
    const auto& p = **prepared;
    auto timeout = s.timeout.value_or(std::chrono::duration_cast<std::chrono::milliseconds>(
        config_.polling.schedule.poll.timeout));

    if (!s.client_token.empty()) {
        if (auto existing = store_.find_batch_by_token(s.client_token)) {
            auto it = fingerprints_.find(s.client_token);
            bool same = it != fingerprints_.end()
                            ? it->second == p.fingerprint
                            : existing->service == s.service && existing->action == s.action &&
                                  existing->region == s.region;
            if (!same || existing->poll != s.poll) {
                ++submit_stats_.outcomes["conflict"];
                co_return core::error{fmt::format("client_token \"{}\" was already used for a "
                                                  "different submission (batch {})",
                                                  s.client_token, existing->id),
                                      core::error_kind::conflict};
            }
            ++submit_stats_.outcomes["deduplicated"];
            co_return submit_result{std::move(*existing), true};
        }
    }
    // Checked after the token (a repeated submission is answered even if the bounds changed),
    // and the schedule reserved before anything is recorded or sent: its tasks can always be
    // tracked on it when the answer comes.
    if (auto own = check_poll(s.poll, timeout); !own) co_return own.error();
    if (intents_ != nullptr && intents_->takes_intents()) {
        co_return co_await submit_as_intent(std::move(s), p.fingerprint);
    }
    if (auto w = writable(); !w) co_return w.error();
    auto reserved = poller_.reserve_policy(s.poll);
    if (!reserved) co_return too_many_schedules();
    auto batch = store_.create_batch({s.service, s.action, s.region, s.labels, s.client_token,
                                      call_resources(p.resources), p.target, s.poll, s.batch_id});
    if (!batch) co_return batch.error();
    if (!s.client_token.empty()) fingerprints_[s.client_token] = p.fingerprint;
    if (auto d = co_await async_durable(store_, batch->updated_seq); !d) {
        // The intent could not be made durable (a failed journal, a ledger transaction that
        // cannot commit or a lost lease): sending now could lose the outcome in a crash and
        // leave nothing saying the request left. Record it as not sent and say why.
        store::batch_outcome o;
        o.code = -1;
        o.message = "not sent: " + d.error().message;
        o.entries = uniform_entries(p.resources, core::entry_outcome::rejected, o.code, o.message);
        (void)store_.record_batch_outcome(batch->id, o);
        ++submit_stats_.outcomes["not_durable"];
        co_return d.error();
    }

    // From the intent to the outcome: counted for shutdown, whatever happens in between (the
    // guard holds the shared drain state, not the tracker: see ~tracker).
    ++drain_->submitting;
    core::scope_exit done([d = drain_] {
        --d->submitting;
        d->check();
    });
    core::result<core::batch> recorded = core::error{"not recorded"};
    bool sending = false;  // a request is on its way: its outcome is unknown if interrupted
    std::vector<submission_answer> answers;  // one per call (API 3.0 chunks), in order
    try {
        const auto calls = p.call_resources();
        const bool reconcilable = svc.resolver == resolver_kind::instance_state && (*action)->cvm &&
                                  !(*action)->cvm->by_resource_state();
        for (std::size_t call = 0; call < p.calls(); ++call) {
            // Instance-state actions: the instances as they are just before the send, so that a
            // lost answer can be reconciled read-only (engine/reconcile.hpp).
            std::optional<std::vector<instance_observation>> before;
            if (reconcilable && !calls[call].empty()) {
                before = co_await describe_instances(*batch, calls[call]);
                if (before && before->size() < calls[call].size()) before.reset();  // not all seen
            }
            auto answer = co_await send(*batch, p, call, sending);
            if (answer.what == submission_answer::kind::unknown && before)
                answer = co_await reconcile(*batch, calls[call], *before, std::move(answer));
            answers.push_back(std::move(answer));
        }
        recorded = record_answer(*batch, merge_calls(std::move(answers), p.call_resources(), {}),
                                 p.resources, timeout);
    } catch (...) {
        // Cancelled by the shutdown, or a bug. Never left `submitting`, never re-sent.
        recorded =
            record_interrupted(*batch, std::current_exception(), sending, p, answers, timeout);
    }
    if (!recorded) co_return recorded.error();
    ++submit_stats_.outcomes[std::string(core::to_string(recorded->state))];
    co_return submit_result{std::move(*recorded), false};
}

asio::awaitable<submission_answer> tracker::send(const core::batch& b, const prepared_submission& p,
                                                 std::size_t call, bool& sending) {
    auto rng = backoff_rng();
    submission_answer r;
    for (std::uint32_t attempt = 0;; ++attempt) {
        r = co_await send_once(b, p, call, sending);
        auto step = decide_submission(r.what, attempt, config_.submit.max_attempts, stopping_);
        if (step == submit_step::record) co_return r;
        log_.info(
            "batch {}: {} ({}); sending again", b.id, r.message,
            r.what == submission_answer::kind::not_sent ? "provably not sent" : "not executed");
        if (step == submit_step::send_after_delay) {
            asio::steady_timer wait(executor_, backoff_delay(config_.submit.backoff, attempt, rng));
            boost::system::error_code ec;
            co_await wait.async_wait(asio::redirect_error(asio::use_awaitable, ec));
        }
    }
}

asio::awaitable<submission_answer> tracker::send_once(const core::batch& b,
                                                      const prepared_submission& p,
                                                      std::size_t call, bool& sending) {
    co_await take_token(b.service, b.action);
    action_key key{b.service, b.action};
    // After the waits: a shutdown may have begun, and a reload may have replaced the profiles.
    using k = submission_answer::kind;
    if (stopping_) co_return submission_answer{k::not_sent, -1, "taskpollerd is shutting down", {}};
    // The last check before the request leaves (docs/ha.md "Why a zombie cannot send"): a node
    // that lost its lease sends nothing, whatever it had recorded.
    if (send_gate_ && !send_gate_()) {
        co_return submission_answer{
            k::not_sent, -1, "not sent: this taskpollerd is no longer the ledger's leader", {}};
    }
    const service_profile* svc = config_.services.find_service(b.service);
    auto action = config_.services.find_action(b.service, b.action);
    if (svc == nullptr || !action) {
        co_return submission_answer{
            k::rejected, -1, "not sent: the action is no longer configured (reload)", {}};
    }
    sending = true;
    auto answer = co_await cloud_->async_submit(*svc, **action, b.region, p, call);
    sending = false;
    if (answer.what == submission_answer::kind::throttled)
        limiter_.on_throttled(key, clock_.steady_now());
    co_return answer;
}

core::result<core::batch> tracker::record_answer(const core::batch& b, const submission_answer& r,
                                                 const std::vector<std::string>& resources,
                                                 std::chrono::milliseconds timeout) {
    using k = submission_answer::kind;
    store::batch_outcome o;
    if (r.what == k::unknown) {
        log_.warn("batch {} ({} {}): outcome unknown, not re-sent: {}", b.id, b.service, b.action,
                  r.message);
        // One `unknown` entry per resource, so the batch says which resources may have changed.
        o.message = "outcome unknown: " + r.message;
        o.entries = uniform_entries(resources, core::entry_outcome::unknown, 0, o.message);
        return store_.record_batch_outcome(b.id, o);
    }
    o.deadline = to_sys(clock_, clock_.steady_now() + timeout);
    if (r.what == k::accepted) {
        o.code = r.code;
        o.message = r.message;
        o.entries = r.entries;
    } else {
        o.code = r.what == k::not_sent ? -1 : r.code;
        o.message = r.what == k::not_sent ? "not sent: " + r.message : r.message;
        o.entries = uniform_entries(resources, core::entry_outcome::rejected, o.code, o.message);
    }
    auto recorded = store_.record_batch_outcome(b.id, o);
    if (!recorded) return recorded;
    if (recorded->state == core::batch_state::submitted) track_batch_tasks(*recorded, timeout);
    log_.info("batch {} ({} {}, {} resources): {}{}", b.id, b.service, b.action, o.entries.size(),
              core::to_string(recorded->state),
              o.code != 0 ? fmt::format(" (code {}: {})", o.code, o.message) : std::string());
    return recorded;
}

core::batch tracker::record_interrupted(const core::batch& b, const std::exception_ptr& e,
                                        bool sending, const prepared_submission& p,
                                        std::vector<submission_answer>& answers,
                                        std::chrono::milliseconds timeout) {
    const std::string why = core::describe(e);
    bool cancelled = false;
    try {
        std::rethrow_exception(e);
    } catch (const boost::system::system_error& se) {
        cancelled = se.code() == asio::error::operation_aborted;
    } catch (...) {
    }
    submission_answer current;
    if (sending) {
        // The request may have left: unknown, never re-sent.
        current.what = submission_answer::kind::unknown;
        current.message = cancelled ? "cancelled while in flight (shutdown)"
                                    : "internal error in taskpollerd: " + why;
    } else {
        // Interrupted before a byte was sent: provably not sent.
        current.what = submission_answer::kind::not_sent;
        current.code = -1;
        current.message =
            cancelled ? "cancelled (shutdown)" : "internal error in taskpollerd: " + why;
    }
    if (cancelled) {
        log_.warn("batch {} ({} {}): {}", b.id, b.service, b.action, current.message);
    } else {
        log_.critical("batch {} ({} {}): internal error after its intent was recorded: {}; {}",
                      b.id, b.service, b.action, why,
                      sending ? "the batch is unknown (never re-sent)" : "it was not sent");
    }
    // The calls already answered keep their answers (their tasks are tracked); the one in
    // flight is unknown or not sent; the ones after it were never sent.
    answers.push_back(std::move(current));
    auto merged = merge_calls(std::move(answers), p.call_resources(),
                              cancelled ? "cancelled (shutdown)" : "an earlier call failed");
    auto recorded = record_answer(b, merged, p.resources, timeout);
    if (recorded) return std::move(*recorded);
    // Already recorded before the throw: the store's version is the truth.
    auto now = store_.get_batch(b.id);
    return now ? std::move(*now) : b;
}

void tracker::track_batch_tasks(const core::batch& b, std::chrono::milliseconds timeout) {
    std::set<std::string> done;
    auto now = clock_.steady_now();
    for (const auto& e : b.entries) {
        if (e.outcome != core::entry_outcome::accepted || !done.insert(e.request_id).second)
            continue;
        core::task_key key{b.service, e.request_id, b.region, b.id};
        auto t = store_.get_task(key);
        if (!t || core::is_terminal(t->state) || poller_.is_tracked(key)) continue;
        auto res = poller_.track(
            {key, b.action, b.region, t->resources, now, now + timeout, b.target, b.poll});
        if (!res)
            log_.error("{}: cannot poll: {}", core::format_task_key(key), res.error().message);
    }
}

core::result<core::task> tracker::adopt(const adoption& a) {
    const service_profile* svc = config_.services.find_service(a.key.service);
    if (svc == nullptr) return core::error{"unknown service " + a.key.service};
    if (svc->resolver == resolver_kind::instance_state) {
        if (a.action.empty() || a.action == "unknown") {
            return core::error{fmt::format(
                "tracking a {} task needs its action (\"action\" in the request; "
                "taskpollerctl track --action, e.g. --action StopInstances): whether it has "
                "finished is read from its instances' states, which depend on the action",
                svc->name)};
        }
        auto action = config_.services.find_action(a.key.service, a.action);
        if (!action) return action.error();
        if (a.resources.empty())
            return core::error{"tracking a " + svc->name +
                               " task needs its instance ids (\"resources\")"};
    }
    core::task_key key = identity_of(a);
    const std::string& region = key.region;
    if (region.empty()) return core::error{"no region: give \"region\" or configure cloud.region"};
    if (poller_.is_tracked(key))
        return core::error{core::format_task_key(key) + " is already tracked",
                           core::error_kind::conflict};
    auto timeout = a.timeout.value_or(std::chrono::duration_cast<std::chrono::milliseconds>(
        config_.polling.schedule.poll.timeout));
    if (auto own = check_poll(a.poll, timeout); !own) return own.error();
    if (auto w = writable(); !w) return w.error();
    auto reserved = poller_.reserve_policy(a.poll);  // so that track() below cannot fail on it
    if (!reserved) return too_many_schedules();
    auto now = clock_.steady_now();
    // The store requires an action; a task-result task may be adopted without knowing it.
    std::string action = a.action.empty() ? std::string("(adopted)") : a.action;
    auto t = store_.adopt_task({a.key.service, a.key.request_id, action, a.resources, a.labels,
                                to_sys(clock_, now + timeout), region, a.poll});
    if (!t) return t;
    auto res = poller_.track({key, action, region, a.resources, now, now + timeout, {}, a.poll});
    if (!res) {
        (void)store_.cancel_task(key);
        return res.error();
    }
    return t;
}

core::task_key tracker::identity_of(const adoption& a) const {
    return {
        a.key.service, a.key.request_id, a.region.empty() ? config_.default_region : a.region, {}};
}

core::result<core::task> tracker::cancel_task(const core::task_key& key) {
    if (auto w = writable(); !w) return w.error();
    auto t = store_.cancel_task(key);
    if (t) poller_.untrack(t->key());  // the whole identity, whatever `key` left out
    return t;
}

core::result<core::batch> tracker::cancel_batch(std::string_view batch_id) {
    if (auto w = writable(); !w) return w.error();
    auto b = store_.cancel_batch(batch_id);
    if (!b) return b;
    for (const auto& e : b->entries) {
        if (!e.request_id.empty()) poller_.untrack({b->service, e.request_id, b->region, b->id});
    }
    return b;
}

std::size_t tracker::resume_live_tasks() {
    std::size_t n = 0;
    auto now_steady = clock_.steady_now();
    auto now_sys = clock_.system_now();
    const auto counts = store_.task_counts();
    poller_.reserve(poller_.tracked() +
                    counts[static_cast<std::size_t>(core::task_state::pending)] +
                    counts[static_cast<std::size_t>(core::task_state::running)]);
    store_.for_each_live_task([&](const core::task_key& key, core::task_state,
                                  core::sys_time deadline) {
        auto t = store_.get_task(key);
        if (!t) return;
        // The batch's region, or the adoption's; the default only for tasks recorded without one.
        std::string region = t->region.empty() ? config_.default_region : t->region;
        auto to_steady = [&](core::sys_time s) {
            return now_steady +
                   std::chrono::duration_cast<core::steady_time::duration>(s - now_sys);
        };
        auto dl = deadline == core::sys_time{} ? now_steady + config_.polling.schedule.poll.timeout
                                               : to_steady(deadline);
        if (poller_.track({key, t->action, region, t->resources, to_steady(t->created_at), dl,
                           t->target, t->poll}))
            ++n;
    });
    return n;
}

void tracker::reconfigure(tracker_config config, qcloud::credentials creds) {
    auto now = clock_.steady_now();
    // Assign into the existing registry: the poller and the API client hold references to it.
    config_.services = std::move(config.services);
    config_.api = config.api;
    config_.default_region = std::move(config.default_region);
    config_.submit = config.submit;
    config_.limits.default_rate = config.limits.default_rate;
    // The poller takes what applies to live polling (poll_state::set_options); the tracker keeps
    // the rest (the default deadline of tasks tracked from now on).
    config_.polling = config.polling;
    poller_.set_options(config_.polling);
    cloud_->reconfigure(std::move(creds), config_.api);
    for (const auto& [key, stats] : limiter_.all_stats(now)) {
        double rate =
            config_.services.rate_limit(key.service, key.action, config_.limits.default_rate);
        if (rate != stats.configured_rate) limiter_.configure(key, rate, now);
    }
    // Tasks stalled on credentials, permissions or the endpoint: try the new settings now rather
    // than at the end of the stall interval.
    if (auto n = poller_.wake_stalled(); n > 0)
        log_.info("{} tasks stalled on an account-wide error are polled again now", n);
}

}  // namespace taskpoller::engine
