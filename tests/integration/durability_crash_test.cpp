// Issue 7's crash test: the real taskpollerd, journal on (strict), tracking CVM and CLB tasks
// against the real simulator, is killed with SIGKILL at random moments (20 times by default)
// and restarted each time, while a client keeps submitting with client tokens and retries until
// each submission is acknowledged. At the end:
//   - every acknowledged batch is still known, in the state it was acknowledged with or later;
//   - every task the daemon tracks is terminal, with the simulator's ground-truth outcome;
//   - every operation the simulator executed belongs to an acknowledged batch;
//   - no resource received the same submission twice (the simulator's per-resource counts).
// Size: TASKPOLLER_CRASH_TASKS (default 1000; docs/durability.md records a 5,000-task run) and
// TASKPOLLER_CRASH_KILLS (default 20).
#include <gtest/gtest.h>
#include <stdlib.h>

#include <atomic>
#include <boost/json.hpp>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <thread>

#include "ctl/unix_client.hpp"
#include "support/daemon_process.hpp"
#include "support/ground_truth.hpp"
#include "support/http_client.hpp"
#include "support/sim_process.hpp"

namespace json = boost::json;
using namespace std::chrono_literals;
using taskpoller::testing::acked_batch;
using taskpoller::testing::daemon_process;
using taskpoller::testing::daemon_restarter;
using taskpoller::testing::env_int;
using taskpoller::testing::http_client;
using taskpoller::testing::planned_batch;
using taskpoller::testing::sim_process;
using taskpoller::testing::temp_dir;

namespace {

std::string sim_config(int instances) {
    return taskpoller::testing::crash_sim_config(instances, 7);
}

std::string daemon_config(const temp_dir& dir, std::uint16_t sim_port) {
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
           dir.path() +
           "/d.sock, max_connections: 256}\n"
           // Small snapshots: compactions happen during the run, so kills land in them too.
           "store: {journal: " +
           dir.path() +
           "/journal, durability: strict, snapshot_size: 64KiB}\n"
           "logging: {level: info}\n";
}

// The submissions, in order: CVM StopInstances batches of up to 100 instances, and one
// RegisterInstancesWithLoadBalancer per load balancer, interleaved.
std::vector<planned_batch> plan(const std::vector<std::string>& instances, int clb_calls) {
    std::vector<planned_batch> cvm;
    for (std::size_t i = 0; i < instances.size(); i += 100) {
        auto end =
            instances.begin() + static_cast<std::ptrdiff_t>(std::min(instances.size(), i + 100));
        cvm.push_back(taskpoller::testing::cvm_stop_batch(
            "crash-cvm-" + std::to_string(i / 100),
            {instances.begin() + static_cast<std::ptrdiff_t>(i), end}));
    }
    std::vector<planned_batch> out;
    std::size_t c = 0;
    int every = cvm.empty() ? 0 : std::max(1, clb_calls / static_cast<int>(cvm.size()));
    for (int i = 0; i < clb_calls; ++i) {
        if (every > 0 && i % every == 0 && c < cvm.size()) out.push_back(std::move(cvm[c++]));
        out.push_back(taskpoller::testing::lb_register_batch("crash-lb-" + std::to_string(i),
                                                             "lb-crash" + std::to_string(i)));
    }
    for (; c < cvm.size(); ++c) out.push_back(std::move(cvm[c]));
    return out;
}

}  // namespace

