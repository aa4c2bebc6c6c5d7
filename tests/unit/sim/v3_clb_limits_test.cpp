// CLB 2018-03-17 tasks, API 3.0 rate limits, faults and ground truth in the simulator.

#include "sim/clb_v3.hpp"
#include "v3_test_support.hpp"

namespace taskpoller::sim {
namespace {

namespace json = boost::json;
using testing::error_code;
using testing::request_id;
using testing::v3_fixture;

json::object targets_call(const std::string& lb, std::size_t n = 1) {
    json::array targets;
    for (std::size_t i = 0; i < n; ++i)
        targets.push_back(
            json::object{{"InstanceId", "ins-" + std::to_string(i)}, {"Port", 80}, {"Weight", 10}});
    return {{"LoadBalancerId", lb}, {"ListenerId", "lbl-1"}, {"Targets", std::move(targets)}};
}

std::int64_t task_status(v3_fixture& f, const std::string& task_id) {
    auto r = f.call3("clb", "DescribeTaskStatus", {{"TaskId", task_id}});
    EXPECT_EQ(error_code(r), "") << json::serialize(r);
    return r.contains("Status") ? r.at("Status").as_int64() : -1;
}

TEST(SimV3Clb, EachActionIsOneTaskPolledByItsRequestId) {
    v3_fixture f;
    json::array ports{80, 443};
    const std::pair<const char*, json::object> calls[] = {
        {"RegisterTargets", targets_call("lb-a")},
        {"DeregisterTargets", targets_call("lb-b")},
        {"ModifyTargetWeight",
         [] {
             auto p = targets_call("lb-c");
             p["Weight"] = 50;
             return p;
         }()},
        {"BatchModifyTargetWeight",
         {{"LoadBalancerId", "lb-d"},
          {"ModifyList", json::array{json::object{{"ListenerId", "lbl-1"},
                                                  {"Targets", targets_call("lb-d").at("Targets")},
                                                  {"Weight", 0}}}}}},
        {"CreateListener", {{"LoadBalancerId", "lb-e"}, {"Ports", ports}, {"Protocol", "TCP"}}},
        {"DeleteListener", {{"LoadBalancerId", "lb-f"}, {"ListenerId", "lbl-1"}}},
        {"DeleteLoadBalancer", {{"LoadBalancerIds", json::array{"lb-g", "lb-h"}}}},
    };
    for (const auto& [action, params] : calls) {
        auto r = f.call3("clb", action, params);
        ASSERT_EQ(error_code(r), "") << action << json::serialize(r);
        auto id = request_id(r);
        EXPECT_EQ(task_status(f, id), 2) << action;
        f.advance(999);
        EXPECT_EQ(task_status(f, id), 2) << action;
        f.advance(1);
        EXPECT_EQ(task_status(f, id), 0) << action;
        if (std::string(action) == "CreateListener") {
            EXPECT_EQ(r.at("ListenerIds").as_array().size(), 2u);
        }
    }
    EXPECT_EQ(f.sim.counters().executed("lb-a", "RegisterTargets"), 1);
    EXPECT_EQ(f.sim.counters().executed("lb-h", "DeleteLoadBalancer"), 1);
    auto tasks = f.get("/_sim/tasks").at("tasks").as_array();
    ASSERT_EQ(tasks.size(), 7u);
    EXPECT_EQ(tasks[0].at("service").as_string(), "clb");
    EXPECT_EQ(tasks[0].at("action").as_string(), "RegisterTargets");
    EXPECT_EQ(tasks[0].at("resources").as_array(), json::array{"lb-a"});
    EXPECT_EQ(tasks[6].at("resources").as_array(), (json::array{"lb-g", "lb-h"}));
    EXPECT_EQ(tasks[6].at("state").as_string(), "succeeded");
    // A deleted load balancer is gone.
    EXPECT_EQ(error_code(f.call3("clb", "RegisterTargets", targets_call("lb-g"))),
              "InvalidParameter.LBIdNotFound");
}

TEST(SimV3Clb, ABusyLoadBalancerRefusesASecondTaskWithoutRunningIt) {
    v3_fixture f;
    auto first = f.call3("clb", "RegisterTargets", targets_call("lb-a"));
    ASSERT_EQ(error_code(first), "");
    auto second = f.call3("clb", "DeregisterTargets", targets_call("lb-a"));
    EXPECT_EQ(error_code(second), "FailedOperation.ResourceInOperating");
    EXPECT_EQ(error_code(f.call3("clb", "DeleteLoadBalancer",
                                 {{"LoadBalancerIds", json::array{"lb-b", "lb-a"}}})),
              "FailedOperation.ResourceInOperating");
    EXPECT_EQ(f.sim.counters().executed("lb-a", "DeregisterTargets"), 0);
    EXPECT_EQ(f.sim.counters().executed("lb-b", "DeleteLoadBalancer"), 0);
    EXPECT_EQ(error_code(f.call3("clb", "RegisterTargets", targets_call("lb-b"))), "");
    EXPECT_EQ(f.get("/_sim/tasks").at("tasks").as_array().size(), 2u);
    f.advance(1000);
    EXPECT_EQ(error_code(f.call3("clb", "DeregisterTargets", targets_call("lb-a"))), "");
    EXPECT_EQ(f.sim.counters().executed("lb-a", "DeregisterTargets"), 1);
    auto st = f.sim.counters().to_json().at("actions");
    EXPECT_EQ(st.at("DeregisterTargets")
                  .at("refused")
                  .at("FailedOperation.ResourceInOperating")
                  .as_int64(),
              1);
}

TEST(SimV3Clb, AFailedTaskHasStatus1AndAMessage) {
    auto cfg = v3_fixture::quiet_config();
    cfg.operations["RegisterTargets"] = {{millis(500), millis(500)}, 1.0};
    v3_fixture f(cfg);
    auto id = request_id(f.call3("clb", "RegisterTargets", targets_call("lb-a")));
    f.advance(500);
    auto r = f.call3("clb", "DescribeTaskStatus", {{"TaskId", id}});
    EXPECT_EQ(r.at("Status").as_int64(), 1);
    EXPECT_FALSE(r.at("Message").as_string().empty());
    EXPECT_EQ(r.at("LoadBalancerIds").as_array(), json::array{"lb-a"});
    EXPECT_EQ(f.get("/_sim/tasks").at("tasks").at(0).at("state").as_string(), "failed");
}

TEST(SimV3Clb, UnknownTaskIdsAndBadParameters) {
    v3_fixture f;
    EXPECT_EQ(error_code(f.call3("clb", "DescribeTaskStatus", {{"TaskId", "nope"}})),
              "ResourceNotFound");
    EXPECT_EQ(error_code(f.call3("clb", "DescribeTaskStatus")), "MissingParameter");
    // A CVM RequestId is not a CLB task.
    auto cvm = f.call3("cvm", "StopInstances",
                       {{"InstanceIds", json::array{json::string(f.sim.cvm().ids()[0])}}});
    ASSERT_EQ(error_code(cvm), "");
    EXPECT_EQ(error_code(f.call3("clb", "DescribeTaskStatus", {{"TaskId", request_id(cvm)}})),
              "ResourceNotFound");

    EXPECT_EQ(error_code(f.call3("clb", "RegisterTargets", targets_call("lb-a", 21))),
              "InvalidParameterValue.Length");
    EXPECT_EQ(error_code(f.call3("clb", "RegisterTargets", targets_call("lb-a", 0))),
              "InvalidParameterValue.Length");
    auto no_listener = targets_call("lb-a");
    no_listener.erase("ListenerId");
    EXPECT_EQ(error_code(f.call3("clb", "RegisterTargets", no_listener)), "MissingParameter");
    auto no_port = targets_call("lb-a");
    no_port["Targets"].as_array()[0].as_object().erase("Port");
    EXPECT_EQ(error_code(f.call3("clb", "RegisterTargets", no_port)), "MissingParameter");
    auto heavy = targets_call("lb-a");
    heavy["Targets"].as_array()[0].as_object()["Weight"] = 101;
    EXPECT_EQ(error_code(f.call3("clb", "RegisterTargets", heavy)), "InvalidParameterValue");
    EXPECT_EQ(error_code(f.call3("clb", "RegisterTargets", targets_call("foo"))),
              "InvalidParameter.LBIdNotFound");
    EXPECT_EQ(error_code(f.call3(
                  "clb", "CreateListener",
                  {{"LoadBalancerId", "lb-a"}, {"Ports", json::array{80}}, {"Protocol", "SCTP"}})),
              "InvalidParameterValue");
    EXPECT_EQ(f.sim.counters().to_json().at("resources").as_object().size(), 1u);  // the CVM one
}

// ---- rate limits ----

TEST(SimV3Limits, ABurstOf30DescribeTaskStatusAt20PerSecondRefuses10) {
    v3_fixture f;
    auto id = request_id(f.call3("clb", "RegisterTargets", targets_call("lb-a")));
    int refused = 0;
    for (int i = 0; i < 30; ++i) {
        auto code = error_code(f.call3("clb", "DescribeTaskStatus", {{"TaskId", id}}));
        if (code == "RequestLimitExceeded")
            ++refused;
        else
            EXPECT_EQ(code, "") << i;
    }
    EXPECT_EQ(refused, 10);
    auto st = f.sim.counters().to_json().at("actions").at("DescribeTaskStatus");
    EXPECT_EQ(st.at("throttled").as_int64(), 10);
    EXPECT_EQ(st.at("accepted").as_int64(), 20);
    EXPECT_EQ(st.at("max_rate_1s").as_int64(), 30);
    f.advance(50);  // one token per 50 ms
    EXPECT_EQ(error_code(f.call3("clb", "DescribeTaskStatus", {{"TaskId", id}})), "");
    EXPECT_EQ(error_code(f.call3("clb", "DescribeTaskStatus", {{"TaskId", id}})),
              "RequestLimitExceeded");
}

TEST(SimV3Limits, DocumentedDefaultsAndAThrottledMutationDoesNothing) {
    auto cfg = v3_fixture::quiet_config();
    cfg.instances = {20, 0};
    v3_fixture f(cfg);
    for (int i = 0; i < 40; ++i)
        ASSERT_EQ(error_code(f.call3("cvm", "DescribeInstances")), "") << i;
    EXPECT_EQ(error_code(f.call3("cvm", "DescribeInstances")), "RequestLimitExceeded");
    // 2.0's DescribeInstances has its own bucket (20/s by default).
    EXPECT_EQ(testing::code(f.call("cvm", "DescribeInstances")), 0);

    auto ids = f.sim.cvm().ids();
    for (int i = 0; i < 10; ++i)
        ASSERT_EQ(error_code(f.call3("cvm", "StopInstances",
                                     {{"InstanceIds", json::array{json::string(ids[i])}}})),
                  "")
            << i;
    EXPECT_EQ(error_code(f.call3("cvm", "StopInstances",
                                 {{"InstanceIds", json::array{json::string(ids[10])}}})),
              "RequestLimitExceeded");
    EXPECT_EQ(f.sim.counters().executed(ids[10], "StopInstances"), 0);
    EXPECT_EQ(f.sim.settings().rate_for_v3("RegisterTargets"), 20);
    EXPECT_EQ(f.sim.settings().rate_for_v3("CreateListener"), 20);
    EXPECT_EQ(f.sim.settings().rate_for_v3("TerminateInstances"), 10);
}

TEST(SimV3Limits, ConfiguredUnderRateLimitsV3) {
    auto cfg = parse_config(
        "rate_limits:\n  v3:\n    default: 5\n    actions:\n      DescribeTaskStatus: 2\n",
        "test.yaml");
    EXPECT_EQ(cfg.rate_for_v3("DescribeTaskStatus"), 2);
    EXPECT_EQ(cfg.rate_for_v3("RegisterTargets"), 20);  // documented default kept
    EXPECT_EQ(cfg.rate_for_v3("CreateListener"), 5);
    EXPECT_EQ(cfg.rate_for("DescribeTaskStatus"), 20);  // 2.0 unchanged
    EXPECT_THROW(parse_config("rate_limits:\n  v3:\n    burst: 5\n", "t.yaml"), std::runtime_error);
    cfg.rate_limits.enabled = false;
    EXPECT_EQ(cfg.rate_for_v3("DescribeInstances"), 0);
}

TEST(SimV3Limits, TheExampleConfigListsTheDocumentedDefaults) {
    auto c = load_config(SIM_EXAMPLE_CONFIG);
    config defaults;
    EXPECT_EQ(c.rate_limits.v3.per_action, defaults.rate_limits.v3.per_action);
    EXPECT_EQ(c.rate_limits.v3.default_rate, defaults.rate_limits.v3.default_rate);
}

// ---- faults ----

TEST(SimV3Faults, ApiErrorFaultsAre3_0ErrorsAndRunNothing) {
    auto cfg = v3_fixture::quiet_config();
    cfg.faults.per_action["StopInstances"][fault_kind::code_6000] = 1.0;
    cfg.faults.per_action["StartInstances"][fault_kind::code_6200] = 1.0;
    cfg.faults.per_action["RebootInstances"][fault_kind::http_503] = 1.0;
    v3_fixture f(cfg);
    auto ids = f.sim.cvm().ids();
    auto one = [&](const std::string& id) {
        return json::object{{"InstanceIds", json::array{json::string(id)}}};
    };
    auto r = f.call3("cvm", "StopInstances", one(ids[0]));
    EXPECT_EQ(error_code(r), "InternalError");
    EXPECT_FALSE(request_id(r).empty());
    EXPECT_EQ(error_code(f.call3("cvm", "StartInstances", one(ids[3]))), "ServiceUnavailable");
    auto req = f.make("cvm", "RebootInstances", one(ids[0]));
    auto out = f.send(f.sign(req));
    EXPECT_EQ(out.status, 503u);
    EXPECT_EQ(f.sim.counters().to_json().at("resources").as_object().size(), 0u);
    auto st = f.sim.counters().to_json().at("actions").at("StopInstances");
    EXPECT_EQ(st.at("faults").at("code_6000").as_int64(), 1);
}

TEST(SimV3Faults, CloseAfterRunsTheCallAndLosesTheAnswer) {
    auto cfg = v3_fixture::quiet_config();
    cfg.faults.per_action["StopInstances"][fault_kind::close_after] = 1.0;
    cfg.faults.per_action["StartInstances"][fault_kind::close_before] = 1.0;
    cfg.faults.per_action["DescribeInstances"][fault_kind::truncated_json] = 1.0;
    v3_fixture f(cfg);
    auto ids = f.sim.cvm().ids();
    auto stop =
        f.make("cvm", "StopInstances", {{"InstanceIds", json::array{json::string(ids[0])}}});
    EXPECT_EQ(f.send(f.sign(stop)).how, http_out::delivery::close_after);
    EXPECT_EQ(f.sim.counters().executed(ids[0], "StopInstances"), 1);
    auto tasks = f.get("/_sim/tasks").at("tasks").as_array();
    ASSERT_EQ(tasks.size(), 1u);  // the lost answer's RequestId is in the ground truth
    EXPECT_EQ(tasks[0].at("request_id").as_string().size(), 36u);
    auto start =
        f.make("cvm", "StartInstances", {{"InstanceIds", json::array{json::string(ids[3])}}});
    EXPECT_EQ(f.send(f.sign(start)).how, http_out::delivery::close_before);
    EXPECT_EQ(f.sim.counters().executed(ids[3], "StartInstances"), 0);
    auto d = f.make("cvm", "DescribeInstances");
    boost::system::error_code ec;
    boost::json::parse(f.send(f.sign(d)).body, ec);
    EXPECT_TRUE(ec);
}

// ---- ground truth and reset ----

TEST(SimV3GroundTruth, ResetForgetsClbTasksAndRestartsRequestIds) {
    v3_fixture f;
    auto first = request_id(f.call3("clb", "RegisterTargets", targets_call("lb-a")));
    ASSERT_EQ(f.sim.handle({"POST", "/_sim/reset", "", "", false}).status, 200u);
    EXPECT_TRUE(f.get("/_sim/tasks").at("tasks").as_array().empty());
    EXPECT_EQ(error_code(f.call3("clb", "DescribeTaskStatus", {{"TaskId", first}})),
              "ResourceNotFound");
    v3_fixture g;
    EXPECT_EQ(request_id(g.call3("clb", "RegisterTargets", targets_call("lb-a"))), first);
}

TEST(SimV3GroundTruth, ControlRoutesAnswerOnA3_0Host) {
    v3_fixture f;
    auto out = f.sim.handle({"GET", "/_sim/stats", "cvm.tencentcloudapi.com", "", false});
    EXPECT_EQ(out.status, 200u);
    EXPECT_TRUE(boost::json::parse(out.body).as_object().contains("actions"));
}

}  // namespace
}  // namespace taskpoller::sim
