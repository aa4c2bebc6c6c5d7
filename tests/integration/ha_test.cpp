// Issue 19's high-availability test: three real taskpollerd share one ledger in a private
// PostgreSQL 15 (store.backend: postgres), tracking CVM and CLB tasks against the real
// simulator, while the leader is killed with SIGKILL at random moments, paused with SIGSTOP for
// longer than the lease ttl and resumed, PostgreSQL is restarted, and the leader's database
// backends are terminated. A client submits with client tokens to whichever daemon accepts
// (followers answer 503), retrying until each submission is acknowledged. A daemon that exits
// on its own (status 75 after losing the lease) is started again, as systemd would.
// At the end:
//   - every acknowledged batch is known, terminal, and every task has the simulator's
//     ground-truth outcome; nothing ran twice (the simulator's per-resource counts);
//   - every node answers the same lists of batches and tasks;
//   - each takeover (kill → a new leader) is timed: goal ttl + 2 s.
// Size: TASKPOLLER_HA_TASKS (default 400), TASKPOLLER_HA_KILLS (default 3), TASKPOLLER_HA_TTL_MS
// (default 2000). docs/ha.md records a 5,000-task, 10-kill run.
#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>

#include <algorithm>
#include <atomic>
#include <boost/json.hpp>
#include <map>
#include <mutex>
#include <random>
#include <sstream>
#include <thread>

#include "ctl/unix_client.hpp"
#include "support/daemon_process.hpp"
#include "support/ground_truth.hpp"
#include "support/http_client.hpp"
#include "support/pg_cluster.hpp"
#include "support/sim_process.hpp"

namespace json = boost::json;
using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;
using taskpoller::testing::acked_batch;
using taskpoller::testing::daemon_process;
using taskpoller::testing::env_int;
using taskpoller::testing::http_client;
using taskpoller::testing::planned_batch;
using taskpoller::testing::sim_process;
using taskpoller::testing::temp_dir;

namespace {

std::string sim_config(int instances) {
    return taskpoller::testing::crash_sim_config(instances, 11);
}

std::string daemon_config(const temp_dir& dir, std::uint16_t sim_port, const std::string& node,
                          int ttl_ms) {
    return "cloud:\n"
           "  region: ap-guangzhou\n"
           "  scheme: http\n"
           "  connect_to: \"127.0.0.1:" +
           std::to_string(sim_port) +
           "\"\n"
           "polling: {initial_delay: 300ms, interval: 300ms, max_interval: 1s, timeout: 10m, "
           "settle_delay: 300ms}\n"
           "rate_limit: {default: 1000, burst: 1000}\n"
           "control: {socket: " +
           dir.path() + "/" + node +
           ".sock, max_connections: 256}\n"
           "store:\n"
           "  backend: postgres\n"
           "  postgres:\n"
           "    conninfo_file: " +
           dir.path() +
           "/pg.conninfo\n"
           "    node: " +
           node +
           "\n"
           "    lease_ttl: " +
           std::to_string(ttl_ms) +
           "ms\n"
           "logging: {level: info}\n";
}

std::vector<planned_batch> plan(const std::vector<std::string>& instances, int clb_calls) {
    std::vector<planned_batch> out;
    std::size_t next_cvm = 0;
    for (int i = 0; i < clb_calls || next_cvm < instances.size(); ++i) {
        if (next_cvm < instances.size() && i % 3 == 0) {
            auto begin = instances.begin() + static_cast<std::ptrdiff_t>(next_cvm);
            auto end = instances.begin() +
                       static_cast<std::ptrdiff_t>(std::min(instances.size(), next_cvm + 50));
            out.push_back(taskpoller::testing::cvm_stop_batch("ha-cvm-" + std::to_string(next_cvm),
                                                              {begin, end}));
            next_cvm += 50;
        }
        if (i >= clb_calls) continue;
        out.push_back(taskpoller::testing::lb_register_batch("ha-lb-" + std::to_string(i),
                                                             "lb-ha" + std::to_string(i)));
    }
    return out;
}

// Every daemon's log lines that mention `what` (a failure's context).
std::string grep_logs(const temp_dir& dir, const std::string& what) {
    std::string out;
    for (const char* node : {"host-a", "host-b", "host-c"}) {
        std::istringstream in(taskpoller::testing::read_file(dir.path() + "/" + node + ".log"));
        for (std::string line; std::getline(in, line);) {
            if (line.find(what) != std::string::npos) out += std::string(node) + ": " + line + "\n";
        }
    }
    return out;
}

taskpoller::ctl::client_options client_for(const daemon_process& d) {
    taskpoller::ctl::client_options c;
    c.socket_path = d.socket_path();
    c.timeout = 20s;
    return c;
}

// The daemons, their supervision (restart what exits, as systemd's Restart=on-failure), and
// questions about who leads. Every use of `d` holds `mu`.
struct cluster {
    std::vector<std::unique_ptr<daemon_process>> d;
    std::vector<bool> paused;
    std::mutex mu;
    std::atomic<int> restarts_after_exit{0};
    std::map<int, int> exit_statuses;
    std::string first_bad_exit;  // the log of the first daemon that exited otherwise

