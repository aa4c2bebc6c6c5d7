// CVM 2017-03-12 in the simulator: whole-call semantics, LatestOperation*, the stale window,
// DescribeInstances' Limit, and one instance pool shared with API 2.0.

#include "sim/cvm.hpp"
#include "v3_test_support.hpp"

namespace taskpoller::sim {
namespace {

namespace json = boost::json;
using testing::error_code;
using testing::request_id;
using testing::v3_fixture;

json::array id_array(const std::vector<std::string>& ids) {
    json::array a;
    for (const auto& id : ids) a.emplace_back(id);
    return a;
}

struct SimV3Cvm : ::testing::Test {
    v3_fixture f;
    std::vector<std::string> ids = f.sim.cvm().ids();  // 3 running, then 3 stopped

    json::object act(const std::string& action, const std::vector<std::string>& which,
                     json::object extra = {}) {
        extra["InstanceIds"] = id_array(which);
        return f.call3("cvm", action, extra);
    }
    // The InstanceSet entry of `id` from a DescribeInstances of just that id.
    json::object describe(const std::string& id) {
        auto resp = f.call3("cvm", "DescribeInstances", {{"InstanceIds", id_array({id})}});
        EXPECT_EQ(error_code(resp), "") << json::serialize(resp);
        auto set = resp.at("InstanceSet").as_array();
        EXPECT_EQ(set.size(), 1u);
        return set.empty() ? json::object{} : set[0].as_object();
    }
    std::string state(const std::string& id) {
        return std::string(describe(id).at("InstanceState").as_string());
    }
    std::int64_t executed_total() {
        std::int64_t n = 0;
        const auto stats = f.sim.counters().to_json();  // kept alive for the loop
        for (const auto& [id, per] : stats.at("resources").as_object())
            for (const auto& [action, count] : per.as_object()) n += count.as_int64();
        return n;
    }
};

TEST_F(SimV3Cvm, StopRunsOnEveryInstanceUnderOneRequestId) {
    auto resp = act("StopInstances", {ids[0], ids[1]});
    ASSERT_EQ(error_code(resp), "") << json::serialize(resp);
    auto rid = request_id(resp);
    for (const auto& id : {ids[0], ids[1]}) {
        auto in = describe(id);
        EXPECT_EQ(in.at("InstanceState").as_string(), "STOPPING");
        EXPECT_EQ(in.at("LatestOperation").as_string(), "StopInstances");
        EXPECT_EQ(in.at("LatestOperationState").as_string(), "OPERATING");
        EXPECT_EQ(in.at("LatestOperationRequestId").as_string(), rid);
        EXPECT_TRUE(in.at("LatestOperationErrorMsg").is_null());
        EXPECT_EQ(f.sim.counters().executed(id, "StopInstances"), 1);
    }
    auto tasks = f.get("/_sim/tasks").at("tasks").as_array();
    ASSERT_EQ(tasks.size(), 1u);
    EXPECT_EQ(tasks[0].at("service").as_string(), "cvm");
    EXPECT_EQ(tasks[0].at("request_id").as_string(), rid);
    EXPECT_EQ(tasks[0].at("action").as_string(), "StopInstances");
    EXPECT_EQ(tasks[0].at("resources").as_array(), id_array({ids[0], ids[1]}));
    EXPECT_EQ(tasks[0].at("state").as_string(), "running");
    f.advance(1000);
    for (const auto& id : {ids[0], ids[1]}) {
        auto in = describe(id);
        EXPECT_EQ(in.at("InstanceState").as_string(), "STOPPED");
        EXPECT_EQ(in.at("LatestOperationState").as_string(), "SUCCESS");
        EXPECT_EQ(in.at("LatestOperationRequestId").as_string(), rid);
    }
    EXPECT_EQ(f.get("/_sim/tasks").at("tasks").at(0).at("state").as_string(), "succeeded");
}

TEST_F(SimV3Cvm, AnInstanceWithoutAnyOperationHasNullLatestOperationFields) {
    auto in = describe(ids[2]);
    EXPECT_EQ(in.at("InstanceState").as_string(), "RUNNING");
    for (const char* k : {"LatestOperation", "LatestOperationState", "LatestOperationRequestId",
                          "LatestOperationErrorMsg"})
        EXPECT_TRUE(in.at(k).is_null()) << k;
    EXPECT_EQ(state(ids[3]), "STOPPED");
}

TEST_F(SimV3Cvm, OneUnknownIdRefusesTheWholeCallAndNothingRuns) {
    auto resp = act("StopInstances", {ids[0], "ins-nothere", ids[1]});
    EXPECT_EQ(error_code(resp), "InvalidInstanceId.NotFound");
    EXPECT_EQ(executed_total(), 0);
    EXPECT_EQ(state(ids[0]), "RUNNING");
    EXPECT_TRUE(describe(ids[0]).at("LatestOperation").is_null());
    EXPECT_TRUE(f.get("/_sim/tasks").at("tasks").as_array().empty());
}

TEST_F(SimV3Cvm, OneInstanceInTheWrongStateRefusesTheWholeCall) {
    EXPECT_EQ(error_code(act("StopInstances", {ids[0], ids[3]})),
              "UnsupportedOperation.InstanceStateStopped");
    EXPECT_EQ(error_code(act("StartInstances", {ids[3], ids[0]})),
              "UnsupportedOperation.InstanceStateRunning");
    EXPECT_EQ(error_code(act("RebootInstances", {ids[4]})),
              "UnsupportedOperation.InstanceStateStopped");
    EXPECT_EQ(executed_total(), 0);
    EXPECT_EQ(state(ids[0]), "RUNNING");
    EXPECT_EQ(state(ids[3]), "STOPPED");
}

TEST_F(SimV3Cvm, AnOperationInProgressRefusesTheWholeCall) {
    ASSERT_EQ(error_code(act("StopInstances", {ids[0]})), "");
    EXPECT_EQ(error_code(act("StopInstances", {ids[1], ids[0]})),
              "OperationDenied.InstanceOperationInProgress");
    EXPECT_EQ(error_code(act("StartInstances", {ids[0]})),
              "OperationDenied.InstanceOperationInProgress");
    EXPECT_EQ(f.sim.counters().executed(ids[1], "StopInstances"), 0);
    EXPECT_EQ(f.sim.counters().executed(ids[0], "StopInstances"), 1);
    // Precedence: unknown ids first, then operations in progress, then states.
    EXPECT_EQ(error_code(act("StopInstances", {ids[0], "ins-nothere"})),
              "InvalidInstanceId.NotFound");
    EXPECT_EQ(error_code(act("StopInstances", {ids[3], ids[0]})),
              "OperationDenied.InstanceOperationInProgress");
    f.advance(1000);
    EXPECT_EQ(error_code(act("StartInstances", {ids[0]})), "");
}

TEST_F(SimV3Cvm, InstanceIdsMustHold1To100Strings) {
    EXPECT_EQ(error_code(f.call3("cvm", "StopInstances")), "MissingParameter");
    EXPECT_EQ(error_code(act("StopInstances", {})), "InvalidParameterValue.LimitExceeded");
    std::vector<std::string> many(101);
    for (std::size_t i = 0; i < many.size(); ++i) many[i] = "ins-" + std::to_string(i);
    EXPECT_EQ(error_code(act("StopInstances", many)), "InvalidParameterValue.LimitExceeded");
    EXPECT_EQ(error_code(f.call3("cvm", "StopInstances", {{"InstanceIds", ids[0]}})),
              "InvalidParameter");
    EXPECT_EQ(error_code(f.call3("cvm", "StopInstances", {{"InstanceIds", json::array{1, 2}}})),
              "InvalidParameter");
    EXPECT_EQ(error_code(act("StopInstances", {ids[0]}, {{"StopType", "GENTLE"}})),
              "InvalidParameterValue");
    EXPECT_EQ(executed_total(), 0);
    // A repeated id runs once.
    ASSERT_EQ(error_code(act("StopInstances", {ids[0], ids[0]})), "");
    EXPECT_EQ(f.sim.counters().executed(ids[0], "StopInstances"), 1);
}

TEST_F(SimV3Cvm, EachActionGoesThroughItsStates) {
    struct step {
        const char* action;
        std::string id;
        const char* via;
        const char* target;
        json::object extra;
    };
    for (const auto& s :
         {step{"StartInstances", ids[3], "STARTING", "RUNNING", {}},
          step{"RebootInstances", ids[0], "REBOOTING", "RUNNING", {{"StopType", "SOFT"}}},
          step{"ResetInstancesPassword", ids[4], "STOPPED", "STOPPED", {{"Password", "x1!Ab"}}},
          step{"ResetInstancesPassword",
               ids[1],
               "RUNNING",
               "RUNNING",
               {{"Password", "x1!Ab"}, {"ForceStop", true}}}}) {
        auto resp = act(s.action, {s.id}, s.extra);
        ASSERT_EQ(error_code(resp), "") << s.action << json::serialize(resp);
        auto in = describe(s.id);
        EXPECT_EQ(in.at("InstanceState").as_string(), s.via) << s.action;
        EXPECT_EQ(in.at("LatestOperationState").as_string(), "OPERATING") << s.action;
        f.advance(1000);
        in = describe(s.id);
        EXPECT_EQ(in.at("InstanceState").as_string(), s.target) << s.action;
        EXPECT_EQ(in.at("LatestOperation").as_string(), s.action);
        EXPECT_EQ(in.at("LatestOperationState").as_string(), "SUCCESS") << s.action;
        EXPECT_EQ(in.at("LatestOperationRequestId").as_string(), request_id(resp));
    }
    EXPECT_EQ(error_code(act("ResetInstancesPassword", {ids[2]}, {{"Password", "x1!Ab"}})),
              "UnsupportedOperation.InstanceStateRunning");
    EXPECT_EQ(error_code(act("ResetInstancesPassword", {ids[5]})), "MissingParameter");
}

TEST_F(SimV3Cvm, TerminatedInstancesDisappearFromBothApis) {
    auto resp = act("TerminateInstances", {ids[0], ids[3]});
    ASSERT_EQ(error_code(resp), "");
    EXPECT_EQ(state(ids[0]), "TERMINATING");
    f.advance(1000);
    auto set = f.call3("cvm", "DescribeInstances", {{"InstanceIds", id_array({ids[0], ids[3]})}});
    EXPECT_EQ(set.at("TotalCount").as_int64(), 0);
    EXPECT_TRUE(set.at("InstanceSet").as_array().empty());
    EXPECT_EQ(f.call3("cvm", "DescribeInstances").at("TotalCount").as_int64(), 4);
    EXPECT_EQ(error_code(act("StartInstances", {ids[3]})), "InvalidInstanceId.NotFound");
    auto v2 = f.call("cvm", "DescribeInstances", {{"instanceIds.0", ids[0]}});
    EXPECT_EQ(v2.at("totalCount").as_int64(), 0);
    EXPECT_EQ(f.get("/_sim/tasks").at("tasks").at(0).at("state").as_string(), "succeeded");
}

TEST_F(SimV3Cvm, AFailedOperationLeavesTheInstanceWhereItWasAndSaysWhy) {
    auto cfg = v3_fixture::quiet_config();
    cfg.operations["StopInstances"] = {{millis(1000), millis(1000)}, 1.0};
    v3_fixture g(cfg);
    auto id = g.sim.cvm().ids()[0];
    auto resp = g.call3("cvm", "StopInstances", {{"InstanceIds", id_array({id})}});
    ASSERT_EQ(error_code(resp), "");
    g.advance(1000);
    auto in = g.call3("cvm", "DescribeInstances", {{"InstanceIds", id_array({id})}})
                  .at("InstanceSet")
                  .at(0)
                  .as_object();
    EXPECT_EQ(in.at("InstanceState").as_string(), "RUNNING");
    EXPECT_EQ(in.at("LatestOperationState").as_string(), "FAILED");
    EXPECT_EQ(in.at("LatestOperationRequestId").as_string(), request_id(resp));
    EXPECT_FALSE(in.at("LatestOperationErrorMsg").as_string().empty());
    auto task = g.get("/_sim/tasks").at("tasks").at(0);
    EXPECT_EQ(task.at("state").as_string(), "failed");
}

TEST_F(SimV3Cvm, TheStaleWindowShowsThePreviousStateAndOperation) {
    auto cfg = v3_fixture::quiet_config();
    cfg.stale_window = millis(2000);
    cfg.default_operation = {{millis(5000), millis(5000)}, 0.0};
    v3_fixture g(cfg);
    auto id = g.sim.cvm().ids()[0];
    auto show = [&] {
        return g.call3("cvm", "DescribeInstances", {{"InstanceIds", id_array({id})}})
            .at("InstanceSet")
            .at(0)
            .as_object();
    };
    auto stop = g.call3("cvm", "StopInstances", {{"InstanceIds", id_array({id})}});
    ASSERT_EQ(error_code(stop), "");
    auto in = show();
    EXPECT_EQ(in.at("InstanceState").as_string(), "RUNNING");
    EXPECT_TRUE(in.at("LatestOperationRequestId").is_null());
    g.advance(1999);
    EXPECT_EQ(show().at("InstanceState").as_string(), "RUNNING");
    g.advance(1);
    in = show();
    EXPECT_EQ(in.at("InstanceState").as_string(), "STOPPING");
    EXPECT_EQ(in.at("LatestOperationRequestId").as_string(), request_id(stop));
    g.advance(3000);
    EXPECT_EQ(show().at("InstanceState").as_string(), "STOPPED");

    // The next operation: the stale read shows the previous operation's SUCCESS.
    auto start = g.call3("cvm", "StartInstances", {{"InstanceIds", id_array({id})}});
    ASSERT_EQ(error_code(start), "");
    in = show();
    EXPECT_EQ(in.at("InstanceState").as_string(), "STOPPED");
    EXPECT_EQ(in.at("LatestOperation").as_string(), "StopInstances");
    EXPECT_EQ(in.at("LatestOperationState").as_string(), "SUCCESS");
    EXPECT_EQ(in.at("LatestOperationRequestId").as_string(), request_id(stop));
    // The ground truth is not stale.
    auto truth = g.get("/_sim/instances").at("instances").at(0).as_object();
    EXPECT_EQ(truth.at("instance_state").as_string(), "STARTING");
    EXPECT_EQ(truth.at("shown_instance_state").as_string(), "STOPPED");
    EXPECT_EQ(truth.at("latest_operation").at("LatestOperationRequestId").as_string(),
              request_id(start));
    g.advance(2000);
    EXPECT_EQ(show().at("LatestOperationRequestId").as_string(), request_id(start));
}

TEST(SimV3CvmDescribe, LimitDefaultsTo20AndCutsAnIdList) {
    auto cfg = v3_fixture::quiet_config();
    cfg.instances = {30, 0};
    v3_fixture f(cfg);
    auto all = f.sim.cvm().ids();
    std::vector<std::string> first25(all.begin(), all.begin() + 25);
    first25.insert(first25.begin() + 3, "ins-unknown1");  // unknown ids are left out
    auto d = [&](json::object extra) {
        extra["InstanceIds"] = id_array(first25);
        auto r = f.call3("cvm", "DescribeInstances", extra);
        EXPECT_EQ(error_code(r), "") << json::serialize(r);
        return r;
    };
    auto r = d({});
    EXPECT_EQ(r.at("TotalCount").as_int64(), 25);
    ASSERT_EQ(r.at("InstanceSet").as_array().size(), 20u);
    EXPECT_EQ(r.at("InstanceSet").at(0).at("InstanceId").as_string(), all[0]);
    EXPECT_EQ(r.at("InstanceSet").at(3).at("InstanceId").as_string(), all[3]);
    EXPECT_EQ(d({{"Limit", 100}}).at("InstanceSet").as_array().size(), 25u);
    auto page2 = d({{"Offset", 20}});
    ASSERT_EQ(page2.at("InstanceSet").as_array().size(), 5u);
    EXPECT_EQ(page2.at("InstanceSet").at(0).at("InstanceId").as_string(), all[20]);
    EXPECT_EQ(f.call3("cvm", "DescribeInstances").at("InstanceSet").as_array().size(), 20u);
    EXPECT_EQ(f.call3("cvm", "DescribeInstances").at("TotalCount").as_int64(), 30);

    EXPECT_EQ(error_code(f.call3("cvm", "DescribeInstances", {{"Limit", 0}})),
              "InvalidParameterValue");
    EXPECT_EQ(error_code(f.call3("cvm", "DescribeInstances", {{"Limit", 101}})),
              "InvalidParameterValue");
    EXPECT_EQ(error_code(f.call3("cvm", "DescribeInstances", {{"Limit", "20"}})),
              "InvalidParameter");
    std::vector<std::string> many(101, "ins-x");
    for (std::size_t i = 0; i < many.size(); ++i) many[i] += std::to_string(i);
    EXPECT_EQ(error_code(f.call3("cvm", "DescribeInstances", {{"InstanceIds", id_array(many)}})),
              "InvalidParameterValue.LimitExceeded");
    json::array filters{json::object{{"Name", "instance-state"}, {"Values", {"RUNNING"}}}};
    EXPECT_EQ(error_code(f.call3("cvm", "DescribeInstances",
                                 {{"InstanceIds", id_array({all[0]})}, {"Filters", filters}})),
              "InvalidParameterCombination");
    EXPECT_EQ(f.call3("cvm", "DescribeInstances", {{"Filters", filters}, {"Limit", 100}})
                  .at("TotalCount")
                  .as_int64(),
              30);
    json::array bad{json::object{{"Name", "zone"}, {"Values", {"x"}}}};
    EXPECT_EQ(error_code(f.call3("cvm", "DescribeInstances", {{"Filters", bad}})), "InvalidFilter");
}

TEST_F(SimV3Cvm, OneCloudTwoApis) {
    // A 2.0 stop is seen by 3.0 (LatestOperation with the 2.0 requestId) and blocks a 3.0 call.
    auto v2 = f.call("cvm", "StopInstances", {{"instanceIds.0", ids[0]}});
    ASSERT_EQ(testing::code(v2), 0);
    auto v2_request_id = std::string(v2.at("detail").at(ids[0]).at("requestId").as_string());
    EXPECT_EQ(error_code(act("StopInstances", {ids[0]})),
              "OperationDenied.InstanceOperationInProgress");
    auto in = describe(ids[0]);
    EXPECT_EQ(in.at("InstanceState").as_string(), "STOPPING");
    EXPECT_EQ(in.at("LatestOperationRequestId").as_string(), v2_request_id);
    // A 3.0 stop is seen by 2.0.
    ASSERT_EQ(error_code(act("StopInstances", {ids[1]})), "");
    EXPECT_EQ(f.sim.cvm().shown_status(ids[1], f.now_ms), cvm_status::stopping);
    auto refused = f.call("cvm", "StopInstances", {{"instanceIds.0", ids[1]}});
    EXPECT_EQ(testing::code(refused), 5100);
    f.advance(1000);
    EXPECT_EQ(f.sim.cvm().shown_status(ids[1], f.now_ms), cvm_status::stopped);
    // Executions are counted per resource and action, whichever API asked.
    EXPECT_EQ(f.sim.counters().executed(ids[0], "StopInstances"), 1);
    EXPECT_EQ(f.sim.counters().executed(ids[1], "StopInstances"), 1);
}

}  // namespace
}  // namespace taskpoller::sim
