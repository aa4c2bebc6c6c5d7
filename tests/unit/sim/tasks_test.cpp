#include "sim/tasks.hpp"

#include <algorithm>
#include <boost/json/value_to.hpp>
#include <utility>

#include "sim_test_support.hpp"

namespace taskpoller::sim {
namespace {

using testing::code;
using testing::fixture;

std::int64_t task_status(fixture& f, const std::string& service, const std::string& action,
                         std::int64_t id) {
    auto body = f.call(service, action, {{"requestId", std::to_string(id)}});
    EXPECT_EQ(code(body), 0) << boost::json::serialize(body);
    return body.at("data").at("status").as_int64();
}

TEST(Tasks, LbActionsReturnAnIntegerRequestIdPolledUntilDone) {
    fixture f;
    const qcloud::param_list backends{{"loadBalancerId", "lb-abc"},
                                      {"backends.0.instanceId", "ins-1"},
                                      {"backends.0.weight", "10"}};
    for (const char* action : {"RegisterInstancesWithLoadBalancer", "ModifyLoadBalancerBackends",
                               "DeregisterInstancesFromLoadBalancer"}) {
        auto body = f.call("lb", action, backends);
        ASSERT_EQ(code(body), 0) << boost::json::serialize(body);
        auto id = body.at("requestId").as_int64();
        EXPECT_EQ(task_status(f, "lb", "DescribeLoadBalancersTaskResult", id), 2);
        f.advance(1000);
        EXPECT_EQ(task_status(f, "lb", "DescribeLoadBalancersTaskResult", id), 0);
        EXPECT_EQ(f.sim.counters().executed("lb-abc", action), 1);
    }
    auto del = f.call("lb", "DeleteLoadBalancers",
                      {{"loadBalancerIds.0", "lb-1"}, {"loadBalancerIds.1", "lb-2"}});
    ASSERT_EQ(code(del), 0);
    EXPECT_EQ(f.sim.counters().executed("lb-2", "DeleteLoadBalancers"), 1);
}

// /_sim/tasks says when each operation finished (done_at_ms): the benchmarks measure detection
// delay from it, so it must be the moment the answers change.
TEST(Tasks, SimTasksDoneAtIsWhenTheAnswerChanges) {
    auto cfg = fixture::quiet_config();
    cfg.operations["RegisterInstancesWithLoadBalancer"] = {{millis(2000), millis(5000)}, 0.0};
    cfg.operations["StopInstances"] = {{millis(3000), millis(9000)}, 0.0};
    fixture f(cfg);
    auto get = [&](const std::string& target) {
        auto out = f.sim.handle({"GET", target, "127.0.0.1", "", false});
        EXPECT_EQ(out.status, 200u);
        return boost::json::parse(out.body).as_object();
    };
    const auto started = f.now_ms;
    auto lb = f.call("lb", "RegisterInstancesWithLoadBalancer",
                     {{"loadBalancerId", "lb-abc"}, {"backends.0.instanceId", "ins-1"}})
                  .at("requestId")
                  .as_int64();
    auto instance = boost::json::value_to<std::string>(
        get("/_sim/instances").at("instances").as_array().at(0).as_object().at("id"));
    ASSERT_EQ(code(f.call("cvm", "StopInstances", {{"instanceIds.0", instance}})), 0);
    auto tasks = get("/_sim/tasks").at("tasks").as_array();
    ASSERT_EQ(tasks.size(), 2u);
    for (const auto& v : tasks) {
        const auto& t = v.as_object();
        const auto service = boost::json::value_to<std::string>(t.at("service"));
        const auto done = t.at("done_at_ms").as_int64();
        EXPECT_EQ(t.at("started_at_ms").as_int64(), started) << service;
        const auto [lo, hi] = service == "lb" ? std::pair{2000, 5000} : std::pair{3000, 9000};
        EXPECT_GE(done - started, lo) << service;
        EXPECT_LE(done - started, hi) << service;
        EXPECT_EQ(t.at("state").as_string(), "running") << service;
    }
    // Earliest first: time only moves forward (the CVM state settles for good).
    std::sort(tasks.begin(), tasks.end(), [](const auto& a, const auto& b) {
        return a.as_object().at("done_at_ms").as_int64() <
               b.as_object().at("done_at_ms").as_int64();
    });
    for (const auto& v : tasks) {
        const auto& t = v.as_object();
        const auto service = boost::json::value_to<std::string>(t.at("service"));
        f.now_ms = t.at("done_at_ms").as_int64() - 1;
        if (service == "lb")
            EXPECT_EQ(task_status(f, "lb", "DescribeLoadBalancersTaskResult", lb), 2);
        else
            EXPECT_EQ(get("/_sim/instances")
                          .at("instances")
                          .as_array()
                          .at(0)
                          .as_object()
                          .at("status")
                          .as_int64(),
                      9);
        f.now_ms += 1;
        if (service == "lb")
            EXPECT_EQ(task_status(f, "lb", "DescribeLoadBalancersTaskResult", lb), 0);
        else
            EXPECT_EQ(get("/_sim/instances")
                          .at("instances")
                          .as_array()
                          .at(0)
                          .as_object()
                          .at("status")
                          .as_int64(),
                      4);
    }
}

TEST(Tasks, FailureProbabilityOneEndsWithStatus1) {
    auto cfg = fixture::quiet_config();
    cfg.operations["DeleteLoadBalancers"] = {{millis(10), millis(10)}, 1.0};
    fixture f(cfg);
    auto id = f.call("lb", "DeleteLoadBalancers", {{"loadBalancerIds.0", "lb-1"}})
                  .at("requestId")
                  .as_int64();
    f.advance(10);
    EXPECT_EQ(task_status(f, "lb", "DescribeLoadBalancersTaskResult", id), 1);
}

TEST(Tasks, UnknownRequestIdIs5000) {
    fixture f;
    auto body = f.call("lb", "DescribeLoadBalancersTaskResult", {{"requestId", "42"}});
    EXPECT_EQ(code(body), unknown_request_id_code);
    EXPECT_NE(body.at("message").as_string().find("42"), std::string::npos);
    EXPECT_EQ(code(f.call("lb", "DescribeLoadBalancersTaskResult", {{"requestId", "x"}})), 4000);
    EXPECT_EQ(code(f.call("lb", "DescribeLoadBalancersTaskResult", {})), 4000);
}

TEST(Tasks, MissingParametersAre4000) {
    fixture f;
    EXPECT_EQ(code(f.call("lb", "DeleteLoadBalancers", {{"x", "1"}})), 4000);
    EXPECT_EQ(code(f.call("lb", "RegisterInstancesWithLoadBalancer", {{"loadBalancerId", "lb-1"}})),
              4000);
    EXPECT_EQ(code(f.call("lb", "RegisterInstancesWithLoadBalancer",
                          {{"loadBalancerId", "lb-1"},
                           {"backends.0.instanceId", "ins-1"},
                           {"backends.0.weight", "101"}})),
              4000);
}

TEST(Tasks, BareMetalServicesHaveTheSameShapeAndSeparateIds) {
    fixture f;
    auto bmlb = f.call("bmlb", "BindBmL4ListenerRs", {{"loadBalancerId", "lb-bm1"}});
    ASSERT_EQ(code(bmlb), 0);
    auto id = bmlb.at("requestId").as_int64();
    EXPECT_EQ(task_status(f, "bmlb", "DescribeBmLoadBalancersTaskResult", id), 2);
    // Another service does not know this requestId.
    EXPECT_EQ(
        code(f.call("lb", "DescribeLoadBalancersTaskResult", {{"requestId", std::to_string(id)}})),
        unknown_request_id_code);
    auto eip = f.call("bmeip", "EipBmBindRs", {{"eipId", "eip-1"}, {"instanceId", "cpm-1"}});
    ASSERT_EQ(code(eip), 0);
    f.advance(1000);
    EXPECT_EQ(task_status(f, "bmeip", "EipBmQueryTask", eip.at("requestId").as_int64()), 0);
    EXPECT_EQ(f.sim.counters().executed("eip-1", "EipBmBindRs"), 1);
}

TEST(Tasks, GroundTruthListsEveryTask) {
    fixture f;
    f.call("lb", "DeleteLoadBalancers", {{"loadBalancerIds.0", "lb-1"}});
    auto out = f.sim.handle({"GET", "/_sim/tasks", "", "", false});
    auto tasks = boost::json::parse(out.body).at("tasks").as_array();
    ASSERT_EQ(tasks.size(), 1u);
    EXPECT_EQ(tasks[0].at("state").as_string(), "running");
    EXPECT_EQ(tasks[0].at("service").as_string(), "lb");
}

}  // namespace
}  // namespace taskpoller::sim
