#include "daemon/app.hpp"

// GCC 12 reports a false -Wmismatched-new-delete for coroutine frames whose promise type has a
// sized operator delete (Asio's awaitable); see GCC bug 109224.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

#include <fmt/format.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <functional>

#include "config/credential_watch.hpp"
#include "config/json.hpp"
#include "config/loader.hpp"
#include "config/reload.hpp"
#include "control/api.hpp"
#include "control/journal_status.hpp"
#include "control/metrics.hpp"
#include "control/router.hpp"
#include "control/server.hpp"
#include "core/supervise.hpp"
#include "daemon/credentials_refresh.hpp"
#include "daemon/notifier.hpp"
#include "daemon/settings.hpp"
#include "daemon/signals.hpp"
#include "engine/intents.hpp"
#include "engine/tracker.hpp"
#include "http/client.hpp"
#include "ledger/node.hpp"
#include "ledger/pg_conninfo.hpp"
#include "store/interrupted.hpp"
#include "store/journal.hpp"
#include "store/store.hpp"

namespace taskpoller::daemon {
namespace asio = boost::asio;

namespace {
constexpr auto shutdown_grace = std::chrono::seconds(10);     // control requests in flight
constexpr auto shutdown_deadline = std::chrono::seconds(12);  // the whole drain
constexpr auto housekeeping_period = std::chrono::seconds(2);
}  // namespace

// The tracker's view of the ledger's intents (engine/intents.hpp) over ledger::node.
class node_intents final : public engine::intent_ledger {
  public:
    explicit node_intents(ledger::node& n) : n_(n) {}
    bool takes_intents() const override { return n_.is_follower(); }
    asio::awaitable<core::result<engine::intent_record>> async_record_intent(
        engine::intent_record r) override {
        // A named argument: GCC 12 destroys a braced temporary inside co_await twice.
        ledger::intent_row row{std::move(r.client_token), std::move(r.batch_id),
                               std::move(r.fingerprint), std::move(r.request)};
        auto stored = co_await n_.async_record_intent(std::move(row));
        if (!stored) co_return stored.error();
        engine::intent_record out{stored->client_token, stored->batch_id, stored->fingerprint,
                                  stored->request};
        co_return out;
    }
    asio::awaitable<core::result<engine::intent_status>> async_intent_status(
        std::string client_token) override {
        auto st = co_await n_.async_intent_status(std::move(client_token));
        if (!st) co_return st.error();
        engine::intent_status out{st->first, st->second};
        co_return out;
    }

  private:
    ledger::node& n_;
};

struct app::impl {
    impl(asio::io_context& io, std::filesystem::path path,
         std::shared_ptr<const config::daemon_config> cfg, logging& lg, std::optional<int> fd,
         bool recover_journal)
        : io(io),
          logs(lg),
          log(lg.get()),
          config_path(std::move(path)),
          config(std::move(cfg)),
          listen_fd(fd),
          recover(recover_journal),
          store(clock, store_settings(*config), log),
          http(io.get_executor(), log, http_options(*config)),
          notify(io, log, notify_environment::from_process()),
          housekeeping(io),
          journal_sync(io),
          journal_retry(io) {
        auto settings = tracker_settings(*config);
        if (!settings) throw std::invalid_argument(settings.error().message);
        // The poll loop failing is not safe to restart: end the daemon with a non-zero status.
        tracker = std::make_unique<engine::tracker>(
            io.get_executor(), store, clock, http, credentials_of(*config), std::move(*settings),
            log, [this](const std::string& why) { fail(why); });
        watch_credentials();
    }

    asio::io_context& io;
    core::real_clock clock;
    logging& logs;
    core::logger log;
    std::filesystem::path config_path;
    std::shared_ptr<const config::daemon_config> config;
    std::optional<int> listen_fd;
    bool recover = false;
    store::store store;
    // Declared after the store: destroyed (and detached) before it.
    std::unique_ptr<store::journal> journal;
    std::unique_ptr<ledger::node> ledger;  // store.backend: postgres (docs/ha.md)
    std::unique_ptr<node_intents> intents;
    http::client http;
    std::unique_ptr<engine::tracker> tracker;
    control::metrics_registry metrics;
    std::unique_ptr<control::api_context> api;
    std::unique_ptr<control::server> server;
    notifier notify;
    std::unique_ptr<signal_handler> signals;
    asio::steady_timer housekeeping;
    config::credential_watch credentials;
    asio::steady_timer journal_sync;
    asio::steady_timer shutdown_deadline{io};
    int exit_status = 0;
    std::function<void()> begin_shutdown;  // app::shutdown, for fail()

