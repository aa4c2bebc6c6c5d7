// Issue 8's fault soak: the real taskpollerd (journal on, strict) against the real simulator with
// every fault kind the simulator has, throttling (the simulator's rate limits below the daemon's),
// and the daemon restarted at random moments — SIGKILL or SIGTERM — while client threads submit
// CVM and CLB batches with client tokens, retrying across restarts, for the soak duration. Then
// the faults keep going while the daemon finishes polling, and the end-of-run invariants of
// support/ground_truth.hpp are checked: nothing acknowledged is lost, nothing ran twice, every
// task is terminal with the simulator's outcome, every execution is accounted for.
//
// Faults: every kind at TASKPOLLER_SOAK_SUBMIT_FAULTS (default 0.2 each) on the submitting
// actions, where a wrong reading of an ambiguous answer would send something twice or lose it,
// and at TASKPOLLER_SOAK_POLL_FAULTS (default 0.02 each: about 20 % of requests) on the polls,
// so tasks still finish within the drain time.
// Size: TASKPOLLER_SOAK_SECONDS (default 120; 30 under the sanitizers), TASKPOLLER_SOAK_CLIENTS
// (4), TASKPOLLER_SOAK_DRAIN_SECONDS (180), TASKPOLLER_SOAK_SEED (1).
#include <gtest/gtest.h>
#include <stdlib.h>

#include <atomic>
#include <boost/json.hpp>
#include <cstdio>
#include <map>
#include <mutex>
#include <random>
#include <thread>

#include "ctl/unix_client.hpp"
#include "support/daemon_process.hpp"
#include "support/ground_truth.hpp"
#include "support/http_client.hpp"
#include "support/sim_process.hpp"

namespace taskpoller::testing {
namespace {
namespace json = boost::json;
using namespace std::chrono_literals;

#ifdef TASKPOLLER_SANITIZED
constexpr int default_seconds = 30;
#else
constexpr int default_seconds = 120;
#endif

// Every fault kind the simulator injects (docs/simulator.md, sim/faults.hpp).
const char* const fault_kinds[] = {"latency",        "http_500",       "http_502",  "http_503",
                                   "close_before",   "code_6000",      "code_6200", "close_after",
                                   "truncated_json", "malformed_json", "slow_drip"};
const char* const submit_actions[] = {"StopInstances", "StartInstances",
                                      "RegisterInstancesWithLoadBalancer",
                                      "DeregisterInstancesFromLoadBalancer", "DeleteLoadBalancers"};

std::string kinds_at(double p) {
    std::string out = "{";
    for (const char* k : fault_kinds) {
        if (out.size() > 1) out += ", ";
        out += std::string(k) + ": " + std::to_string(p);
    }
    return out + "}";
}

std::string sim_config(int instances, double submit_p, double poll_p, int seed) {
    std::string actions;
    for (const char* a : submit_actions)
        actions += std::string("    ") + a + ": " + kinds_at(submit_p) + "\n";
    std::string limits;
    for (const char* a : submit_actions) limits += std::string(a) + ": 1, ";
    return "instances: {running: " + std::to_string(instances) +
           ", stopped: " + std::to_string(instances) +
           "}\n"
           "stale_window: 300ms\n"
           // Low limits: the daemon is configured for 30/s, so it gets 4400 and must slow down.
           "rate_limits: {enabled: true, default: 5, actions: {" +
           limits +
           "}}\n"
           "operations: {default: {duration: {min: 500ms, max: 4s}, failure_probability: 0.1}}\n"
           "faults:\n"
           "  latency_delay: 100ms\n"
           "  drip_interval: 10ms\n"
           "  drip_chunk: 64\n"
           "  global: " +
           kinds_at(poll_p) +
           "\n"
           "  actions:\n" +
           actions + "seed: " + std::to_string(seed) + "\n";
}

std::string daemon_config(const temp_dir& dir, std::uint16_t sim_port) {
    return "cloud:\n"
           "  region: ap-guangzhou\n"
           "  scheme: http\n"
           "  connect_to: \"127.0.0.1:" +
           std::to_string(sim_port) +
           "\"\n"
           "  connect_timeout: 2s\n"
           "  request_timeout: 10s\n"
           "polling: {initial_delay: 300ms, interval: 300ms, max_interval: 2s, timeout: 30m, "
           "settle_delay: 300ms}\n"
           "rate_limit: {default: 30, burst: 30}\n"
           "control: {socket: " +
           dir.path() +
           "/d.sock, max_connections: 256}\n"
           // Small snapshots: compactions happen during the run, so restarts land in them too.
           "store: {journal: " +
           dir.path() +
           "/journal, durability: strict, snapshot_size: 256KiB, "
           "max_finished: 1000000}\n"
           "logging: {level: info}\n";
}

// Instance ids handed out once each, so every instance is acted on by one call only.
class instance_pool {
  public:
    void add(std::string id, bool running) {
        (running ? running_ : stopped_).push_back(std::move(id));
    }
    std::vector<std::string> take(bool running, std::size_t n) {
        std::lock_guard lock(mu_);
        auto& from = running ? running_ : stopped_;
        n = std::min(n, from.size());
        std::vector<std::string> out(from.end() - static_cast<std::ptrdiff_t>(n), from.end());
        from.resize(from.size() - n);
        return out;
    }