TEST(DurabilityCrash, sigkill_at_random_moments_loses_nothing_and_sends_nothing_twice) {
    const int tasks = env_int("TASKPOLLER_CRASH_TASKS", 1000);
    const int kills = env_int("TASKPOLLER_CRASH_KILLS", 20);
    const int cvm_tasks = tasks / 2;
    const int clb_calls = tasks - cvm_tasks;

    sim_process sim(sim_config(cvm_tasks));
    http_client sim_http(sim.port());
    std::vector<std::string> instances;
    auto sim_instances = json::parse(sim_http.get("/_sim/instances").body);
    for (const auto& i : sim_instances.as_object().at("instances").as_array()) {
        instances.emplace_back(i.at("id").as_string());
    }
    ASSERT_EQ(static_cast<int>(instances.size()), cvm_tasks);

    temp_dir dir;
    ::setenv("TASKPOLLER_SECRET_ID", "AKIDz8krbsJ5yKBZQpn74WFkmLPx3gnPhESA", 1);
    ::setenv("TASKPOLLER_SECRET_KEY", "Gu5t9xGARNpq86cd98joQYCN3Cozk1qA", 1);
    auto config = dir.write("taskpoller.yaml", daemon_config(dir, sim.port()));
    daemon_process daemon(config, dir.path() + "/d.sock", dir.path() + "/daemon.log");
    daemon.start();

    auto submissions = plan(instances, clb_calls);
    std::mutex mu;  // guards `daemon` between the killer and the final checks
    // Kills at random moments, spread over the submissions and the polling that follows.
    daemon_restarter killer(
        daemon, mu,
        {.min_pause = 150ms,
         .max_pause = 900ms,
         .sigterm_share = 0.0,
         .max_restarts = kills,
         .seed = static_cast<unsigned>(env_int("TASKPOLLER_CRASH_SEED", 1234))});

    // The client: submits each planned batch until it is acknowledged (202 new, 200 repeated
    // token), retrying with the same client token across crashes.
    taskpoller::ctl::client_options client;
    client.socket_path = daemon.socket_path();
    client.timeout = 20s;
    std::vector<acked_batch> acknowledged;
    int transport_retries = 0;
    std::string client_error;
    auto pace = std::chrono::milliseconds(
        std::max(1, 8000 / std::max<int>(1, static_cast<int>(submissions.size()))));
    for (const auto& p : submissions) {
        auto r = taskpoller::testing::submit_until_acknowledged(client, p, 120s);
        transport_retries += r.retries;
        if (!r.ack) {
            client_error = r.error;
            break;
        }
        acknowledged.push_back(std::move(*r.ack));
        std::this_thread::sleep_for(pace);
    }
    // Let the kills planned for the polling phase happen, then stop the killer.
    auto kills_deadline = std::chrono::steady_clock::now() + 60s;
    while (killer.kills() < kills && killer.error().empty() &&
           std::chrono::steady_clock::now() < kills_deadline) {
        std::this_thread::sleep_for(50ms);
    }
    killer.stop();
    ASSERT_EQ(killer.error(), "");
    ASSERT_EQ(client_error, "") << daemon.log_tail();
    ASSERT_EQ(killer.kills(), kills);
    ASSERT_EQ(acknowledged.size(), submissions.size());

    // Every task terminal: wait for the daemon to finish polling what it tracks.
    ASSERT_EQ(taskpoller::testing::wait_until_settled(client, 240s), "") << daemon.log_tail();

    auto report = taskpoller::testing::check_against_simulator(client, sim_http, acknowledged);
    for (std::size_t i = 0; i < report.violations.size() && i < 50; ++i) {
        ADD_FAILURE() << report.violations[i];
    }
    EXPECT_EQ(report.violations.size(), 0u);
    // The run did something: most submissions were answered (a lost answer makes a whole CVM
    // batch of 100 unknown, so this is a loose bound; the exact checks are above).
    EXPECT_GE(report.tasks_checked, static_cast<std::size_t>(tasks) / 2);

    std::lock_guard lock(mu);
    EXPECT_EQ(daemon.stop(SIGTERM), 0) << daemon.log_tail();
    std::printf(
        "crash test: %d kills, %zu submissions acknowledged (%zu unknown), %zu tasks "
        "checked against the simulator, %zu resources executed once each, %d client "
        "retries, %zu violations\n",
        killer.kills(), acknowledged.size(), report.batch_states["unknown"], report.tasks_checked,
        report.executed_resources, transport_retries, report.violations.size());
}

// Issue 16: two daemons with different sockets but the same store.journal both started and
// both replayed it. The second now refuses, naming the lock file and the first one's pid.
TEST(DurabilityCrash, a_second_daemon_on_the_same_journal_refuses_to_start) {
    sim_process sim(sim_config(1));
    temp_dir dir;
    ::setenv("TASKPOLLER_SECRET_ID", "AKIDz8krbsJ5yKBZQpn74WFkmLPx3gnPhESA", 1);
    ::setenv("TASKPOLLER_SECRET_KEY", "Gu5t9xGARNpq86cd98joQYCN3Cozk1qA", 1);
    auto first_config = daemon_config(dir, sim.port());
    auto second_config = first_config;
    auto at = second_config.find("/d.sock");
    ASSERT_NE(at, std::string::npos);
    second_config.replace(at, 7, "/e.sock");
    daemon_process first(dir.write("first.yaml", first_config), dir.path() + "/d.sock",
                         dir.path() + "/first.log");
    daemon_process second(dir.write("second.yaml", second_config), dir.path() + "/e.sock",
                          dir.path() + "/second.log");
    first.start();
    EXPECT_THROW(second.start(10s), std::runtime_error);
    auto log = second.log_tail();
    EXPECT_NE(log.find(dir.path() + "/journal.lock is locked by another taskpollerd (pid " +
                       std::to_string(first.pid()) + ")"),
              std::string::npos)
        << log;
    EXPECT_EQ(first.stop(SIGTERM), 0) << first.log_tail();
    second.start();  // the lock went with the first daemon
    EXPECT_EQ(second.stop(SIGTERM), 0) << second.log_tail();
}