    json::object status_of(std::size_t i) {
        if (!d[i]->running() || paused[i]) return {};
        auto c = client_for(*d[i]);
        c.timeout = 2s;
        auto r = taskpoller::ctl::send_request(c, "GET", "/v1/status");
        if (!r || r->status != 200) return {};
        boost::system::error_code ec;
        auto v = json::parse(r->body, ec);
        return !ec && v.is_object() ? v.as_object() : json::object{};
    }
    std::optional<std::size_t> leader() {
        for (std::size_t i = 0; i < d.size(); ++i) {
            auto s = status_of(i);
            if (s.contains("role") && s.at("role") == "leader") return i;
        }
        return std::nullopt;
    }
    void supervise() {
        for (std::size_t i = 0; i < d.size(); ++i) {
            if (paused[i]) continue;
            if (auto st = d[i]->reap_if_exited()) {
                ++exit_statuses[*st];
                if (*st != 75 && first_bad_exit.empty())
                    first_bad_exit = d[i]->socket_path() + ":\n" + d[i]->log_tail(40);
                ++restarts_after_exit;
                d[i]->start();
            }
        }
    }
};

}  // namespace

TEST(HighAvailability, three_daemons_lose_nothing_and_send_nothing_twice_through_leader_faults) {
    const int tasks = env_int("TASKPOLLER_HA_TASKS", 400);
    const int kills = env_int("TASKPOLLER_HA_KILLS", 3);
    const int ttl_ms = env_int("TASKPOLLER_HA_TTL_MS", 2000);
    const int cvm_tasks = tasks / 2;
    const int clb_calls = tasks - cvm_tasks;

    taskpoller::testing::pg_cluster pg;
    const auto db = pg.create_database("ha");
    sim_process sim(sim_config(cvm_tasks));
    http_client sim_http(sim.port());
    std::vector<std::string> instances;
    auto sim_instances = json::parse(sim_http.get("/_sim/instances").body);
    for (const auto& i : sim_instances.as_object().at("instances").as_array())
        instances.emplace_back(i.at("id").as_string());
    ASSERT_EQ(static_cast<int>(instances.size()), cvm_tasks);

    temp_dir dir;
    ::setenv("TASKPOLLER_SECRET_ID", "AKIDz8krbsJ5yKBZQpn74WFkmLPx3gnPhESA", 1);
    ::setenv("TASKPOLLER_SECRET_KEY", "Gu5t9xGARNpq86cd98joQYCN3Cozk1qA", 1);
    dir.write("pg.conninfo", pg.conninfo(db) + "\n");
    cluster c;
    for (const char* node : {"host-a", "host-b", "host-c"}) {
        auto config =
            dir.write(std::string(node) + ".yaml", daemon_config(dir, sim.port(), node, ttl_ms));
        c.d.push_back(std::make_unique<daemon_process>(config, dir.path() + "/" + node + ".sock",
                                                       dir.path() + "/" + node + ".log"));
        c.paused.push_back(false);
    }
    auto logs = [&] {
        std::string out;
        for (auto& d : c.d) out += d->socket_path() + ":\n" + d->log_tail(15) + "\n";
        return out;
    };
    c.d[0]->start();
    for (int i = 0; i < 100 && !c.leader(); ++i) std::this_thread::sleep_for(50ms);
    ASSERT_EQ(c.leader(), std::optional<std::size_t>(0)) << logs();
    c.d[1]->start();
    c.d[2]->start();

    // The faults, on their own thread, spread over the submissions and the polling after them.
    std::vector<double> takeovers_s;
    std::vector<std::string> fault_log;
    std::string fault_error;
    std::atomic<bool> faults_done{false};
    std::atomic<bool> stop_faults{false};
    std::thread faults([&] {
        std::mt19937 rng(static_cast<unsigned>(env_int("TASKPOLLER_HA_SEED", 4321)));
        std::uniform_int_distribution<int> pause_ms(300, 1500);
        std::vector<std::string> plan_faults;
        for (int k = 0; k < kills; ++k) plan_faults.emplace_back("kill");
        plan_faults.insert(plan_faults.begin() + std::min<int>(1, kills), "sigstop");
        plan_faults.insert(plan_faults.begin() + std::min<int>(2, kills + 1), "pg_restart");
        plan_faults.emplace_back("terminate_backends");
        for (const auto& f : plan_faults) {
            std::this_thread::sleep_for(std::chrono::milliseconds(pause_ms(rng)));
            if (stop_faults) break;
            std::unique_lock lock(c.mu);
            c.supervise();
            std::optional<std::size_t> leader;
            for (int i = 0; i < 200 && !(leader = c.leader()); ++i) {
                lock.unlock();
                std::this_thread::sleep_for(50ms);
                lock.lock();
                c.supervise();
            }
            if (!leader) {
                fault_error = "no leader before fault " + f;
                break;
            }
            auto t0 = steady::now();
            if (f == "kill") {
                c.d[*leader]->kill_hard();
            } else if (f == "sigstop") {
                c.d[*leader]->signal(SIGSTOP);
                c.paused[*leader] = true;
            } else if (f == "pg_restart") {
                pg.restart();
            } else {
                pg.terminate_backends(db);
            }
            if (f == "kill" || f == "sigstop") {
                std::optional<std::size_t> next;
                while (steady::now() - t0 < 30s) {
                    next = c.leader();
                    if (next && *next != *leader) break;
                    lock.unlock();
                    std::this_thread::sleep_for(20ms);
                    lock.lock();
                }
                if (!next || *next == *leader) {
                    fault_error = "no takeover after " + f;
                    break;
                }
                takeovers_s.push_back(std::chrono::duration<double>(steady::now() - t0).count());
                fault_log.push_back(f + " of node " + std::to_string(*leader) + ": node " +
                                    std::to_string(*next) + " leads after " +
                                    std::to_string(takeovers_s.back()) + " s");
                if (f == "kill") {
                    c.d[*leader]->start();
                } else {
                    // SIGCONT the zombie: it must not send anything; it exits (75) and is
                    // started again as a follower by supervise().
                    std::this_thread::sleep_for(std::chrono::milliseconds(ttl_ms));
                    c.d[*leader]->signal(SIGCONT);
                    c.paused[*leader] = false;
                }
            } else {
                fault_log.push_back(f);
            }
        }
        faults_done = true;
    });
    std::atomic<bool> supervising{true};
    // However the test ends (a failed ASSERT returns early), the threads stop and are joined.
    struct joiner {
        std::function<void()> stop;
        ~joiner() { stop(); }
    } join_all{[&] {
        stop_faults = true;
        supervising = false;
        if (faults.joinable()) faults.join();
    }};
    std::thread supervisor([&] {
        while (supervising) {
            {
                std::lock_guard lock(c.mu);
                try {
                    c.supervise();
                } catch (const std::exception& e) {
                    fault_error = std::string("restart failed: ") + e.what();
                }
            }
            std::this_thread::sleep_for(100ms);
        }
    });
    joiner join_supervisor{[&] {
        supervising = false;
        if (supervisor.joinable()) supervisor.join();
    }};

    // The client: each planned batch to whichever daemon acknowledges it (202 or 200), with the
    // same client token every time.
    auto submissions = plan(instances, clb_calls);
    std::vector<acked_batch> acknowledged;
    std::string client_error;
    int refusals = 0;
    for (const auto& p : submissions) {
        auto give_up = steady::now() + 120s;
        std::optional<acked_batch> ack;
        for (std::size_t round = 0; !ack && steady::now() < give_up; ++round) {
            taskpoller::ctl::client_options o;
            {
                std::lock_guard lock(c.mu);
                auto& d = *c.d[round % c.d.size()];
                if (!d.running() || c.paused[round % c.d.size()]) continue;
                o = client_for(d);
            }
            o.timeout = 5s;
            auto r = taskpoller::ctl::send_request(o, "POST", "/v1/batches", p.body);
            if (r && (r->status == 202 || r->status == 200)) {
                auto b = json::parse(r->body).as_object();
                ack = acked_batch{p.token, std::string(b.at("id").as_string()),
                                  std::string(b.at("state").as_string()), p.resources};
                break;
            }
            if (r && r->status != 503) {
                client_error = "status " + std::to_string(r->status) + ": " + r->body;
                break;
            }
            ++refusals;
            if (round % c.d.size() == c.d.size() - 1) std::this_thread::sleep_for(50ms);
        }
        if (!client_error.empty()) {
            client_error += "\n" + grep_logs(dir, p.token);
            break;
        }
        if (!ack) {
            client_error = "not acknowledged within 120 s: " + p.token;
            break;
        }
        acknowledged.push_back(std::move(*ack));
    }
    faults.join();
    ASSERT_EQ(fault_error, "") << logs();
    ASSERT_EQ(client_error, "") << logs();
    ASSERT_EQ(acknowledged.size(), submissions.size());

    // Settled on the leader, then every node caught up to the same seq.
    std::optional<std::size_t> leader;
    for (int i = 0; i < 200 && !leader; ++i) {
        {
            std::lock_guard lock(c.mu);
            leader = c.leader();
        }
        if (!leader) std::this_thread::sleep_for(50ms);
    }
    ASSERT_TRUE(leader) << logs();
    auto leader_client = client_for(*c.d[*leader]);
    ASSERT_EQ(taskpoller::testing::wait_until_settled(leader_client, 240s), "") << logs();
    supervising = false;
    if (supervisor.joinable()) supervisor.join();

    auto report =
        taskpoller::testing::check_against_simulator(leader_client, sim_http, acknowledged);
    for (std::size_t i = 0; i < report.violations.size() && i < 50; ++i)
        ADD_FAILURE() << report.violations[i];
    EXPECT_EQ(report.violations.size(), 0u);
    EXPECT_GE(report.tasks_checked, static_cast<std::size_t>(tasks) / 2);

    // Followers answer the same as the leader.
    auto seq_of = [&](std::size_t i) {
        auto s = c.status_of(i);
        return s.contains("events") ? s.at("events").at("seq").to_number<std::uint64_t>() : 0;
    };
    auto target = seq_of(*leader);
    for (std::size_t i = 0; i < c.d.size(); ++i) {
        for (int k = 0; k < 200 && seq_of(i) < target; ++k) std::this_thread::sleep_for(50ms);
        EXPECT_EQ(seq_of(i), target) << "node " << i;
    }
    auto batches = taskpoller::testing::list_all(leader_client, "/v1/batches", "batches");
    auto tasks_seen = taskpoller::testing::list_all(leader_client, "/v1/tasks", "tasks");
    for (std::size_t i = 0; i < c.d.size(); ++i) {
        if (i == *leader) continue;
        auto o = client_for(*c.d[i]);
        auto fb = taskpoller::testing::list_all(o, "/v1/batches", "batches");
        auto ft = taskpoller::testing::list_all(o, "/v1/tasks", "tasks");
        // expected_finish_at depends on each node's own learning: compared without it.
        // `polls` too: the leader counts polls that saw nothing new without a change.
        auto strip = [](std::vector<json::object> v) {
            for (auto& x : v) {
                x.erase("expected_finish_at");
                x.erase("polls");
            }
            return v;
        };
        EXPECT_EQ(strip(fb), strip(batches)) << "node " << i << " batches differ";
        EXPECT_EQ(strip(ft), strip(tasks_seen)) << "node " << i << " tasks differ";
    }

    // Nothing crashed: a daemon exits on its own only after losing the lease (75).
    for (auto [st, n] : c.exit_statuses) {
        EXPECT_EQ(st, 75) << n << " exit(s) with status " << st << "; the first:\n"
                          << c.first_bad_exit;
    }
    std::sort(takeovers_s.begin(), takeovers_s.end());
    for (double t : takeovers_s) {
        EXPECT_LT(t, ttl_ms / 1000.0 + 2.0) << "takeover too slow";
    }
    for (auto& d : c.d) {
        if (d->running()) {
            EXPECT_EQ(d->stop(SIGTERM), 0) << d->log_tail();
        }
    }
    std::string exits;
    for (auto [st, n] : c.exit_statuses)
        exits += " " + std::to_string(n) + "×" + std::to_string(st);
    std::printf(
        "ha test: %zu submissions acknowledged (%zu unknown), %zu tasks checked against the "
        "simulator, %zu resources executed once each, %d refusals retried elsewhere, %zu "
        "violations; restarts after an exit:%s\n",
        acknowledged.size(), report.batch_states["unknown"], report.tasks_checked,
        report.executed_resources, refusals, report.violations.size(), exits.c_str());
    for (const auto& f : fault_log) std::printf("  %s\n", f.c_str());
    if (!takeovers_s.empty()) {
        std::printf("  takeover (ttl %d ms): min %.2f s, median %.2f s, max %.2f s over %zu\n",
                    ttl_ms, takeovers_s.front(), takeovers_s[takeovers_s.size() / 2],
                    takeovers_s.back(), takeovers_s.size());
    }
}
