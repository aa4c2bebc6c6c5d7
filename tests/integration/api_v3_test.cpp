// Issue 17: API 3.0 end to end. The real taskpollerd with `cloud.protocol: v3` against the real
// simulator speaking 3.0 (TC3 signing, JSON, RequestLimitExceeded at the documented per-action
// limits):
//   - CVM StopInstances on 150 instances: one batch, two calls (100 + 50), every instance
//     stopped once, done by LatestOperationRequestId;
//   - a batch naming an already-stopped instance: the whole call refused
//     (UnsupportedOperation.InstanceStateStopped), every entry rejected, nothing executed;
//   - CLB RegisterTargets on 50 load balancers, tracked with DescribeTaskStatus;
//   - at the daemon's defaults, 0 RequestLimitExceeded from the simulator.
// Then the same kinds of work with 20 % faults of every kind on the submissions and kill -9 at
// random moments: every acknowledged batch is known and terminal, every task has the
// simulator's ground-truth outcome, nothing ran twice.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <boost/json.hpp>
#include <mutex>
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

// Fault kinds the simulator injects on 3.0 requests (docs/simulator.md).
const char* const fault_kinds[] = {"latency",        "http_500",       "http_502",  "http_503",
                                   "close_before",   "code_6000",      "code_6200", "close_after",
                                   "truncated_json", "malformed_json", "slow_drip"};

std::string faults_at(double p) {
    std::string out = "{";
    for (const char* k : fault_kinds) {
        if (out.size() > 1) out += ", ";
        out += std::string(k) + ": " + std::to_string(p);
    }
    return out + "}";
}

std::string sim_config(int running, int stopped, bool limits, double submit_faults, int disks = 0) {
    std::string out = "instances: {running: " + std::to_string(running) +
                      ", stopped: " + std::to_string(stopped) +
                      "}\n"
                      "disks: {unattached: " +
                      std::to_string(disks) +
                      ", attached: 0}\n"
                      "stale_window: 300ms\n"
                      "operations: {default: {duration: {min: 500ms, max: 3s}, "
                      "failure_probability: 0.1}}\n"
                      "seed: 17\n";
    out += limits ? "rate_limits: {enabled: true}\n" : "rate_limits: {enabled: false}\n";
    if (submit_faults > 0) {
        // Polls (DescribeInstances, DescribeTaskStatus) meet half as many.
        out +=
            "faults:\n  latency_delay: 100ms\n  drip_interval: 10ms\n  drip_chunk: 64\n"
            "  global: " +
            faults_at(submit_faults / 2) +
            "\n"
            "  actions:\n    StopInstances: " +
            faults_at(submit_faults) + "\n    RegisterTargets: " + faults_at(submit_faults) + "\n";
    }
    return out;
}

std::string daemon_config(const temp_dir& dir, std::uint16_t sim_port) {
    return "cloud:\n"
           "  region: ap-guangzhou\n"
           "  protocol: v3\n"
           "  scheme: http\n"
           "  connect_to: \"127.0.0.1:" +
           std::to_string(sim_port) +
           "\"\n"
           "polling: {initial_delay: 300ms, interval: 300ms, max_interval: 1s, timeout: 10m, "
           "settle_delay: 1s}\n"
           "control: {socket: " +
           dir.path() +
           "/d.sock, max_connections: 256}\n"
           "store: {journal: " +
           dir.path() +
           "/journal, durability: strict, snapshot_size: 64KiB}\n"
           "logging: {level: info}\n";
}

struct sim_instances {
    std::vector<std::string> running, stopped;
};

sim_instances instances_of(http_client& sim) {
    sim_instances out;
    auto all = json::parse(sim.get("/_sim/instances").body);
    for (const auto& i : all.as_object().at("instances").as_array()) {
        std::string id(i.at("id").as_string());
        (i.at("instance_state") == "STOPPED" ? out.stopped : out.running).push_back(id);
    }
    return out;
}