    // The supervisor of a configuration reload: a reload that throws is a bug, and the
    // configuration it was applying may be half applied, so it is fatal (SIGHUP and the API alike).
    auto reload_supervisor() {
        return core::fatal_on_exception(log, "a configuration reload",
                                        [this](const std::string& why) { fail(why); });
    }

    // A piece of the daemon failed in a way that is not safe to restart (logged at critical by
    // its supervisor): shut down gracefully within the deadline and exit non-zero, so systemd
    // restarts the daemon and the journal replays.
    void fail(const std::string& why) {
        if (exit_status == 0) exit_status = exit_internal_error;
        log.error("taskpollerd is stopping after an internal error ({}); exit status {}", why,
                  exit_status);
        if (begin_shutdown) begin_shutdown();
    }
    bool journal_sync_armed = false;
    asio::steady_timer journal_retry;
    bool stopping = false;
    reload_sequence reloads;
    core::sys_time started_at = clock.system_now();

    std::string status_line() const {
        auto c = store.task_counts();
        auto n = [&](core::task_state s) { return c[static_cast<std::size_t>(s)]; };
        return fmt::format("tracking {} live tasks ({} running); {} succeeded, {} failed",
                           n(core::task_state::pending) + n(core::task_state::running),
                           n(core::task_state::running), n(core::task_state::succeeded),
                           n(core::task_state::failed));
    }

    void arm_housekeeping() {
        housekeeping.expires_after(housekeeping_period);
        housekeeping.async_wait([this](boost::system::error_code ec) {
            if (ec || stopping) return;
            // A follower's retention arrives from the leader as expiry changes.
            if (!ledger || ledger->is_leader()) store.expire(clock.system_now());
            journal_housekeeping();
            credentials_housekeeping();
            notify.status(status_line());
            arm_housekeeping();
        });
    }

    // Opens and replays the journal, then resumes polling what was live. No journal path: the
    // store stays memory-only.
    core::result<void> open_journal() {
        const auto& path = config->store.journal;
        if (path.empty()) {
            log.info("no store.journal configured: tasks are kept in memory only");
            return {};
        }
        auto options = journal_settings(*config, recover);
        options.log = log;
        options.on_dirty = [this] { arm_journal_sync(); };
        options.on_failed = [this] { arm_journal_retry(); };
        auto opened = store::journal::open(path, std::move(options));
        if (!opened) return opened.error();
        journal = std::move(*opened);
        auto started = std::chrono::steady_clock::now();
        auto stats = journal->replay(store);
        if (!stats) return stats.error();
        auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
            std::chrono::steady_clock::now() - started);
        auto resumed = tracker->resume_live_tasks();
        log.info(
            "journal {} ({}): {} batches and {} tasks restored in {} ms ({} from the "
            "snapshot, {} log records); {} live tasks resume polling{}{}",
            path, config::to_string(config->store.durability), stats->batches, stats->tasks,
            ms.count(), stats->snapshot_records, stats->log_records, resumed,
            stats->marked_unknown ? fmt::format("; {} interrupted submissions marked "
                                                "unknown (never re-sent)",
                                                stats->marked_unknown)
                                  : std::string(),
            stats->truncated_bytes
                ? fmt::format("; {} bytes of torn tail removed", stats->truncated_bytes)
                : std::string());
        return {};
    }

