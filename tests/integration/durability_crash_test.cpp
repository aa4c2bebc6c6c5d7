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

#include "support/daemon_process.hpp"
#include "support/http_client.hpp"
#include "support/sim_process.hpp"
#include "ctl/unix_client.hpp"

namespace json = boost::json;
using namespace std::chrono_literals;
using taskpoller::testing::daemon_process;
using taskpoller::testing::http_client;
using taskpoller::testing::sim_process;
using taskpoller::testing::temp_dir;

namespace {

int env_int(const char* name, int fallback) {
    const char* v = std::getenv(name);
    return v != nullptr && *v != '\0' ? std::atoi(v) : fallback;
}

std::string sim_config(int instances) {
    return "instances: {running: " + std::to_string(instances) +
           ", stopped: 0}\n"
           "stale_window: 300ms\n"
           "rate_limits: {enabled: false}\n"
           "operations: {default: {duration: {min: 500ms, max: 4s}, failure_probability: 0.1}}\n"
           "seed: 7\n";
}

std::string daemon_config(const temp_dir& dir, std::uint16_t sim_port) {
    return "cloud:\n"
           "  region: ap-guangzhou\n"
           "  scheme: http\n"
           "  connect_to: \"127.0.0.1:" + std::to_string(sim_port) + "\"\n"
           "polling: {initial_delay: 300ms, interval: 300ms, max_interval: 1s, timeout: 10m, "
           "settle_delay: 300ms}\n"
           "rate_limit: {default: 1000, burst: 1000}\n"
           "control: {socket: " + dir.path() + "/d.sock, max_connections: 256}\n"
           // Small snapshots: compactions happen during the run, so kills land in them too.
           "store: {journal: " + dir.path() + "/journal, durability: strict, snapshot_size: 64KiB}\n"
           "logging: {level: info}\n";
}

struct planned {
    std::string token;
    std::string body;
    std::vector<std::string> resources;
};

struct acked {
    std::string token;
    std::string batch_id;
    std::string state;
    std::vector<std::string> resources;
};

// The submissions, in order: CVM StopInstances batches of up to 100 instances, and one
// RegisterInstancesWithLoadBalancer per load balancer, interleaved.
std::vector<planned> plan(const std::vector<std::string>& instances, int clb_calls) {
    std::vector<planned> cvm;
    for (std::size_t i = 0; i < instances.size(); i += 100) {
        planned p;
        p.token = "crash-cvm-" + std::to_string(i / 100);
        json::array ids;
        for (std::size_t k = i; k < std::min(instances.size(), i + 100); ++k) {
            ids.emplace_back(instances[k]);
            p.resources.push_back(instances[k]);
        }
        p.body = json::serialize(json::object{{"service", "cvm"},
                                              {"action", "StopInstances"},
                                              {"params", {{"instanceIds", ids}}},
                                              {"client_token", p.token}});
        cvm.push_back(std::move(p));
    }
    std::vector<planned> out;
    std::size_t c = 0;
    int every = cvm.empty() ? 0 : std::max(1, clb_calls / static_cast<int>(cvm.size()));
    for (int i = 0; i < clb_calls; ++i) {
        if (every > 0 && i % every == 0 && c < cvm.size()) out.push_back(std::move(cvm[c++]));
        planned p;
        p.token = "crash-lb-" + std::to_string(i);
        std::string lb = "lb-crash" + std::to_string(i);
        p.resources.push_back(lb);
        p.body = json::serialize(json::object{
            {"service", "lb"},
            {"action", "RegisterInstancesWithLoadBalancer"},
            {"params",
             {{"loadBalancerId", lb},
              {"backends", json::array{json::object{{"instanceId", "ins-backend"}, {"weight", 10}}}}}},
            {"client_token", p.token}});
        out.push_back(std::move(p));
    }
    for (; c < cvm.size(); ++c) out.push_back(std::move(cvm[c]));
    return out;
}

json::value get_json(http_client& sim, const std::string& target) {
    auto r = sim.get(target);
    if (r.status != 200) throw std::runtime_error(target + ": HTTP " + std::to_string(r.status));
    return json::parse(r.body);
}

}  // namespace