planned_batch stop_batch(const std::string& token, const std::vector<std::string>& ids) {
    planned_batch p;
    p.token = token;
    p.resources = ids;
    json::array arr;
    for (const auto& id : ids) arr.emplace_back(id);
    p.body = json::serialize(json::object{{"service", "cvm"},
                                          {"action", "StopInstances"},
                                          {"params", {{"InstanceIds", arr}, {"StopType", "SOFT"}}},
                                          {"client_token", token}});
    return p;
}

planned_batch json_batch(const std::string& token, const char* service, const char* action,
                         json::object params, std::vector<std::string> resources) {
    planned_batch p;
    p.token = token;
    p.resources = std::move(resources);
    p.body = json::serialize(json::object{{"service", service},
                                          {"action", action},
                                          {"params", std::move(params)},
                                          {"client_token", token}});
    return p;
}

planned_batch register_batch(const std::string& token, const std::string& lb) {
    planned_batch p;
    p.token = token;
    p.resources = {lb};
    p.body = json::serialize(json::object{
        {"service", "clb"},
        {"action", "RegisterTargets"},
        {"params",
         {{"LoadBalancerId", lb},
          {"ListenerId", "lbl-" + lb.substr(3)},
          {"Targets", json::array{json::object{{"InstanceId", "ins-backend"}, {"Port", 80}}}}}},
        {"client_token", token}});
    return p;
}

void set_credentials() {
    ::setenv("TASKPOLLER_SECRET_ID", "AKIDz8krbsJ5yKBZQpn74WFkmLPx3gnPhESA", 1);
    ::setenv("TASKPOLLER_SECRET_KEY", "Gu5t9xGARNpq86cd98joQYCN3Cozk1qA", 1);
}

std::int64_t sim_throttled(http_client& sim) {
    std::int64_t n = 0;
    auto stats = json::parse(sim.get("/_sim/stats").body).as_object();
    for (const auto& [action, s] : stats.at("actions").as_object())
        n += s.at("throttled").to_number<std::int64_t>();
    return n;
}

}  // namespace