    // store.backend: postgres. Connects, migrates, loads the ledger's current state (start-up
    // waits for it), then runs the lease and data loops; the tracker starts when this node
    // becomes the leader (on_leader), and the daemon restarts when it loses the lease.
    core::result<void> open_ledger() {
        const auto& pg = config->store.postgres;
        auto conninfo = ledger::read_conninfo_file(pg.conninfo_file);
        if (!conninfo) return conninfo.error();
        const auto shown = ledger::redact_conninfo(*conninfo);
        ledger::node_options o;
        o.conninfo = std::move(*conninfo);
        o.ledger = pg.ledger;
        o.node = pg.node;
        o.lease.ttl = std::chrono::duration_cast<ledger::duration>(pg.lease_ttl);
        ledger::node::callbacks cb;
        cb.on_leader = [this](std::uint64_t epoch) { become_leader(epoch); };
        cb.on_lost = [this](const std::string& why) { lose_lease(why); };
        cb.on_intent = [this](ledger::intent_row row) { take_intent(std::move(row)); };
        ledger = std::make_unique<ledger::node>(io.get_executor(), store, std::move(o),
                                                std::move(cb), log);
        log.info("ledger {} in PostgreSQL ({}) as node {}: connecting", pg.ledger, shown, pg.node);
        std::optional<core::result<void>> opened;
        asio::co_spawn(io, ledger->async_open(),
                       [&opened](std::exception_ptr e, core::result<void> r) {
                           if (e) {
                               opened = core::error{"ledger: " + core::describe(e)};
                           } else {
                               opened = std::move(r);
                           }
                       });
        // Start-up is synchronous (READY=1 follows it): run the loop until the load is done.
        io.restart();
        while (!opened && io.run_one() > 0) {
        }
        // The io_context stopped itself when that work ran out: ready it for io_context::run().
        io.restart();
        if (!opened) return core::error{"ledger: start-up did not finish"};
        if (!*opened) return opened->error();
        store.set_observer(ledger.get());
        tracker->set_send_gate([this] { return ledger->may_send(); });
        tracker->set_write_gate([this] { return ledger->writable(); });
        intents = std::make_unique<node_intents>(*ledger);
        tracker->set_intent_ledger(intents.get());
        return {};
    }

    void spawn_ledger_loops() {
        auto fatal = [this](const char* what) {
            return core::fatal_on_exception(log, what,
                                            [this](const std::string& why) { fail(why); });
        };
        asio::co_spawn(io, ledger->run_lease(), fatal("the ledger's lease loop"));
        asio::co_spawn(io, ledger->run_data(), fatal("the ledger's data loop"));
    }

    // This node leads the ledger: what an earlier leader left half done is settled, then
    // polling and submitting start (docs/ha.md "Takeover").
    void become_leader(std::uint64_t epoch) {
        if (stopping) return;  // a shutdown began: nothing is started any more
        auto unknown = store::mark_interrupted_unknown(
            store, "the ledger's leader changed before the outcome was recorded; not re-sent");
        for (const auto& id : unknown)
            log.warn("batch {} was being submitted by the previous leader: now unknown", id);
        auto lost = store.track_lost_outcome_tasks();
        auto settled = store.finish_settled_batches();
        auto resumed = tracker->resume_live_tasks();
        tracker->start();
        log.info(
            "leader of ledger {} (epoch {}): {} live tasks resume polling; {} interrupted "
            "submissions marked unknown{}{}",
            config->store.postgres.ledger, epoch, resumed, unknown.size(),
            lost ? fmt::format("; {} lost tasks tracked again", lost) : std::string(),
            settled ? fmt::format("; {} settled batches finished", settled) : std::string());
        notify.status(status_line());
    }

    // Leader: a submission a follower recorded as an intent, submitted here under the batch id
    // the follower chose. A refusal is written back for the follower to answer with.
    void take_intent(ledger::intent_row row) {
        auto s = engine::submission_from_json(row.request);
        if (!s) {
            ledger->intent_refused(row.client_token, "invalid|" + s.error().message);
            ledger->intent_finished(row.client_token);
            return;
        }
        s->batch_id = row.batch_id;
        asio::co_spawn(
            io, tracker->async_submit(std::move(*s)),
            [this, token = row.client_token](std::exception_ptr e,
                                             core::result<engine::submit_result> r) {
                if (!ledger) return;
                if (e) {
                    log.critical("intent {}: the submission failed: {}", token, core::describe(e));
                } else if (!r) {
                    log.info("intent {} refused: {}", token, r.error().message);
                    // unavailable (a failing ledger, the lease being lost) is not the
                    // submission's fault: it stays open for the next leader or attempt.
                    if (r.error().kind != core::error_kind::unavailable) {
                        const char* kind = r.error().kind == core::error_kind::conflict ? "conflict"
                                           : r.error().kind == core::error_kind::not_found
                                               ? "not_found"
                                               : "invalid";
                        ledger->intent_refused(token, std::string(kind) + "|" + r.error().message);
                    }
                } else if (r->existing) {
                    ledger->intent_taken(token, r->batch.id);
                }
                ledger->intent_finished(token);
            });
    }

