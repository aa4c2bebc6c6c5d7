#pragma once
// The engine's front door: submits batches, adopts requestIds submitted elsewhere, cancels, and
// keeps every live task polled (engine/poller.hpp). The control API and the daemon talk to this.
//
// Submission, step by step (docs/design.md "Data flow", docs/protocol.md "Retries"):
//   validate against the registry → the protocol prepares the call (engine/cloud.hpp: params
//   checked and encoded, resources, fingerprint) → client_token check → record the batch as
//   `submitting` in the store (the intent; the journal persists it before anything is sent) →
//   wait for the action's rate-limit token → sign and send once, on a fresh connection → the
//   protocol reads the answer → record entries and tasks, start polling.
// Whether to send again is decide_submission() (engine/outcomes.hpp): only when provably not
// sent (connect/DNS/TLS failure before the first byte) or throttled (after backoff; the action's
// rate is halved) or the signature expired (re-signed, once). An answer that is lost or
// unreadable makes the batch `unknown`; it is never re-sent. A bug that throws after the intent
// was recorded makes the batch `unknown` too (logged at critical), never a `submitting` batch
// left behind.
//
// Threading and lifetime: the io_context's thread only. The store, clock and HTTP client must
// outlive the tracker; stop(), then run the io_context until the async_drain() callback has run,
// before destroying.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/json/object.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/batch_id.hpp"
#include "core/clock.hpp"
#include "core/logger.hpp"
#include "core/result.hpp"
#include "core/types.hpp"
#include "engine/api_client.hpp"
#include "engine/cloud_check.hpp"
#include "engine/cloud_v2.hpp"
#include "engine/intents.hpp"
#include "engine/poller.hpp"
#include "engine/rate_limiter.hpp"
#include "engine/registry.hpp"
#include "engine/stats.hpp"

namespace taskpoller::http {
class client;
}
namespace taskpoller::store {
class store;
}