  private:
    std::mutex mu_;
    std::vector<std::string> running_, stopped_;
};

// One random submission: CVM Stop/Start of 1-10 instances, or a CLB call on fresh load
// balancer ids.
planned_batch next_submission(std::mt19937& rng, instance_pool& pool, int client, int n) {
    planned_batch p;
    p.token = "soak-" + std::to_string(client) + "-" + std::to_string(n);
    int kind = std::uniform_int_distribution<int>(0, 4)(rng);
    if (kind <= 1) {
        bool stop = kind == 0;
        auto ids = pool.take(stop, std::uniform_int_distribution<std::size_t>(1, 10)(rng));
        if (!ids.empty()) {
            json::array arr;
            for (const auto& id : ids) arr.emplace_back(id);
            p.resources = ids;
            p.body =
                json::serialize(json::object{{"service", "cvm"},
                                             {"action", stop ? "StopInstances" : "StartInstances"},
                                             {"params", {{"instanceIds", arr}}},
                                             {"client_token", p.token}});
            return p;
        }
        kind = 2;  // the pool ran dry: a CLB call instead
    }
    std::string lb = "lb-soak" + std::to_string(client) + "x" + std::to_string(n);
    if (kind == 4) {
        json::array ids;
        int count = std::uniform_int_distribution<int>(1, 3)(rng);
        for (int i = 0; i < count; ++i) {
            ids.emplace_back(lb + "d" + std::to_string(i));
            p.resources.push_back(lb + "d" + std::to_string(i));
        }
        p.body = json::serialize(json::object{{"service", "lb"},
                                              {"action", "DeleteLoadBalancers"},
                                              {"params", {{"loadBalancerIds", ids}}},
                                              {"client_token", p.token}});
        return p;
    }
    p.resources.push_back(lb);
    p.body = json::serialize(json::object{
        {"service", "lb"},
        {"action",
         kind == 2 ? "RegisterInstancesWithLoadBalancer" : "DeregisterInstancesFromLoadBalancer"},
        {"params",
         {{"loadBalancerId", lb},
          {"backends", json::array{json::object{{"instanceId", "ins-backend"}, {"weight", 10}}}}}},
        {"client_token", p.token}});
    return p;
}

TEST(ReliabilityFaultSoak, faults_throttling_and_restarts_lose_nothing_and_send_nothing_twice) {
    const int seconds = env_int("TASKPOLLER_SOAK_SECONDS", default_seconds);
    const int clients = env_int("TASKPOLLER_SOAK_CLIENTS", 4);
    const int drain_seconds = env_int("TASKPOLLER_SOAK_DRAIN_SECONDS", 180);
    const int seed = env_int("TASKPOLLER_SOAK_SEED", 1);
    const double submit_p = env_double("TASKPOLLER_SOAK_SUBMIT_FAULTS", 0.2);
    const double poll_p = env_double("TASKPOLLER_SOAK_POLL_FAULTS", 0.02);
    // About two submissions per client per second, a fifth of them on 1-10 instances of each kind.
    const int instances = 200 + 3 * seconds * clients;

    sim_process sim(sim_config(instances, submit_p, poll_p, seed));
    http_client sim_http(sim.port(), {}, 60s);
    instance_pool pool;
    auto sim_instances = json::parse(sim_http.get("/_sim/instances").body);
    for (const auto& i : sim_instances.as_object().at("instances").as_array()) {
        pool.add(std::string(i.at("id").as_string()), i.at("status").as_int64() == 2);
    }

    temp_dir dir;
    ::setenv("TASKPOLLER_SECRET_ID", "AKIDz8krbsJ5yKBZQpn74WFkmLPx3gnPhESA", 1);
    ::setenv("TASKPOLLER_SECRET_KEY", "Gu5t9xGARNpq86cd98joQYCN3Cozk1qA", 1);
    auto config = dir.write("taskpoller.yaml", daemon_config(dir, sim.port()));
    daemon_process daemon(config, dir.path() + "/d.sock", dir.path() + "/daemon.log");
    daemon.start();

    std::mutex mu;  // guards `daemon` between the restarter and the final checks
    daemon_restarter restarter(daemon, mu,
                               {.min_pause = 2s,
                                .max_pause = 10s,
                                .sigterm_share = 0.5,
                                .max_restarts = 0,
                                .seed = static_cast<unsigned>(seed)});

    ctl::client_options client;
    client.socket_path = daemon.socket_path();
    client.timeout = 30s;
    const auto soak_end = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
    std::mutex acked_mu;
    std::vector<acked_batch> acknowledged;
    std::atomic<int> retries{0};
    std::vector<std::string> client_errors(static_cast<std::size_t>(clients));
    std::vector<std::thread> threads;
    for (int c = 0; c < clients; ++c) {
        threads.emplace_back([&, c] {
            std::mt19937 rng(static_cast<unsigned>(seed * 1000 + c));
            std::uniform_int_distribution<int> pause_ms(100, 1000);
            for (int n = 0; std::chrono::steady_clock::now() < soak_end; ++n) {
                auto p = next_submission(rng, pool, c, n);
                auto r = submit_until_acknowledged(client, p, 120s);
                retries += r.retries;
                if (!r.ack) {
                    client_errors[static_cast<std::size_t>(c)] = r.error;
                    return;
                }
                {
                    std::lock_guard lock(acked_mu);
                    acknowledged.push_back(std::move(*r.ack));
                }
                std::this_thread::sleep_for(std::chrono::milliseconds(pause_ms(rng)));
            }
        });
    }
    for (auto& t : threads) t.join();
    restarter.stop();
    ASSERT_EQ(restarter.error(), "");
    for (const auto& e : client_errors) ASSERT_EQ(e, "") << daemon.log_tail();
    ASSERT_GT(restarter.kills(), 0);
    ASSERT_GT(restarter.terms(), 0);

    // The faults go on while the daemon finishes polling what it tracks.
    auto drain_started = std::chrono::steady_clock::now();
    ASSERT_EQ(wait_until_settled(client, std::chrono::seconds(drain_seconds)), "")
        << daemon.log_tail();
    auto drain_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                        std::chrono::steady_clock::now() - drain_started)
                        .count();

