// The simulator over real HTTP: authentication codes, state machines, batches, rate limits and the
// /_sim endpoints.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "support/api.hpp"
#include "support/sim_process.hpp"

namespace taskpoller::testing {
namespace {

using qcloud::http_method;
using qcloud::signature_method;

// Short operations so the state machines finish within a test.
constexpr const char* fast_yaml = R"(
instances: {running: 4, stopped: 4}
stale_window: 0ms
operations:
  default: {duration: {min: 200ms, max: 400ms}}
)";

std::vector<std::string> instance_ids(http_client& c) {
    std::vector<std::string> ids;
    auto all = get_json(c, "/_sim/instances");
    for (const auto& in : all.at("instances").as_array()) ids.emplace_back(in.at("id").as_string());
    return ids;
}

// Polls DescribeInstances until `id` shows `status` or 5 s pass; returns the last status seen.
std::int64_t wait_for_status(http_client& c, const std::string& id, std::int64_t status) {
    std::int64_t last = -100;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (std::chrono::steady_clock::now() < deadline) {
        auto body = call(c, "cvm", "DescribeInstances", {{"instanceIds.0", id}});
        last = body.at("instanceSet").as_array().at(0).at("status").as_int64();
        if (last == status) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return last;
}

TEST(SimApi, PrintsTheListeningLine) {
    sim_process sim;
    EXPECT_NE(sim.stdout_text().find("listening on 127.0.0.1:" + std::to_string(sim.port())),
              std::string::npos)
        << sim.stdout_text();
}

TEST(SimApi, SignedRequestsAreAcceptedEveryWay) {
    sim_process sim;
    http_client c(sim.port());
    for (auto m : {http_method::get, http_method::post})
        for (auto sm : {signature_method::hmac_sha1, signature_method::hmac_sha256}) {
            auto body = call(c, sign("cvm", "DescribeInstances", {{"limit", "5"}}, m, sm));
            EXPECT_EQ(code(body), 0) << boost::json::serialize(body);
            EXPECT_EQ(body.at("totalCount").as_int64(), 20);  // default 10 running + 10 stopped
        }
}

TEST(SimApi, TamperedReplayedStaleAndUnknownAreRefused) {
    sim_process sim;
    http_client c(sim.port());
    auto r = sign("cvm", "DescribeInstances", {{"limit", "5"}}, http_method::get);
    auto tampered = r;
    tampered.target.replace(tampered.target.find("limit=5"), 7, "limit=6");
    EXPECT_EQ(code(call(c, tampered)), 4100);
    EXPECT_EQ(code(call(c, r)), 0);
    EXPECT_EQ(code(call(c, r)), 4500);  // replayed
    auto stale = sign("cvm", "DescribeInstances", {}, http_method::post,
                      signature_method::hmac_sha256, example_creds, -400);
    EXPECT_EQ(code(call(c, stale)), 4500);
    auto future = sign("cvm", "DescribeInstances", {}, http_method::post,
                       signature_method::hmac_sha256, example_creds, 400);
    EXPECT_EQ(code(call(c, future)), 4500);
    qcloud::credentials stranger("AKIDstranger", "whatever");
    EXPECT_EQ(code(call(c, sign("cvm", "DescribeInstances", {}, http_method::post,
                                signature_method::hmac_sha256, stranger))),
              4104);
    auto unknown = call(c, "cvm", "DescribeTheUniverse");
    EXPECT_EQ(code(unknown), 4000);
    EXPECT_NE(unknown.at("message").as_string().find("DescribeTheUniverse"), std::string::npos);
    auto stats = get_json(c, "/_sim/stats").at("actions").at("DescribeInstances");
    EXPECT_EQ(stats.at("signature_failures").as_int64(), 1);
    EXPECT_EQ(stats.at("refused").at("4500").as_int64(), 3);
}

TEST(SimApi, CvmStateMachinesAndBatchOutcomes) {
    sim_process sim(fast_yaml);
    http_client c(sim.port());
    auto ids = instance_ids(c);  // 4 running, 4 stopped
    ASSERT_EQ(ids.size(), 8u);
    auto ok = call(c, "cvm", "StopInstances", {{"instanceIds.0", ids[0]}, {"forceStop", "1"}});
    EXPECT_EQ(code(ok), 0);
    EXPECT_EQ(wait_for_status(c, ids[0], 4), 4);
    auto partial =
        call(c, "cvm", "StartInstances", {{"instanceIds.0", ids[0]}, {"instanceIds.1", ids[1]}});
    EXPECT_EQ(code(partial), 5400);
    EXPECT_EQ(partial.at("detail").at(ids[1]).at("code").as_int64(), 5100);
    EXPECT_EQ(wait_for_status(c, ids[0], 2), 2);
    auto failed = call(c, "cvm", "ResetInstancePassword",
                       {{"instanceIds.0", ids[1]}, {"password", "Secret#1"}});
    EXPECT_EQ(code(failed), 5100);
    EXPECT_EQ(code(call(c, "cvm", "RestartInstances", {{"instanceIds.0", ids[2]}})), 0);
    EXPECT_EQ(wait_for_status(c, ids[2], 7), 7);
    EXPECT_EQ(wait_for_status(c, ids[2], 2), 2);
    EXPECT_EQ(code(call(c, "cvm", "ResetInstances", {{"instanceId", ids[5]}})), 0);
    EXPECT_EQ(wait_for_status(c, ids[5], 2), 2);
    auto resources = get_json(c, "/_sim/stats").at("resources");
    EXPECT_EQ(resources.at(ids[0]).at("StopInstances").as_int64(), 1);
    EXPECT_EQ(resources.at(ids[0]).at("StartInstances").as_int64(), 1);
    EXPECT_FALSE(resources.as_object().contains(ids[1]));
}

TEST(SimApi, ClbTaskGoesFromRunningToDone) {
    sim_process sim(fast_yaml);
    http_client c(sim.port());
    auto created = call(c, "lb", "RegisterInstancesWithLoadBalancer",
                        {{"loadBalancerId", "lb-it"},
                         {"backends.0.instanceId", "ins-1"},
                         {"backends.0.weight", "10"}});
    ASSERT_EQ(code(created), 0);
    auto id = std::to_string(created.at("requestId").as_int64());
    auto poll = [&] {
        auto b = call(c, "lb", "DescribeLoadBalancersTaskResult", {{"requestId", id}});
        return b.at("data").at("status").as_int64();
    };
    EXPECT_EQ(poll(), 2);
    std::this_thread::sleep_for(std::chrono::milliseconds(600));
    EXPECT_EQ(poll(), 0);
    EXPECT_EQ(code(call(c, "lb", "DescribeLoadBalancersTaskResult", {{"requestId", "1"}})), 5000);
    auto tasks = get_json(c, "/_sim/tasks").at("tasks").as_array();
    ASSERT_EQ(tasks.size(), 1u);
    EXPECT_EQ(tasks[0].at("state").as_string(), "succeeded");
    EXPECT_EQ(get_json(c, "/_sim/stats")
                  .at("resources")
                  .at("lb-it")
                  .at("RegisterInstancesWithLoadBalancer")
                  .as_int64(),
              1);
}

TEST(SimApi, RateLimitAnswers4400) {
    sim_process sim("rate_limits: {default: 5}\n");
    http_client c(sim.port());
    int ok = 0, throttled = 0;
    for (int i = 0; i < 40; ++i) {
        auto k = code(call(c, "lb", "DescribeLoadBalancersTaskResult", {{"requestId", "1"}}));
        (k == 4400 ? throttled : ok)++;
    }
    EXPECT_GE(throttled, 15);  // 5 burst + a few refills while the loop runs
    EXPECT_GE(ok, 5);
    auto a = get_json(c, "/_sim/stats").at("actions").at("DescribeLoadBalancersTaskResult");
    EXPECT_EQ(a.at("throttled").as_int64(), throttled);
    EXPECT_GE(a.at("max_rate_1s").as_int64(), 10);
    // Another action has its own bucket.
    EXPECT_EQ(code(call(c, "cvm", "DescribeInstances")), 0);
}

TEST(SimApi, TlsOnlyRefusesPlainHttpWith4600) {
    sim_process sim("tls_only: true\n");
    http_client c(sim.port());
    EXPECT_EQ(code(call(c, "cvm", "DescribeInstances")), 4600);
}

TEST(SimApi, ResetClearsState) {
    sim_process sim(fast_yaml);
    http_client c(sim.port());
    EXPECT_EQ(code(call(c, "lb", "DeleteLoadBalancers", {{"loadBalancerIds.0", "lb-1"}})), 0);
    EXPECT_EQ(c.post("/_sim/reset").status, 200u);
    EXPECT_TRUE(get_json(c, "/_sim/tasks").at("tasks").as_array().empty());
    EXPECT_TRUE(get_json(c, "/_sim/stats").at("resources").as_object().empty());
    EXPECT_EQ(c.get("/_sim/reset").status, 405u);
    EXPECT_EQ(c.get("/nowhere").status, 404u);
}

}  // namespace
}  // namespace taskpoller::testing