TEST(ApiV3, stop_150_reject_a_stopped_batch_register_50_targets_within_the_limits) {
    sim_process sim(sim_config(151, 2, true, 0.0, 12));
    http_client sim_http(sim.port());
    auto inst = instances_of(sim_http);
    ASSERT_EQ(inst.running.size(), 151u);
    const std::string spare = inst.running.back();  // only in the refused batch
    inst.running.pop_back();
    ASSERT_EQ(inst.stopped.size(), 2u);

    temp_dir dir;
    set_credentials();
    auto config = dir.write("taskpoller.yaml", daemon_config(dir, sim.port()));
    daemon_process daemon(config, dir.path() + "/d.sock", dir.path() + "/daemon.log");
    daemon.start();
    taskpoller::ctl::client_options client;
    client.socket_path = daemon.socket_path();
    client.timeout = 20s;

    std::vector<planned_batch> plan;
    plan.push_back(stop_batch("v3-stop-150", inst.running));
    // A stopped instance beside a running one: the whole call is refused, nothing runs.
    plan.push_back(stop_batch("v3-stop-mixed", {spare, inst.stopped[0]}));
    for (int i = 0; i < 50; ++i)
        plan.push_back(register_batch("v3-lb-" + std::to_string(i), "lb-v3" + std::to_string(i)));
    // CBS: 12 disks to one instance (calls of 10 + 2), tracked by DescribeDisks' DiskState.
    std::vector<std::string> disks;
    auto sim_disks = json::parse(sim_http.get("/_sim/disks").body);
    for (const auto& d : sim_disks.at("disks").as_array())
        disks.emplace_back(d.at("id").as_string());
    ASSERT_EQ(disks.size(), 12u);
    json::array disk_ids;
    for (const auto& d : disks) disk_ids.emplace_back(d);
    plan.push_back(json_batch("v3-disks", "cbs", "AttachDisks",
                              {{"InstanceId", inst.stopped[1]}, {"DiskIds", disk_ids}}, disks));
    // VPC: three network interfaces, tracked by DescribeVpcTaskResult.
    for (int i = 0; i < 3; ++i) {
        const std::string eni = "eni-v3" + std::to_string(i);
        plan.push_back(json_batch("v3-eni-" + std::to_string(i), "vpc", "AttachNetworkInterface",
                                  {{"NetworkInterfaceId", eni}, {"InstanceId", inst.stopped[1]}},
                                  {eni}));
    }
    std::vector<acked_batch> acknowledged;
    for (const auto& p : plan) {
        auto r = taskpoller::testing::submit_until_acknowledged(client, p, 60s);
        ASSERT_TRUE(r.ack) << r.error << daemon.log_tail();
        acknowledged.push_back(std::move(*r.ack));
    }
    ASSERT_EQ(taskpoller::testing::wait_until_settled(client, 120s), "") << daemon.log_tail();

    auto batch = [&](const acked_batch& a) {
        auto r = taskpoller::ctl::send_request(client, "GET", "/v1/batches/" + a.batch_id);
        EXPECT_TRUE(r && r->status == 200);
        return json::parse(r->body).as_object();
    };
    // 150 instances, two calls, two tasks (one RequestId per call), every entry accepted.
    auto big = batch(acknowledged[0]);
    EXPECT_EQ(big.at("state"), "done");
    EXPECT_EQ(big.at("protocol"), "v3");
    std::set<std::string> request_ids;
    for (const auto& e : big.at("entries").as_array()) {
        EXPECT_EQ(e.at("state") == "succeeded" || e.at("state") == "failed", true) << e;
        request_ids.insert(std::string(e.at("request_id").as_string()));
    }
    EXPECT_EQ(big.at("entries").as_array().size(), 150u);
    EXPECT_EQ(request_ids.size(), 2u);
    // The whole call refused: every entry rejected with the 3.0 code.
    auto mixed = batch(acknowledged[1]);
    EXPECT_EQ(mixed.at("state"), "rejected");
    for (const auto& e : mixed.at("entries").as_array()) {
        EXPECT_EQ(e.at("state"), "rejected");
        EXPECT_NE(std::string(e.at("message").as_string())
                      .find("UnsupportedOperation.InstanceStateStopped"),
                  std::string::npos)
            << e;
    }
    for (std::size_t i = 2; i < acknowledged.size(); ++i)
        EXPECT_EQ(batch(acknowledged[i]).at("state"), "done") << acknowledged[i].token;
    // Every CBS disk attached, and to that instance.
    const auto final_disks = json::parse(sim_http.get("/_sim/disks").body);
    for (const auto& d : final_disks.at("disks").as_array()) {
        EXPECT_EQ(d.at("state"), "ATTACHED") << d;
        EXPECT_EQ(d.at("instance_id"), json::value(inst.stopped[1])) << d;
    }

    auto report = taskpoller::testing::check_against_simulator(client, sim_http, acknowledged);
    for (std::size_t i = 0; i < report.violations.size() && i < 50; ++i)
        ADD_FAILURE() << report.violations[i];
    EXPECT_EQ(report.violations.size(), 0u);
    // The refused batch's instances never ran; 12 disks and 3 interfaces did.
    EXPECT_EQ(report.executed_resources, 150u + 50u + 12u + 3u);
    auto disk_batch = batch(acknowledged[acknowledged.size() - 4]);
    EXPECT_EQ(disk_batch.at("protocol"), "v3");
    std::set<std::string> disk_requests;
    for (const auto& e : disk_batch.at("entries").as_array())
        disk_requests.insert(std::string(e.at("request_id").as_string()));
    EXPECT_EQ(disk_requests.size(), 2u) << disk_batch;  // 10 + 2
    const auto throttled = sim_throttled(sim_http);
    EXPECT_EQ(throttled, 0) << "RequestLimitExceeded answers at the daemon's default limits: "
                            << sim_http.get("/_sim/stats").body;
    EXPECT_EQ(daemon.stop(SIGTERM), 0) << daemon.log_tail();
    std::printf(
        "api v3: 150 instances in 2 calls, 1 whole-call refusal, 50 CLB tasks, 12 disks in 2 "
        "calls, 3 VPC tasks; %zu tasks "
        "checked against the simulator, %lld RequestLimitExceeded\n",
        report.tasks_checked, static_cast<long long>(throttled));
}

