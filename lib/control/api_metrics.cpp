// The taskpoller_* metrics of the engine and the store, refreshed at collection time from the
// engine's own counters (engine/stats.hpp) and the store's counts.
#include <fmt/format.h>

#include <boost/json/object.hpp>
#include <memory>
#include <set>

#include "control/api.hpp"
#include "control/metrics.hpp"
#include "core/states.hpp"
#include "engine/stats.hpp"
#include "engine/tracker.hpp"
#include "store/store.hpp"

namespace taskpoller::control {

namespace {

constexpr const char* api_outcomes[] = {"ok",       "api_error",       "throttled", "malformed",
                                        "not_sent", "outcome_unknown", "http_error"};
constexpr const char* submit_outcomes[] = {"submitted",    "rejected", "unknown",
                                           "deduplicated", "conflict", "invalid"};
constexpr const char* latency_name = "taskpoller_api_call_duration_seconds";

using action_pair = std::pair<std::string, std::string>;

// Every (service, action) the registry knows, the poll API included.
std::set<action_pair> known_actions(const engine::registry& reg) {
    std::set<action_pair> out;
    for (const auto& name : reg.service_names()) {
        const auto* svc = reg.find_service(name);
        if (svc == nullptr) continue;
        if (!svc->result_action.empty()) out.emplace(name, svc->result_action);
        for (const auto& [action, profile] : svc->actions) out.emplace(name, action);
    }
    return out;
}

struct api_families {
    metric_family<gauge>* tasks;
    metric_family<gauge>* batches;
    metric_family<counter>* calls;
    counter* throttled;
    metric_family<gauge>* rate;
    metric_family<gauge>* configured_rate;
    metric_family<counter>* submissions;
    metric_family<counter>* reconciliations;
    gauge* subscribers;
    gauge* tracked;
    gauge* inflight;
    gauge* events_seq;
    counter* internal_errors;
    counter* key_collisions;
    gauge* journal_healthy;
    gauge* journal_durable;
    gauge* journal_compaction_ok;
    gauge* journal_log_bytes;
    gauge* journal_snapshot_bytes;
    counter* journal_compaction_failures;
    metric_family<gauge>* clock_skew;
    // store.backend: postgres only (null otherwise)
    gauge* ledger_leader = nullptr;
    gauge* ledger_epoch = nullptr;
    gauge* ledger_lease_left = nullptr;
    gauge* ledger_lag = nullptr;
    gauge* ledger_stale = nullptr;
    gauge* ledger_pending = nullptr;
    metric_family<counter>* ledger_events = nullptr;
};

// From the ledger's status object (ledger/node.hpp status()).
void collect_ledger(const boost::json::object& l, const api_families& f) {
    auto number = [](const boost::json::object& o, const char* k) {
        auto* v = o.if_contains(k);
        return v != nullptr && v->is_number() ? v->to_number<double>() : 0.0;
    };
    auto* role = l.if_contains("role");
    f.ledger_leader->set(role != nullptr && role->is_string() && role->as_string() == "leader");
    f.ledger_epoch->set(number(l, "epoch"));
    f.ledger_lease_left->set(number(l, "lease_expires_in_ms") / 1000.0);
    f.ledger_lag->set(number(l, "lag_ms") / 1000.0);
    auto* stale = l.if_contains("stale");
    f.ledger_stale->set(stale != nullptr && stale->is_bool() && stale->as_bool() ? 1 : 0);
    f.ledger_pending->set(number(l, "pending_changes"));
    if (auto* c = l.if_contains("counters"); c != nullptr && c->is_object()) {
        for (const auto& [name, v] : c->as_object())
            f.ledger_events->with({std::string(name)})
                .set(v.is_number() ? v.to_number<double>() : 0);
    }
}

// From the journal's /v1/status object (journal_status.hpp); nothing without a journal.
void collect_journal(const boost::json::object& j, const api_families& f) {
    if (!j.contains("enabled") || !j.at("enabled").as_bool()) return;
    auto number = [&j](const char* k) {
        auto* v = j.if_contains(k);
        return v != nullptr && v->is_number() ? v->to_number<double>() : 0.0;
    };
    auto flag = [&j](const char* k, bool null_is_true) {
        auto* v = j.if_contains(k);
        if (v == nullptr) return 1.0;
        if (v->is_bool()) return v->as_bool() ? 1.0 : 0.0;
        return v->is_null() == null_is_true ? 1.0 : 0.0;
    };
    f.journal_healthy->set(flag("healthy", true));
    f.journal_durable->set(flag("durable", true));
    f.journal_compaction_ok->set(flag("compaction_error", true));
    f.journal_log_bytes->set(number("log_bytes"));
    f.journal_snapshot_bytes->set(number("snapshot_bytes"));
    f.journal_compaction_failures->set(number("compaction_failures"));
}

void collect(api_context& ctx, const api_families& f) {
    const auto tc = ctx.store.task_counts();
    for (std::size_t i = 0; i < core::task_state_count; ++i)
        f.tasks->with({std::string(core::to_string(static_cast<core::task_state>(i)))}).set(tc[i]);
    const auto bc = ctx.store.batch_counts();
    for (std::size_t i = 0; i < core::batch_state_count; ++i)
        f.batches->with({std::string(core::to_string(static_cast<core::batch_state>(i)))})
            .set(bc[i]);
    const auto& api = ctx.tracker.api();
    for (const auto& [key, n] : api.calls)
        f.calls->with({std::get<0>(key), std::get<1>(key), std::get<2>(key)})
            .set(static_cast<double>(n));
    f.throttled->set(static_cast<double>(api.throttled_total));
    for (const auto& [key, st] : ctx.tracker.limiter().all_stats(ctx.clock.steady_now())) {
        f.rate->with({key.service, key.action}).set(st.rate);
        f.configured_rate->with({key.service, key.action}).set(st.configured_rate);
    }
    for (const auto& [outcome, n] : ctx.tracker.submissions().outcomes)
        f.submissions->with({outcome}).set(static_cast<double>(n));
    for (const auto& [result, n] : ctx.tracker.submissions().reconciliations)
        f.reconciliations->with({result}).set(static_cast<double>(n));
    f.subscribers->set(static_cast<double>(ctx.events_subscribers));
    f.tracked->set(static_cast<double>(ctx.tracker.polls().tracked()));
    f.inflight->set(static_cast<double>(ctx.tracker.polls().inflight()));
    f.events_seq->set(static_cast<double>(ctx.store.seq()));
    f.internal_errors->set(static_cast<double>(ctx.tracker.polls().internal_errors()));
    f.key_collisions->set(static_cast<double>(ctx.store.task_key_collisions()));
    if (ctx.journal_status) collect_journal(ctx.journal_status(), f);
    if (ctx.ledger_status && f.ledger_leader != nullptr) collect_ledger(ctx.ledger_status(), f);
    // No sample until a Date was read: 0 would claim a clock in step.
    if (const auto& c = api.last_clock)
        f.clock_skew->with().set(static_cast<double>(c->skew.count()) / 1000.0);
}

void render_latency_series(std::string& out, const action_pair& key,
                           const engine::latency_histogram& h) {
    const auto labels = fmt::format("service=\"{}\",action=\"{}\"", escape_label_value(key.first),
                                    escape_label_value(key.second));
    std::uint64_t cumulative = 0;
    for (std::size_t i = 0; i < engine::latency_buckets.size(); ++i) {
        cumulative += h.counts[i];
        out += fmt::format("{}_bucket{{{},le=\"{}\"}} {}\n", latency_name, labels,
                           format_sample(engine::latency_buckets[i]), cumulative);
    }
    out += fmt::format("{}_bucket{{{},le=\"+Inf\"}} {}\n", latency_name, labels, h.total);
    out += fmt::format("{}_sum{{{}}} {}\n", latency_name, labels, format_sample(h.sum_seconds));
    out += fmt::format("{}_count{{{}}} {}\n", latency_name, labels, h.total);
}

}  // namespace

void register_api_metrics(api_context& ctx, bool process_metrics) {
    auto& m = ctx.metrics;
    auto f = std::make_shared<api_families>();
    f->tasks = &m.add_gauge("taskpoller_tasks", "Tasks in the store by state.", {"state"});
    f->batches = &m.add_gauge("taskpoller_batches", "Batches in the store by state.", {"state"});
    f->calls = &m.add_counter("taskpoller_api_calls_total",
                              "Cloud API calls by service, action and outcome.",
                              {"service", "action", "outcome"});
    f->throttled = &m.add_counter("taskpoller_api_throttled_total",
                                  "Cloud API calls answered 4400 (rate limited).")
                        .with();
    f->rate = &m.add_gauge("taskpoller_rate_limit_rate",
                           "Current (possibly reduced) request rate per action, requests/s.",
                           {"service", "action"});
    f->configured_rate =
        &m.add_gauge("taskpoller_rate_limit_configured_rate",
                     "Configured request rate per action, requests/s.", {"service", "action"});
    f->submissions = &m.add_counter("taskpoller_submissions_total", "Batch submissions by outcome.",
                                    {"outcome"});
    f->subscribers =
        &m.add_gauge("taskpoller_events_subscribers", "Open GET /v1/events streams.").with();
    f->tracked = &m.add_gauge("taskpoller_polling_tracked_tasks", "Tasks being polled.").with();
    f->inflight = &m.add_gauge("taskpoller_polling_inflight", "Poll calls in flight.").with();
    f->events_seq =
        &m.add_gauge("taskpoller_events_seq", "The newest change sequence number.").with();
    f->internal_errors =
        &m.add_counter("taskpoller_poll_internal_errors_total",
                       "Poll calls that ended in an exception (a bug; logged at critical; their "
                       "tasks were polled again).")
             .with();
    f->key_collisions =
        &m.add_counter("taskpoller_task_key_collisions_total",
                       "New tasks whose service and requestId another tracked task already had "
                       "(tracked apart, never merged; logged at warning).")
             .with();
    f->journal_healthy =
        &m.add_gauge("taskpoller_journal_healthy",
                     "1 while the journal records changes durably and compacts; 0 otherwise "
                     "(see /v1/status journal.error).")
             .with();
    f->journal_durable = &m.add_gauge("taskpoller_journal_durable",
                                      "1 while changes are journaled durably; 0 while the "
                                      "journal has failed (mutations answer 503).")
                              .with();
    f->journal_compaction_ok =
        &m.add_gauge("taskpoller_journal_compaction_ok",
                     "0 while journal compactions fail (the log keeps growing).")
             .with();
    f->journal_log_bytes =
        &m.add_gauge("taskpoller_journal_log_bytes", "Size of the journal's log.").with();
    f->journal_snapshot_bytes =
        &m.add_gauge("taskpoller_journal_snapshot_bytes", "Size of the journal's snapshot.").with();
    f->journal_compaction_failures = &m.add_counter("taskpoller_journal_compaction_failures_total",
                                                    "Journal compactions that failed.")
                                          .with();
    for (auto* g : {f->journal_healthy, f->journal_durable, f->journal_compaction_ok}) g->set(1);
    f->clock_skew = &m.add_gauge(
        "taskpoller_cloud_clock_skew_seconds",
        "The cloud's clock minus this machine's, from the latest answer's Date header (1 s "
        "resolution; positive: this machine is behind). No sample until a Date was read; the "
        "cloud refuses signatures more than 300 s off.");
    if (ctx.ledger_status) {
        f->ledger_leader = &m.add_gauge("taskpoller_ledger_leader",
                                        "1 while this node leads the PostgreSQL ledger "
                                        "(submits and polls); 0 as a follower.")
                                .with();
        f->ledger_epoch = &m.add_gauge("taskpoller_ledger_epoch",
                                       "The lease epoch this node leads (0 as a follower).")
                               .with();
        f->ledger_lease_left =
            &m.add_gauge("taskpoller_ledger_lease_remaining_seconds",
                         "Time left before the leader's local lease deadline (0 as a follower).")
                 .with();
        f->ledger_lag = &m.add_gauge("taskpoller_ledger_lag_seconds",
                                     "A follower's replication lag: the age of the last change "
                                     "it applied when it applied it.")
                             .with();
        f->ledger_stale = &m.add_gauge("taskpoller_ledger_stale",
                                       "1 while a follower cannot read the change stream (its "
                                       "answers may be stale).")
                               .with();
        f->ledger_pending = &m.add_gauge("taskpoller_ledger_pending_changes",
                                         "Changes the leader made that are not committed yet.")
                                 .with();
        f->ledger_events = &m.add_counter(
            "taskpoller_ledger_events_total",
            "Lease and ledger events: terms, grants, refusals, lease_errors, lost, self_fenced, "
            "transactions, written_changes, write_failures, applied_changes.",
            {"event"});
    }
    m.add_gauge("taskpoller_build_info", "Build information (always 1).", {"version"})
        .with({ctx.version})
        .set(1);
    ctx.reload_successful = &m.add_gauge("taskpoller_config_last_reload_successful",
                                         "Whether the last configuration reload succeeded.")
                                 .with();
    ctx.reload_successful->set(1);

    for (std::size_t i = 0; i < core::task_state_count; ++i)
        f->tasks->with({std::string(core::to_string(static_cast<core::task_state>(i)))});
    for (std::size_t i = 0; i < core::batch_state_count; ++i)
        f->batches->with({std::string(core::to_string(static_cast<core::batch_state>(i)))});
    for (const auto& [service, action] : known_actions(ctx.tracker.services()))
        for (const char* o : api_outcomes) f->calls->with({service, action, o});
    for (const char* o : submit_outcomes) f->submissions->with({o});
    f->reconciliations = &m.add_counter(
        "taskpoller_submission_reconciliations_total",
        "Lost submission answers reconciled read-only by describing the instances, by result "
        "(executed, not_executed, undecided: stayed unknown).",
        {"result"});
    for (const char* r : {"executed", "not_executed", "undecided"}) f->reconciliations->with({r});

    if (process_metrics) add_process_metrics(m);
    m.on_collect([&ctx, f] { collect(ctx, *f); });
}

void set_reload_successful(api_context& ctx, bool ok) {
    if (ctx.reload_successful != nullptr) ctx.reload_successful->set(ok ? 1 : 0);
}

std::string render_metrics(api_context& ctx) {
    std::string out = ctx.metrics.render();
    const auto& latency = ctx.tracker.api().latency;
    out += fmt::format("# HELP {} Cloud API call latency by service and action.\n", latency_name);
    out += fmt::format("# TYPE {} histogram\n", latency_name);
    const engine::latency_histogram zero{};
    auto keys = known_actions(ctx.tracker.services());
    for (const auto& [key, h] : latency) keys.insert(key);
    for (const auto& key : keys) {
        auto it = latency.find(key);
        render_latency_series(out, key, it == latency.end() ? zero : it->second);
    }
    return out;
}

}  // namespace taskpoller::control