    auto report = check_against_simulator(client, sim_http, acknowledged);
    for (std::size_t i = 0; i < report.violations.size() && i < 50; ++i)
        ADD_FAILURE() << report.violations[i];
    EXPECT_EQ(report.violations.size(), 0u);

    // The run exercised what it claims to: every fault kind hit, throttling happened, and
    // tasks were tracked to the end through the faults.
    std::map<std::string, std::int64_t> faults;
    std::int64_t throttled = 0, requests = 0;
    auto stats = json::parse(sim_http.get("/_sim/stats").body).as_object();
    for (const auto& [action, s] : stats.at("actions").as_object()) {
        requests += s.at("requests").to_number<std::int64_t>();
        throttled += s.at("throttled").to_number<std::int64_t>();
        for (const auto& [kind, n] : s.at("faults").as_object())
            faults[std::string(kind)] += n.to_number<std::int64_t>();
    }
    for (const char* k : fault_kinds) EXPECT_GT(faults[k], 0) << k << " was never injected";
    EXPECT_GT(throttled, 0) << "no request was throttled";
    EXPECT_GT(report.tasks_checked, 0u);
    EXPECT_GT(report.batch_states["done"], 0u);

    std::lock_guard lock(mu);
    EXPECT_EQ(daemon.stop(SIGTERM), 0) << daemon.log_tail();
    std::string fault_text;
    for (const auto& [k, n] : faults)
        fault_text += (fault_text.empty() ? "" : ", ") + k + " " + std::to_string(n);
    std::printf(
        "fault soak: %d s with %d clients (faults per kind: %.3f on submissions, %.3f on "
        "polls), %zu submissions acknowledged (done %zu, rejected %zu, unknown %zu), %d "
        "restarts (%d SIGKILL, %d SIGTERM), %d client retries, %lld simulator requests, "
        "%lld throttled, faults injected: %s; drained in %lld ms; %zu tasks checked "
        "against the simulator, %zu resources executed (none twice), %zu unknown "
        "entries, %zu violations\n",
        seconds, clients, submit_p, poll_p, acknowledged.size(), report.batch_states["done"],
        report.batch_states["rejected"], report.batch_states["unknown"],
        restarter.kills() + restarter.terms(), restarter.kills(), restarter.terms(), retries.load(),
        static_cast<long long>(requests), static_cast<long long>(throttled), fault_text.c_str(),
        static_cast<long long>(drain_ms), report.tasks_checked, report.executed_resources,
        report.unknown_entries, report.violations.size());
}

}  // namespace
}  // namespace taskpoller::testing