    // The lease is gone: nothing more is sent (the tracker's gate already says no), polling
    // stops now, and the daemon restarts (EX_TEMPFAIL) to come back as a follower whose store is
    // exactly the ledger's.
    void lose_lease(const std::string& why) {
        if (exit_status == 0) exit_status = exit_lost_lease;
        log.error(
            "taskpollerd is restarting: {} (exit status {}; systemd restarts it as a "
            "follower)",
            why, exit_status);
        tracker->stop();
        if (begin_shutdown) begin_shutdown();
    }

    // One-shot: a write left the journal waiting for a sync. At most sync_interval later the
    // pending records are synced (relaxed mode; strict mode's poll results).
    void arm_journal_sync() {
        if (journal_sync_armed || !journal) return;
        journal_sync_armed = true;
        journal_sync.expires_after(journal->sync_interval());
        journal_sync.async_wait([this](boost::system::error_code ec) {
            journal_sync_armed = false;
            if (ec || !journal) return;
            if (auto r = journal->flush(); !r) log.error("journal: {}", r.error().message);
        });
    }

    // The journal failed (disk full, I/O error): try to write what it owes again, with backoff,
    // until it succeeds. Until then every mutation is answered 503.
    void arm_journal_retry() {
        if (!journal) return;
        journal_retry.expires_after(journal->retry_delay());
        journal_retry.async_wait([this](boost::system::error_code ec) {
            if (ec || !journal) return;
            if (auto r = journal->retry(); !r) {
                log.warn("journal still failing, retrying: {}", r.error().message);
                arm_journal_retry();
            }
        });
    }

    boost::json::object journal_status() const {
        if (!journal) return boost::json::object{{"enabled", false}};
        return control::journal_status_of(*journal, config::to_string(config->store.durability));
    }

    // One signed read-only call per service, so that refused credentials are an error in the
    // log at start (and after each change), not a surprise at the first submission.
    void spawn_cloud_check() {
        asio::co_spawn(io, tracker->async_check_cloud(), [this](std::exception_ptr e) {
            if (e) log.critical("the cloud access check failed: {}", core::describe(e));
        });
    }

    // The credentials as read now: their files' stamps and the token failures counted so far.
    void watch_credentials() {
        credentials.reset(config::stamp_files(config->credentials.files),
                          tracker->api().token_failures, clock.steady_now());
    }

    // Temporary credentials rotate under a running daemon: re-read them when their files change
    // or a call is answered AuthFailure.TokenFailure (config/credential_watch.hpp).
    void credentials_housekeeping() {
        auto why = credentials.due(config::stamp_files(credentials.paths()),
                                   tracker->api().token_failures, clock.steady_now());
        if (!why) return;
        if (auto updated = reread_credentials(config_path, *config, *why, log)) {
            auto settings = tracker_settings(*updated);
            if (settings) {
                tracker->reconfigure(std::move(*settings), credentials_of(*updated));
                config = std::move(updated);
                spawn_cloud_check();
            } else {
                log.error("credentials not applied: {}", settings.error().message);
            }
        }
        watch_credentials();
    }

    void journal_housekeeping() {
        if (!journal) return;
        if (auto r = journal->compact_if_due(); !r)
            log.error("journal compaction: {}", r.error().message);
        // How much of the log is durable, for the next start (a few ms, only when it changed).
        if (auto r = journal->checkpoint(); !r && journal->health()) {
            log.warn("journal control file: {}", r.error().message);
        }
    }