namespace taskpoller::engine {

struct submit_options {
    std::uint32_t max_attempts = 4;  ///< sends allowed for provably-unsent / throttled answers
    backoff_policy backoff{};        ///< between those attempts
    /// A lost answer of an instance-state action is reconciled read-only (engine/reconcile.hpp)
    /// by describing its instances every `reconcile_interval` from the send until the action's
    /// settle delay plus `reconcile_window`; then, unproven, it stays unknown.
    std::chrono::milliseconds reconcile_interval{2'000};
    std::chrono::milliseconds reconcile_window{20'000};
};

struct tracker_config {
    registry services;
    rate_limiter_options limits;
    api_settings api;
    std::string default_region;
    poller_options polling;
    submit_options submit;
};

/// One submission (POST /v1/batches).
struct submission {
    std::string service;
    std::string action;
    std::string region;  ///< empty: the configured default
    boost::json::object params;
    std::string client_token;
    core::labels labels;
    std::optional<std::chrono::milliseconds> timeout;  ///< polling deadline; default from config
    core::poll_settings poll{};  ///< its own schedule (engine/own_poll.hpp bounds it)
    /// Empty: a fresh batch id. Else this one (the id a follower chose for an intent).
    std::string batch_id{};
};

struct submit_result {
    core::batch batch;
    bool existing = false;  ///< client_token repeated: nothing was sent
};

/// Tracking a requestId submitted elsewhere (POST /v1/tasks).
struct adoption {
    core::task_key key;
    std::string action;                  ///< required for cvm (its completion rule)
    std::vector<std::string> resources;  ///< required for cvm (the instance ids)
    std::string region;
    core::labels labels;
    std::optional<std::chrono::milliseconds> timeout;
    core::poll_settings poll{};  ///< its own schedule (engine/own_poll.hpp bounds it)
};

class tracker {
  public:
    /// Throws std::invalid_argument on an unusable configuration (a start-up error).
    /// `on_fault`: called when the poll loop fails (engine/poller.hpp), to end the daemon.
    tracker(boost::asio::any_io_executor ex, store::store& st, const core::clock& clock,
            http::client& http, qcloud::credentials creds, tracker_config config, core::logger log,
            core::fault_handler on_fault = {});
    /// The same with another protocol implementation (tests substitute the cloud here).
    tracker(boost::asio::any_io_executor ex, store::store& st, const core::clock& clock,
            std::unique_ptr<cloud> api, tracker_config config, core::logger log,
            core::fault_handler on_fault = {});
    ~tracker();
    tracker(const tracker&) = delete;
    tracker& operator=(const tracker&) = delete;

    /// Errors: invalid (bad service/action/params/region, kind invalid), conflict (client_token
    /// reused for other content). A batch the cloud rejected, or whose outcome is unknown, is a
    /// successful result: the batch says what happened.
    boost::asio::awaitable<core::result<submit_result>> async_submit(submission s);

    /// Starts tracking an existing requestId. conflict if it is already tracked.
    core::result<core::task> adopt(const adoption& a);
    /// The identity an adoption would have: its region (or the configured default), no batch.
    core::task_key identity_of(const adoption& a) const;
    /// Stops tracking a task (cancelled). not_found / conflict (already terminal).
    core::result<core::task> cancel_task(const core::task_key& key);
    /// Cancels every live task of a batch.
    core::result<core::batch> cancel_batch(std::string_view batch_id);

    /// Resumes polling every live task in the store (after a journal replay).
    std::size_t resume_live_tasks();

    void start();
    /// The last check before every submission leaves (after its rate-limit wait): false = not
    /// sent ("no longer the leader"). The PostgreSQL ledger's lease::may_send (docs/ha.md);
    /// none with the journal.
    void set_send_gate(std::function<bool()> may_send) { send_gate_ = std::move(may_send); }
    /// Asked before a submission, adoption or cancellation changes anything: an error (e.g.
    /// unavailable: "a follower; the leader is host-a") refuses it. None with the journal.
    void set_write_gate(std::function<core::result<void>()> writable) {
        write_gate_ = std::move(writable);
    }
    /// The ledger that takes submissions as intents while this node follows (engine/intents.hpp;
    /// it must outlive the tracker). None with the journal.
    void set_intent_ledger(intent_ledger* l) { intents_ = l; }
    /// How long a follower's submission waits for the leader to take its intent.
    static constexpr std::chrono::seconds intent_wait{15};
    /// Stops polling and sends no more (submissions waiting to send again record what they
    /// have). Calls in flight finish; async_drain() says when.
    void stop();
    /// After stop(): calls `done` once every submission and poll in flight has ended (at once
    /// if none). One callback at a time; a later one replaces it.
    void async_drain(std::function<void()> done);
    std::size_t inflight() const noexcept;

    /// Configuration reload: new registry overrides, rates, API settings, default region and
    /// credentials for calls from now on, and submit settings for submissions from now on.
    /// Polling: the schedule (initial_delay, interval, multiplier, max_interval, jitter) and
    /// retry settings (not_found_checks) apply from every task's next poll; timeout and
    /// settle_delay to tasks tracked from now on (live tasks keep their deadlines and completion
    /// rules). Never fails (the new configuration was validated by building it).
    void reconfigure(tracker_config config, qcloud::credentials creds);

    const registry& services() const noexcept { return config_.services; }
    rate_limiter& limiter() noexcept { return limiter_; }
    const api_stats& api() const noexcept { return cloud_->stats(); }
    const submit_stats& submissions() const noexcept { return submit_stats_; }
    const poller& polls() const noexcept { return poller_; }

    /// The completion-time quantile the expected finish uses (p90).
    static constexpr double expected_finish_quantile = 0.9;
    /// When a live task is expected to finish: its created_at plus the learned p90 completion
    /// time of its (service, action). nullopt when it is terminal, not polled, or learning has
    /// too few samples for its profile (poller::learned_completion).
    std::optional<core::sys_time> expected_finish(const core::task& t) const;
    /// The same for a batch: the latest over its live tasks, which share its action, so its
    /// created_at plus that p90. nullopt when none of its tasks gives an estimate.
    std::optional<core::sys_time> expected_finish(const core::batch& b) const;

    /// One signed read-only probe per configured service (engine/cloud_check.hpp), each logged
    /// (a refused one at error) and kept for cloud_checks(). Runs once at a time: a call while
    /// one runs does nothing. Counts as a submission for shutdown draining. Each probe's Date
    /// header measures the clock's skew: logged at warning beyond skew_warn_after, at error
    /// beyond the signature window (engine/clock_skew.hpp).
    boost::asio::awaitable<void> async_check_cloud();
    /// The last probe of each service (in service-name order); empty before the first.
    const std::vector<cloud_check>& cloud_checks() const noexcept { return checks_; }

  private:
    static core::error too_many_schedules();
    /// A follower's submission (validated, its token unseen in the replica): recorded as an
    /// intent, answered when the leader's batch reaches the replica (tracker_intent.cpp).
    boost::asio::awaitable<core::result<submit_result>> submit_as_intent(submission s,
                                                                         std::string fingerprint);
    /// engine/own_poll.hpp's bounds with this configuration's polling.min_interval.
    core::result<void> check_poll(const core::poll_settings& own,
                                  std::chrono::milliseconds timeout) const;
    void log_clock(std::string_view service, const std::optional<clock_reading>& clock);
    tracker(boost::asio::any_io_executor ex, store::store& st, const core::clock& clock,
            http::client* http, qcloud::credentials creds, std::unique_ptr<cloud> api,
            tracker_config config, core::logger log, core::fault_handler on_fault);
    // Looks the service and action up after its waits (a reload may replace them); `sending`
    // is true while a request is on its way.
    boost::asio::awaitable<submission_answer> send_once(const core::batch& b,
                                                        const prepared_submission& p,
                                                        std::size_t call, bool& sending);
    boost::asio::awaitable<submission_answer> send(const core::batch& b,
                                                   const prepared_submission& p, std::size_t call,
                                                   bool& sending);
    /// Waits for a token of the action's rate limit (configured from the registry on first use).
    boost::asio::awaitable<void> take_token(const std::string& service, const std::string& action);
    /// Describes a call's instances (instance-state services), for a reconciliation; nullopt if
    /// any describe failed or the service is gone. `first_sent`, if given, is set to when the
    /// first describe was sent: the cloud read the instances after that, however late its
    /// answer came (a slow answer's content is as old as its send, not its arrival).
    boost::asio::awaitable<std::optional<std::vector<instance_observation>>> describe_instances(
        const core::batch& b, const std::vector<std::string>& ids,
        core::steady_time* first_sent = nullptr);
    /// A call whose answer was just lost, its instances described just before the send:
    /// describes them again until reconcile_call() proves the outcome or the window closes
    /// (then `lost` is returned, with what was seen). Never sends anything but describes.
    boost::asio::awaitable<submission_answer> reconcile(
        const core::batch& b, const std::vector<std::string>& ids,
        const std::vector<instance_observation>& before, submission_answer lost);
    core::result<core::batch> record_answer(const core::batch& b, const submission_answer& r,
                                            const std::vector<std::string>& resources,
                                            std::chrono::milliseconds timeout);
    // A submission interrupted by an exception (a shutdown's cancellation or a bug): unknown if
    // its request may have left, else rejected as not sent.
    core::batch record_interrupted(const core::batch& b, const std::exception_ptr& e, bool sending,
                                   const prepared_submission& p,
                                   std::vector<submission_answer>& answers,
                                   std::chrono::milliseconds timeout);
    void track_batch_tasks(const core::batch& b, std::chrono::milliseconds timeout);
    // Shared with coroutine guards that may outlive the tracker (~tracker).
    struct drain_state {
        std::size_t submitting = 0;  // submissions between their intent and their outcome
        bool stopping = false;
        bool polls_idle = false;
        bool checking = false;  // async_check_cloud() is running
        std::function<void()> on_drained;
        void check();
    };

    boost::asio::any_io_executor executor_;
    store::store& store_;
    const core::clock& clock_;
    tracker_config config_;
    core::logger log_;
    std::vector<cloud_check> checks_;
    rate_limiter limiter_;
    std::unique_ptr<cloud> cloud_;
    poller poller_;
    submit_stats submit_stats_;
    bool stopping_ = false;
    std::function<bool()> send_gate_;
    std::function<core::result<void>()> write_gate_;
    intent_ledger* intents_ = nullptr;
    core::batch_id_generator intent_ids_;
    core::result<void> writable() const {
        return write_gate_ ? write_gate_() : core::result<void>{};
    }
    std::shared_ptr<drain_state> drain_ = std::make_shared<drain_state>();
    std::unordered_map<std::string, std::string> fingerprints_;  // client_token → content hash
};

}  // namespace taskpoller::engine