TEST(ApiV3, faults_and_kill9_lose_nothing_and_send_nothing_twice) {
    const int kills = env_int("TASKPOLLER_V3_KILLS", 10);
    const int stops = 300, lbs = 60;
    // 20 % of the submissions meet a fault, spread over every kind.
    sim_process sim(sim_config(stops, 0, false, 0.2 / std::size(fault_kinds)));
    http_client sim_http(sim.port());
    auto inst = instances_of(sim_http);
    ASSERT_EQ(static_cast<int>(inst.running.size()), stops);

    temp_dir dir;
    set_credentials();
    auto config = dir.write("taskpoller.yaml", daemon_config(dir, sim.port()));
    daemon_process daemon(config, dir.path() + "/d.sock", dir.path() + "/daemon.log");
    daemon.start();
    std::mutex mu;
    daemon_restarter killer(daemon, mu,
                            {.min_pause = 200ms,
                             .max_pause = 1200ms,
                             .sigterm_share = 0.0,
                             .max_restarts = kills,
                             .seed = 1717});
    taskpoller::ctl::client_options client;
    client.socket_path = daemon.socket_path();
    client.timeout = 20s;

    // Batches of 25 instances (one call each) and one RegisterTargets per load balancer.
    std::vector<planned_batch> plan;
    for (int i = 0, lb = 0; i < stops || lb < lbs;) {
        if (i < stops) {
            std::vector<std::string> ids(inst.running.begin() + i,
                                         inst.running.begin() + std::min(stops, i + 25));
            plan.push_back(stop_batch("v3k-stop-" + std::to_string(i), ids));
            i += 25;
        }
        for (int k = 0; k < 5 && lb < lbs; ++k, ++lb)
            plan.push_back(
                register_batch("v3k-lb-" + std::to_string(lb), "lb-k" + std::to_string(lb)));
    }
    std::vector<acked_batch> acknowledged;
    std::string client_error;
    for (const auto& p : plan) {
        auto r = taskpoller::testing::submit_until_acknowledged(client, p, 120s);
        if (!r.ack) {
            client_error = r.error;
            break;
        }
        acknowledged.push_back(std::move(*r.ack));
        std::this_thread::sleep_for(60ms);
    }
    auto deadline = std::chrono::steady_clock::now() + 60s;
    while (killer.kills() < kills && killer.error().empty() &&
           std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(50ms);
    killer.stop();
    ASSERT_EQ(killer.error(), "");
    ASSERT_EQ(client_error, "") << daemon.log_tail();
    ASSERT_EQ(acknowledged.size(), plan.size());
    ASSERT_EQ(taskpoller::testing::wait_until_settled(client, 240s), "") << daemon.log_tail();

    auto report = taskpoller::testing::check_against_simulator(client, sim_http, acknowledged);
    for (std::size_t i = 0; i < report.violations.size() && i < 50; ++i)
        ADD_FAILURE() << report.violations[i];
    EXPECT_EQ(report.violations.size(), 0u);
    // Most calls were answered (a fault or a kill in flight makes a batch unknown; the exact
    // checks are above): one task per accepted call.
    EXPECT_GE(report.tasks_checked, plan.size() / 2);
    std::lock_guard lock(mu);
    EXPECT_EQ(daemon.stop(SIGTERM), 0) << daemon.log_tail();
    std::printf(
        "api v3 crash test: %d kills, %zu batches acknowledged (%zu unknown, %zu "
        "rejected), %zu tasks checked against the simulator, %zu resources executed "
        "once each, %zu violations\n",
        killer.kills(), acknowledged.size(), report.batch_states["unknown"],
        report.batch_states["rejected"], report.tasks_checked, report.executed_resources,
        report.violations.size());
}

// Issues 16 (item 5) and 17: a 3.0 StopInstances whose answer is lost after it ran is
// reconciled read-only: the instances' LatestOperationRequestId names the call's RequestId,
// and the batch is tracked under it; nothing is sent twice.
TEST(ApiV3, a_lost_answer_is_reconciled_from_latest_operation_request_id) {
    sim_process sim(sim_config(3, 0, false, 0.0) +
                    "faults: {actions: {StopInstances: {close_after: 1.0}}}\n");
    http_client sim_http(sim.port());
    auto inst = instances_of(sim_http);
    ASSERT_EQ(inst.running.size(), 3u);
    temp_dir dir;
    set_credentials();
    auto config = dir.write("taskpoller.yaml", daemon_config(dir, sim.port()));
    daemon_process daemon(config, dir.path() + "/d.sock", dir.path() + "/daemon.log");
    daemon.start();
    taskpoller::ctl::client_options client;
    client.socket_path = daemon.socket_path();
    client.timeout = 60s;

    auto r = taskpoller::testing::submit_until_acknowledged(
        client, stop_batch("v3-lost", {inst.running[0], inst.running[1]}), 60s);
    ASSERT_TRUE(r.ack) << r.error << daemon.log_tail();
    EXPECT_EQ(r.ack->state, "submitted") << daemon.log_tail();
    ASSERT_EQ(taskpoller::testing::wait_until_settled(client, 60s), "") << daemon.log_tail();

    auto reply = taskpoller::ctl::send_request(client, "GET", "/v1/batches/" + r.ack->batch_id);
    ASSERT_TRUE(reply);
    const auto& got = *reply;
    auto b = json::parse(got.body).as_object();
    EXPECT_EQ(b.at("state"), "done") << got.body;
    // The simulator's one StopInstances task is the one the batch tracked.
    auto tasks = json::parse(sim_http.get("/_sim/tasks").body).at("tasks").as_array();
    std::string sim_rid, sim_state;
    for (const auto& t : tasks) {
        if (t.at("action") != "StopInstances") continue;
        sim_rid = std::string(t.at("request_id").as_string());
        sim_state = std::string(t.at("state").as_string());
    }
    ASSERT_FALSE(sim_rid.empty());
    for (const auto& e : b.at("entries").as_array()) {
        EXPECT_EQ(e.at("request_id").as_string(), sim_rid) << got.body;
        EXPECT_EQ(e.at("state").as_string(), sim_state) << got.body;  // its true outcome
    }
    auto stats = json::parse(sim_http.get("/_sim/stats").body);
    EXPECT_EQ(stats.at("actions").at("StopInstances").at("requests").to_number<int>(), 1);
    auto m = taskpoller::ctl::send_request(client, "GET", "/metrics");
    ASSERT_TRUE(m);
    const auto& metrics = m->body;
    EXPECT_NE(metrics.find("taskpoller_submission_reconciliations_total{result=\"executed\"} 1"),
              std::string::npos);
}

namespace {

// Rotates the simulator's expected token for the test account.
void rotate_sim_token(http_client& sim, const std::string& token) {
    taskpoller::testing::http_reply r;
    boost::system::error_code ec;
    ASSERT_TRUE(
        sim.send("POST", "/_sim/token", "127.0.0.1",
                 json::serialize(json::object{{"secret_id", "AKIDz8krbsJ5yKBZQpn74WFkmLPx3gnPhESA"},
                                              {"token", token}}),
                 r, ec))
        << ec.message();
    ASSERT_EQ(r.status, 200) << r.body;
}

// Overwrites a file in place (same inode, same size) and puts its modification time back, so
// that only a refused call can tell the daemon it changed.
void rewrite_unnoticed(const std::string& path, const std::string& text) {
    struct stat before {};
    ASSERT_EQ(::stat(path.c_str(), &before), 0);
    {
        std::FILE* f = std::fopen(path.c_str(), "r+");
        ASSERT_NE(f, nullptr);
        std::fwrite(text.data(), 1, text.size(), f);
        std::fclose(f);
    }
    const struct timespec times[2] = {before.st_atim, before.st_mtim};
    ASSERT_EQ(::utimensat(AT_FDCWD, path.c_str(), times, 0), 0);
}

std::string batch_state(const taskpoller::ctl::client_options& client, const std::string& id) {
    auto r = taskpoller::ctl::send_request(client, "GET", "/v1/batches/" + id);
    if (!r) return "?";
    return std::string(json::parse(r->body).at("state").as_string());
}

}  // namespace

// Issue 17: temporary credentials rotate under a running daemon. It re-reads them when a call
// is answered AuthFailure.TokenFailure (here the token file changes without a trace in its
// inode, size or time) and when the token file changes, with no reload.
TEST(ApiV3, rotated_temporary_credentials_are_re_read_without_a_reload) {
    sim_process sim(sim_config(4, 0, false, 0.0) +
                    "accounts: [{secret_id: AKIDz8krbsJ5yKBZQpn74WFkmLPx3gnPhESA, "
                    "secret_key: Gu5t9xGARNpq86cd98joQYCN3Cozk1qA, token: tok-1}]\n");
    http_client sim_http(sim.port());
    auto inst = instances_of(sim_http);
    ASSERT_EQ(inst.running.size(), 4u);
    temp_dir dir;
    ::unsetenv("TASKPOLLER_SECRET_ID");
    ::unsetenv("TASKPOLLER_SECRET_KEY");
    const auto id_file = dir.write("secret_id", "AKIDz8krbsJ5yKBZQpn74WFkmLPx3gnPhESA\n");
    const auto key_file = dir.write("secret_key", "Gu5t9xGARNpq86cd98joQYCN3Cozk1qA\n");
    const auto token_file = dir.write("token", "tok-1\n");
    for (const auto& f : {id_file, key_file, token_file}) ::chmod(f.c_str(), 0600);
    auto config =
        dir.write("taskpoller.yaml",
                  "credentials: {secret_id_file: " + id_file + ", secret_key_file: " + key_file +
                      ", token_file: " + token_file + "}\n" + daemon_config(dir, sim.port()));
    daemon_process daemon(config, dir.path() + "/d.sock", dir.path() + "/daemon.log");
    daemon.start();
    taskpoller::ctl::client_options client;
    client.socket_path = daemon.socket_path();
    client.timeout = 60s;

    auto first = taskpoller::testing::submit_until_acknowledged(
        client, stop_batch("tok-a", {inst.running[0]}), 30s);
    ASSERT_TRUE(first.ack) << first.error << daemon.log_tail();
    EXPECT_EQ(first.ack->state, "submitted") << daemon.log_tail();
    ASSERT_EQ(taskpoller::testing::wait_until_settled(client, 60s), "") << daemon.log_tail();

    // The token expires while a batch is polled: its polls are refused until the daemon reads
    // the new token, which it does because they were refused.
    auto second = taskpoller::testing::submit_until_acknowledged(
        client, stop_batch("tok-b", {inst.running[1]}), 30s);
    ASSERT_TRUE(second.ack) << second.error << daemon.log_tail();
    rotate_sim_token(sim_http, "tok-2");
    rewrite_unnoticed(token_file, "tok-2\n");
    ASSERT_EQ(taskpoller::testing::wait_until_settled(client, 60s), "") << daemon.log_tail();
    EXPECT_EQ(batch_state(client, second.ack->batch_id), "done");
    const auto log = taskpoller::testing::read_file(dir.path() + "/daemon.log");
    EXPECT_NE(log.find("credentials re-read (a call was answered AuthFailure.TokenFailure): new "
                       "token"),
              std::string::npos)
        << daemon.log_tail();

    // A renewed token file is read as soon as it changes: the next submission is accepted.
    rotate_sim_token(sim_http, "tok-3");
    dir.write("token.new", "tok-3\n");
    ::chmod((dir.path() + "/token.new").c_str(), 0600);
    ASSERT_EQ(std::rename((dir.path() + "/token.new").c_str(), token_file.c_str()), 0);
    bool reread = false;
    for (int i = 0; i < 100 && !reread; ++i) {
        std::this_thread::sleep_for(100ms);
        reread = taskpoller::testing::read_file(dir.path() + "/daemon.log")
                     .find("credentials re-read (" + token_file + " changed)") != std::string::npos;
    }
    ASSERT_TRUE(reread) << daemon.log_tail();
    auto third = taskpoller::testing::submit_until_acknowledged(
        client, stop_batch("tok-c", {inst.running[2]}), 30s);
    ASSERT_TRUE(third.ack) << third.error << daemon.log_tail();
    EXPECT_EQ(third.ack->state, "submitted") << daemon.log_tail();
    EXPECT_EQ(json::parse(sim_http.get("/_sim/stats").body)
                  .at("actions")
                  .at("StopInstances")
                  .at("requests")
                  .to_number<int>(),
              3);
}

namespace {

// The daemon's signed probes as /v1/status reports them, once every service has one.
json::array wait_for_cloud_checks(const taskpoller::ctl::client_options& client) {
    for (int i = 0; i < 100; ++i) {
        auto r = taskpoller::ctl::send_request(client, "GET", "/v1/status");
        if (r && r->status == 200) {
            auto checks = json::parse(r->body).at("cloud_checks").as_array();
            if (!checks.empty()) return checks;
        }
        std::this_thread::sleep_for(100ms);
    }
    return {};
}

}  // namespace

// Issue 18: at start the daemon proves its credentials with one signed read-only call per
// service; refused credentials are an error in the log and in /v1/status, not a surprise at the
// first submission.
TEST(ApiV3, the_daemon_checks_its_cloud_access_at_start) {
    sim_process sim(sim_config(1, 0, false, 0.0));
    for (const char* key : {"Gu5t9xGARNpq86cd98joQYCN3Cozk1qA", "not-the-secret-key"}) {
        const bool good = key[0] == 'G';
        temp_dir dir;
        ::setenv("TASKPOLLER_SECRET_ID", "AKIDz8krbsJ5yKBZQpn74WFkmLPx3gnPhESA", 1);
        ::setenv("TASKPOLLER_SECRET_KEY", key, 1);
        auto config = dir.write("taskpoller.yaml", daemon_config(dir, sim.port()));
        daemon_process daemon(config, dir.path() + "/d.sock", dir.path() + "/daemon.log");
        daemon.start();
        taskpoller::ctl::client_options client;
        client.socket_path = daemon.socket_path();
        auto checks = wait_for_cloud_checks(client);
        ASSERT_GE(checks.size(), 4u) << daemon.log_tail();  // cvm, clb, vpc, cbs at least
        for (const auto& c : checks) {
            // 2.0 services are checked against the same simulator, with the same pair.
            EXPECT_EQ(c.at("result").as_string(), good ? "ok" : "refused")
                << json::serialize(c) << "\n"
                << daemon.log_tail();
        }
        const auto log = taskpoller::testing::read_file(dir.path() + "/daemon.log");
        EXPECT_EQ(log.find("cloud access: cvm DescribeInstances") != std::string::npos, true)
            << daemon.log_tail();
        if (!good) {
            EXPECT_NE(log.find("refused: AuthFailure.SignatureFailure"), std::string::npos)
                << daemon.log_tail();
        }
    }
}