    // Shutdown: everything written is synced before the process exits.
    void close_journal() {
        if (!journal) return;
        journal_retry.cancel();
        if (auto r = journal->retry(); !r) {
            log.error("journal: stopping with changes not written: {}", r.error().message);
        }
        if (auto r = journal->flush(); !r) log.error("journal: {}", r.error().message);
        if (auto r = journal->checkpoint(); !r) log.error("journal: {}", r.error().message);
        journal_sync.cancel();
    }

    // The last step of a shutdown: every call in flight has ended, or the deadline passed.
    bool finished = false;
    void finish_shutdown(bool deadline_passed) {
        if (finished) return;
        finished = true;
        shutdown_deadline.cancel();
        tracker->stop();  // idempotent; the deadline may come before the control drain ended
        http.shutdown();
        const auto inflight = tracker->inflight();
        close_journal();
        if (ledger) ledger->abandon();
        if (signals) signals->cancel();
        if (deadline_passed) {
            // Stop the loop instead of waiting any longer: nothing runs after the journal's
            // last sync. A submission without an outcome replays as unknown, never re-sent.
            log.warn(
                "shutdown deadline passed ({} cloud call(s) in flight, {} connection(s)); "
                "stopping",
                inflight, server ? server->connection_count() : 0);
            io.stop();
        }
    }
};

app::app(asio::io_context& io, std::filesystem::path config_path,
         std::shared_ptr<const config::daemon_config> config, logging& logs,
         std::optional<int> listen_fd, bool recover)
    : impl_(std::make_unique<impl>(io, std::move(config_path), std::move(config), logs, listen_fd,
                                   recover)) {}

app::~app() = default;

core::result<void> app::start() {
    auto& m = *impl_;
    auto options = server_settings(*m.config, m.listen_fd.value_or(-1));
    if (!options) return options.error();
    const bool ha = m.config->store.backend == config::store_backend::postgres;
    if (auto r = ha ? m.open_ledger() : m.open_journal(); !r) return r.error();
    options->metrics = &m.metrics;
    options->on_fault = [this](const std::string& why) { impl_->fail(why); };

    m.api = std::make_unique<control::api_context>(control::api_context{
        .store = m.store,
        .tracker = *m.tracker,
        .metrics = m.metrics,
        .clock = m.clock,
        .version = "0.1.0",
        .started_at = m.started_at,
        .config_view = [this] { return boost::json::value(config::to_json(*impl_->config)); },
        .reload = [this]() -> asio::awaitable<control::reload_outcome> {
            reload_report r;
            try {
                r = co_await reload();
            } catch (...) {
                // The request still gets its 500 from the session.
                impl_->reload_supervisor()(std::current_exception());
                throw;
            }
            control::reload_outcome out;
            out.ok = r.applied;
            out.restart_required = r.restart_required;
            out.message = r.applied ? "configuration reloaded"
                                    : "the new configuration is invalid; the previous one stays";
            out.details = r.errors;
            co_return out;
        },
        .journal_status = [this] { return impl_->journal_status(); },
        .ledger_status = m.ledger ? std::function<boost::json::object()>(
                                        [this] { return impl_->ledger->status(); })
                                  : std::function<boost::json::object()>(),
        .max_wait =
            std::chrono::duration_cast<std::chrono::milliseconds>(m.config->control.max_wait)});
    control::register_api_metrics(*m.api);
    control::router routes;
    control::add_api_routes(routes, *m.api);

    m.server =
        std::make_unique<control::server>(m.io, std::move(routes), std::move(*options), m.log);
    if (auto r = m.server->open(); !r) return r.error();
    m.begin_shutdown = [this] { shutdown(); };
    m.server->start();
    if (ha) {
        m.spawn_ledger_loops();  // the tracker starts when this node leads
    } else {
        m.tracker->start();
    }
    m.spawn_cloud_check();
    m.signals = std::make_unique<signal_handler>(
        m.io, signal_callbacks{[this] { spawn_reload(); }, [this](int) { shutdown(); }}, m.log);
    m.arm_housekeeping();
    const bool v3 = m.config->cloud.protocol == config::protocol_kind::v3;
    m.log.info(
        "taskpollerd 0.1.0 serving on {} (region {}, API {} by default: {} {})",
        m.listen_fd ? std::string("the socket-activated descriptor") : m.config->control.socket,
        m.config->cloud.region, v3 ? "3.0" : "2.0", config::to_string(m.config->cloud.scheme),
        v3 ? fmt::format("<service>.{}tencentcloudapi.com",
                         m.config->cloud.endpoint == config::endpoint_kind::intl       ? "intl."
                         : m.config->cloud.endpoint == config::endpoint_kind::regional ? "<region>."
                                                                                       : "")
           : m.config->cloud.host_suffix);
    m.notify.ready(m.status_line());
    return {};
}