TEST(durability_crash, sigkill_at_random_moments_loses_nothing_and_sends_nothing_twice) {
    const int tasks = env_int("TASKPOLLER_CRASH_TASKS", 1000);
    const int kills = env_int("TASKPOLLER_CRASH_KILLS", 20);
    const int cvm_tasks = tasks / 2;
    const int clb_calls = tasks - cvm_tasks;

    sim_process sim(sim_config(cvm_tasks));
    http_client sim_http(sim.port());
    std::vector<std::string> instances;
    auto sim_instances = get_json(sim_http, "/_sim/instances");
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
    std::atomic<bool> submitting_done{false};
    std::atomic<int> killed{0};
    std::string killer_error;

    // Kills at random moments, spread over the submissions and the polling that follows.
    std::thread killer([&] {
        std::mt19937 rng(env_int("TASKPOLLER_CRASH_SEED", 1234));
        std::uniform_int_distribution<int> pause_ms(150, 900);
        for (int k = 0; k < kills; ++k) {
            std::this_thread::sleep_for(std::chrono::milliseconds(pause_ms(rng)));
            std::lock_guard lock(mu);
            daemon.kill_hard();
            ++killed;
            try {
                daemon.start();
            } catch (const std::exception& e) {
                killer_error = e.what();
                return;
            }
        }
    });

    // The client: submits each planned batch until it is acknowledged (202 new, 200 repeated
    // token), retrying with the same client token across crashes.
    taskpoller::ctl::client_options client;
    client.socket_path = daemon.socket_path();
    client.timeout = 20s;
    std::vector<acked> acknowledged;
    int transport_retries = 0;
    std::string client_error;
    auto pace = std::chrono::milliseconds(std::max(1, 8000 / std::max<int>(1, static_cast<int>(submissions.size()))));
    for (const auto& p : submissions) {
        auto give_up = std::chrono::steady_clock::now() + 120s;
        for (;;) {
            auto r = taskpoller::ctl::send_request(client, "POST", "/v1/batches", p.body);
            if (r && (r->status == 202 || r->status == 200)) {
                auto b = json::parse(r->body).as_object();
                acknowledged.push_back({p.token, std::string(b.at("id").as_string()),
                                        std::string(b.at("state").as_string()), p.resources});
                break;
            }
            if (r && r->status != 503) {
                client_error = p.token + ": HTTP " + std::to_string(r->status) + " " + r->body;
                break;
            }
            ++transport_retries;  // the daemon is down (or starting): try again
            if (std::chrono::steady_clock::now() > give_up) {
                client_error = p.token + ": never acknowledged";
                break;
            }
            std::this_thread::sleep_for(50ms);
        }
        if (!client_error.empty()) break;
        std::this_thread::sleep_for(pace);
    }
    submitting_done = true;
    killer.join();
    ASSERT_EQ(killer_error, "");
    ASSERT_EQ(client_error, "") << daemon.log_tail();
    ASSERT_EQ(killed.load(), kills);
    ASSERT_EQ(acknowledged.size(), submissions.size());

    // Every task terminal: wait for the daemon to finish polling what it tracks.
    auto deadline = std::chrono::steady_clock::now() + 240s;
    json::object status;
    for (;;) {
        auto r = taskpoller::ctl::send_request(client, "GET", "/v1/status");
        ASSERT_TRUE(r && r->status == 200) << daemon.log_tail();
        status = json::parse(r->body).as_object();
        const auto& t = status.at("tasks").as_object();
        if (t.at("pending").as_int64() + t.at("running").as_int64() == 0) break;
        ASSERT_LT(std::chrono::steady_clock::now(), deadline) << json::serialize(status);
        std::this_thread::sleep_for(500ms);
    }

    // Ground truth from the simulator.
    std::map<std::string, std::string> sim_state;  // request_id -> succeeded|failed|running
    auto sim_tasks = get_json(sim_http, "/_sim/tasks");
    for (const auto& t : sim_tasks.as_object().at("tasks").as_array()) {
        sim_state[std::string(t.at("request_id").as_string())] = std::string(t.at("state").as_string());
    }
    auto stats = get_json(sim_http, "/_sim/stats").as_object();
    std::set<std::string> executed;
    for (const auto& [resource, actions] : stats.at("resources").as_object()) {
        for (const auto& [action, n] : actions.as_object()) {
            EXPECT_EQ(n.as_int64(), 1) << resource << " received " << action << " "
                                       << n.as_int64() << " times";
        }
        executed.insert(std::string(resource));
    }

    // Every acknowledged batch is known; its tasks are terminal with the simulator's outcome.
    std::set<std::string> acked_resources;
    std::set<std::string> accepted_resources;  // an entry with a requestId: a tracked task
    std::set<std::string> unknown_resources;   // an entry whose outcome was lost
    int unknown_batches = 0;
    std::size_t checked_tasks = 0;
    for (const auto& a : acknowledged) {
        for (const auto& r : a.resources) acked_resources.insert(r);
        auto r = taskpoller::ctl::send_request(client, "GET", "/v1/batches/" + a.batch_id);
        ASSERT_TRUE(r) << a.batch_id;
        ASSERT_EQ(r->status, 200u) << a.token << " " << a.batch_id << " acknowledged as " << a.state
                                   << " is missing: " << r->body;
        auto b = json::parse(r->body).as_object();
        std::string state(b.at("state").as_string());
        if (state == "unknown") {
            ++unknown_batches;
            // A batch whose answer was lost lists exactly the resources the client asked for.
            std::vector<std::string> named;
            for (const auto& e : b.at("entries").as_array()) {
                named.emplace_back(e.at("resource_id").as_string());
            }
            EXPECT_EQ(named, a.resources) << a.batch_id;
        }
        if (a.state == "submitted" || a.state == "done") {
            EXPECT_EQ(state, "done") << a.batch_id;
        }
        for (const auto& e : b.at("entries").as_array()) {
            const auto& entry = e.as_object();
            std::string resource(entry.at("resource_id").as_string());
            if (entry.at("state").as_string() == "unknown") unknown_resources.insert(resource);
            if (entry.at("request_id").is_null()) continue;  // rejected or unknown entry
            accepted_resources.insert(resource);
            std::string rid(entry.at("request_id").as_string());
            std::string task_state(entry.at("state").as_string());  // its task's state
            auto truth = sim_state.find(rid);
            ASSERT_NE(truth, sim_state.end()) << rid << " unknown to the simulator";
            EXPECT_EQ(task_state, truth->second) << a.batch_id << " " << rid;
            ++checked_tasks;
        }
    }
    for (const auto& r : executed) {
        EXPECT_TRUE(acked_resources.count(r)) << r << " was executed but no client was told";
        // Executed: either tracked to the end, or in a batch whose outcome was lost (unknown).
        EXPECT_TRUE(accepted_resources.count(r) || unknown_resources.count(r))
            << r << " was executed but is neither tracked nor marked unknown";
    }
    for (const auto& r : accepted_resources) {
        EXPECT_TRUE(executed.count(r)) << r << " has a requestId but the simulator never ran it";
    }
    // The run did something: most submissions were answered (a lost answer makes a whole CVM
    // batch of 100 unknown, so this is a loose bound; the exact checks are above).
    EXPECT_GE(checked_tasks, static_cast<std::size_t>(tasks) / 2);

    std::lock_guard lock(mu);
    EXPECT_EQ(daemon.stop(SIGTERM), 0) << daemon.log_tail();
    std::printf("crash test: %d kills, %zu submissions acknowledged (%d unknown), %zu tasks "
                "checked against the simulator, %zu resources executed once each, %d client "
                "retries\n",
                killed.load(), acknowledged.size(), unknown_batches, checked_tasks,
                executed.size(), transport_retries);
}