asio::awaitable<reload_report> app::reload() {
    auto& m = *impl_;
    if (auto refused = m.reloads.begin()) {
        reload_report report;
        report.errors.push_back(*refused);
        co_return report;
    }
    // A throw below must not leave reloads refused for good ("already running").
    core::scope_exit end_reload([&m] { m.reloads.abort(); });
    m.notify.reloading();
    auto loaded = config::load_file(m.config_path, config::process_environment());
    std::vector<std::string> errors;
    for (const auto& e : loaded.errors) errors.push_back(e.to_string());
    std::shared_ptr<config::daemon_config> effective;
    std::optional<engine::tracker_config> t;
    std::optional<control::server_options> server_options;
    if (loaded.ok()) {
        effective = std::make_shared<config::daemon_config>(
            config::apply_reloadable(*m.config, *loaded.config));
        if (auto r = tracker_settings(*effective)) {
            t = std::move(*r);
        } else {
            errors.push_back(r.error().message);
        }
        if (auto r = server_settings(*effective, m.listen_fd.value_or(-1))) {
            server_options = std::move(*r);
        } else {
            errors.push_back(r.error().message);
        }
    }
    auto report = m.reloads.conclude(*m.config, loaded.ok() ? loaded.config.get() : nullptr,
                                     std::move(errors));
    if (report.applied) {
        m.tracker->reconfigure(std::move(*t), credentials_of(*effective));
        m.logs.apply(log_settings(*effective));
        m.store.set_retention(store_settings(*effective).retention);
        if (m.server) m.server->reconfigure(*server_options);
        if (m.api) {
            m.api->max_wait =
                std::chrono::duration_cast<std::chrono::milliseconds>(effective->control.max_wait);
        }
        m.config = std::move(effective);
        m.watch_credentials();
        m.spawn_cloud_check();
    }
    for (const auto& [level, line] : reload_sequence::log_lines(report, m.config_path.string()))
        m.log.log(level, "{}", line);
    if (m.api) control::set_reload_successful(*m.api, report.applied);
    m.notify.reloaded(m.status_line());
    co_return report;
}

void app::shutdown() {
    auto& m = *impl_;
    if (m.stopping) return;
    m.stopping = true;
    m.reloads.stopping();
    m.log.info("shutting down: finishing requests in flight (up to {} s)", shutdown_grace.count());
    m.notify.stopping();
    m.housekeeping.cancel();
    // One deadline for the whole shutdown: control requests get the grace period, cloud calls
    // in flight end when the HTTP client is shut down; whatever is left at the deadline is
    // stopped.
    m.shutdown_deadline.expires_after(shutdown_deadline);
    m.shutdown_deadline.async_wait([this](boost::system::error_code ec) {
        if (!ec) impl_->finish_shutdown(true);
    });
    m.server->shutdown(shutdown_grace, [this] {
        auto& mm = *impl_;
        mm.tracker->stop();
        mm.http.shutdown();
        mm.tracker->async_drain([this] {
            auto& d = *impl_;
            if (!d.ledger) return d.finish_shutdown(false);
            // Write what is buffered and hand the lease over before the loop ends.
            asio::co_spawn(d.io, d.ledger->async_stop(),
                           [this](std::exception_ptr) { impl_->finish_shutdown(false); });
        });
    });
}

void app::spawn_reload() {
    auto on_fault = impl_->reload_supervisor();
    asio::co_spawn(impl_->io, reload(),
                   [on_fault](std::exception_ptr e, const reload_report&) { on_fault(e); });
}

int app::exit_status() const noexcept {
    return impl_->exit_status;
}

}  // namespace taskpoller::daemon
