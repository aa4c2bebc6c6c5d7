// CVM 2017-03-12 RunInstances in the simulator: PENDING → RUNNING / LAUNCH_FAILED, and the
// ClientToken: an identical replay returns the same InstanceIdSet and creates nothing.

#include "sim/cvm.hpp"
#include "v3_test_support.hpp"

namespace taskpoller::sim {
namespace {

namespace json = boost::json;
using testing::error_code;
using testing::request_id;
using testing::v3_fixture;

std::vector<std::string> id_set(const json::object& r) {
    std::vector<std::string> out;
    if (!r.contains("InstanceIdSet")) return out;
    for (const auto& v : r.at("InstanceIdSet").as_array()) out.emplace_back(v.as_string());
    return out;
}

json::array to_array(const std::vector<std::string>& ids) {
    json::array out;
    for (const auto& id : ids) out.emplace_back(id);
    return out;
}

json::array describe(v3_fixture& f, const std::vector<std::string>& ids) {
    auto r = f.call3("cvm", "DescribeInstances", {{"InstanceIds", to_array(ids)}, {"Limit", 100}});
    EXPECT_EQ(error_code(r), "") << json::serialize(r);
    return r.contains("InstanceSet") ? r.at("InstanceSet").as_array() : json::array{};
}

std::size_t created(v3_fixture& f) {
    std::size_t n = 0;
    auto stats = f.sim.counters().to_json();
    for (const auto& [id, per] : stats.at("resources").as_object())
        if (per.as_object().contains("RunInstances")) ++n;
    return n;
}

TEST(SimV3RunInstances, NewInstancesArePendingThenRunning) {
    v3_fixture f;
    auto before = f.sim.cvm().ids();
    auto r = f.call3("cvm", "RunInstances", {{"InstanceCount", 3}, {"ImageId", "img-1"}});
    ASSERT_EQ(error_code(r), "") << json::serialize(r);
    auto ids = id_set(r);
    ASSERT_EQ(ids.size(), 3u);
    for (const auto& id : ids) {
        EXPECT_TRUE(id.starts_with("ins-")) << id;
        EXPECT_EQ(std::count(before.begin(), before.end(), id), 0) << id;
    }
    EXPECT_EQ(f.sim.cvm().ids().size(), before.size() + 3);
    auto set = describe(f, ids);
    ASSERT_EQ(set.size(), 3u);
    for (const auto& in : set) {
        EXPECT_EQ(in.at("InstanceState").as_string(), "PENDING");
        EXPECT_EQ(in.at("LatestOperation").as_string(), "RunInstances");
        EXPECT_EQ(in.at("LatestOperationState").as_string(), "OPERATING");
        EXPECT_EQ(in.at("LatestOperationRequestId").as_string(), request_id(r));
    }
    // 2.0 sees status 3 (creating).
    EXPECT_EQ(f.sim.cvm().shown_status(ids[0], f.now_ms), cvm_status::pending);
    auto tasks = f.get("/_sim/tasks").at("tasks").as_array();
    ASSERT_EQ(tasks.size(), 1u);
    EXPECT_EQ(tasks[0].at("service").as_string(), "cvm");
    EXPECT_EQ(tasks[0].at("action").as_string(), "RunInstances");
    EXPECT_EQ(tasks[0].at("request_id").as_string(), request_id(r));
    EXPECT_EQ(tasks[0].at("resources").as_array(), to_array(ids));
    f.advance(999);
    EXPECT_EQ(describe(f, ids).at(0).at("InstanceState").as_string(), "PENDING");
    f.advance(1);
    for (const auto& in : describe(f, ids)) {
        EXPECT_EQ(in.at("InstanceState").as_string(), "RUNNING");
        EXPECT_EQ(in.at("LatestOperationState").as_string(), "SUCCESS");
    }
    EXPECT_EQ(created(f), 3u);
    // InstanceCount defaults to 1; a new instance then takes other operations.
    auto one = f.call3("cvm", "RunInstances");
    ASSERT_EQ(id_set(one).size(), 1u);
    EXPECT_EQ(error_code(f.call3("cvm", "StopInstances", {{"InstanceIds", to_array({ids[0]})}})),
              "");
}

TEST(SimV3RunInstances, AFailedLaunchIsLaunchFailed) {
    auto cfg = v3_fixture::quiet_config();
    cfg.operations["RunInstances"] = {{millis(2000), millis(2000)}, 1.0};
    v3_fixture f(cfg);
    auto ids = id_set(f.call3("cvm", "RunInstances", {{"InstanceCount", 2}}));
    ASSERT_EQ(ids.size(), 2u);
    f.advance(2000);
    auto set = describe(f, ids);
    ASSERT_EQ(set.size(), 2u);
    EXPECT_EQ(set[0].at("InstanceState").as_string(), "LAUNCH_FAILED");
    EXPECT_EQ(set[0].at("LatestOperationState").as_string(), "FAILED");
    EXPECT_EQ(f.sim.cvm().true_status(ids[0], f.now_ms), cvm_status::launch_failed);
    EXPECT_EQ(f.get("/_sim/tasks").at("tasks").at(0).at("state").as_string(), "failed");
    EXPECT_EQ(error_code(f.call3("cvm", "StartInstances", {{"InstanceIds", to_array(ids)}})),
              "UnsupportedOperation.InstanceStateLaunchFailed");
    EXPECT_EQ(error_code(f.call3("cvm", "TerminateInstances", {{"InstanceIds", to_array(ids)}})),
              "");
}

TEST(SimV3RunInstances, AReplayedClientTokenReturnsTheSameInstancesAndCreatesNothing) {
    v3_fixture f;
    json::object params{{"InstanceCount", 2}, {"ClientToken", "tok-1"}, {"ImageId", "img-1"}};
    auto first = f.call3("cvm", "RunInstances", params);
    ASSERT_EQ(error_code(first), "");
    auto ids = id_set(first);
    ASSERT_EQ(ids.size(), 2u);
    auto instances = f.sim.cvm().ids().size();

    // The same parameters in another key order.
    auto r = f.make("cvm", "RunInstances");
    r.body = R"({"ImageId":"img-1","ClientToken":"tok-1","InstanceCount":2})";
    auto replay = f.response(f.sign(r));
    ASSERT_EQ(error_code(replay), "") << json::serialize(replay);
    EXPECT_EQ(id_set(replay), ids);
    EXPECT_NE(request_id(replay), request_id(first));
    EXPECT_EQ(f.sim.cvm().ids().size(), instances);
    EXPECT_EQ(created(f), 2u);
    EXPECT_EQ(f.get("/_sim/tasks").at("tasks").as_array().size(), 1u);
    EXPECT_EQ(f.sim.counters().executed(ids[0], "RunInstances"), 1);
    // The instances keep the first call's RequestId.
    EXPECT_EQ(describe(f, ids).at(0).at("LatestOperationRequestId").as_string(), request_id(first));

    // Still the same after the launch ended, up to 24 h later.
    f.advance(cvm_service::client_token_ttl_ms - 1);
    EXPECT_EQ(id_set(f.call3("cvm", "RunInstances", params)), ids);
    EXPECT_EQ(created(f), 2u);
    f.advance(1);
    auto later = id_set(f.call3("cvm", "RunInstances", params));
    ASSERT_EQ(later.size(), 2u);
    EXPECT_NE(later, ids);
    EXPECT_EQ(created(f), 4u);

    // Without a token, the same call creates every time.
    json::object plain{{"InstanceCount", 1}};
    EXPECT_NE(id_set(f.call3("cvm", "RunInstances", plain)),
              id_set(f.call3("cvm", "RunInstances", plain)));
    EXPECT_EQ(created(f), 6u);
}

TEST(SimV3RunInstances, AReplayWithOtherParametersIsRefused) {
    v3_fixture f;
    ASSERT_EQ(error_code(
                  f.call3("cvm", "RunInstances", {{"InstanceCount", 1}, {"ClientToken", "tok-1"}})),
              "");
    auto instances = f.sim.cvm().ids().size();
    EXPECT_EQ(error_code(
                  f.call3("cvm", "RunInstances", {{"InstanceCount", 2}, {"ClientToken", "tok-1"}})),
              "UnsupportedOperation.IdempotentParameterMismatch");
    EXPECT_EQ(error_code(f.call3(
                  "cvm", "RunInstances",
                  {{"InstanceCount", 1}, {"ClientToken", "tok-1"}, {"InstanceName", "other"}})),
              "UnsupportedOperation.IdempotentParameterMismatch");
    EXPECT_EQ(f.sim.cvm().ids().size(), instances);
    EXPECT_EQ(created(f), 1u);
    // Another token is another call.
    EXPECT_EQ(error_code(
                  f.call3("cvm", "RunInstances", {{"InstanceCount", 2}, {"ClientToken", "tok-2"}})),
              "");
    EXPECT_EQ(created(f), 3u);
    auto st = f.sim.counters().to_json().at("actions").at("RunInstances");
    EXPECT_EQ(st.at("refused").at("UnsupportedOperation.IdempotentParameterMismatch").as_int64(),
              2);
}

TEST(SimV3RunInstances, BadParametersCreateNothing) {
    v3_fixture f;
    auto code = [&](const json::object& p) {
        return error_code(f.call3("cvm", "RunInstances", p));
    };
    EXPECT_EQ(code({{"ClientToken", std::string(65, 'x')}}), "InvalidClientToken.TooLong");
    EXPECT_EQ(code({{"ClientToken", 12}}), "InvalidParameter");
    EXPECT_EQ(code({{"InstanceCount", 0}}), "InvalidParameterValue");
    EXPECT_EQ(code({{"InstanceCount", 101}}), "InvalidParameterValue");
    EXPECT_EQ(code({{"InstanceCount", "2"}}), "InvalidParameter");
    EXPECT_EQ(code({{"DryRun", true}, {"InstanceCount", 2}}), "DryRunOperation");
    EXPECT_EQ(created(f), 0u);
    EXPECT_TRUE(f.get("/_sim/tasks").at("tasks").as_array().empty());
    EXPECT_EQ(code({{"ClientToken", std::string(64, 'x')}}), "");
    EXPECT_EQ(created(f), 1u);
    EXPECT_EQ(f.sim.settings().rate_for_v3("RunInstances"), 10);
}

TEST(SimV3RunInstances, ResetForgetsTokensAndCreatedInstances) {
    v3_fixture f;
    auto initial = f.sim.cvm().ids();
    auto ids = id_set(f.call3("cvm", "RunInstances", {{"ClientToken", "tok-1"}}));
    ASSERT_EQ(ids.size(), 1u);
    ASSERT_EQ(f.sim.handle({"POST", "/_sim/reset", "", "", false}).status, 200u);
    EXPECT_EQ(f.sim.cvm().ids(), initial);
    EXPECT_TRUE(describe(f, ids).empty());
    EXPECT_EQ(id_set(f.call3("cvm", "RunInstances", {{"ClientToken", "tok-1"}})).size(), 1u);
    EXPECT_EQ(created(f), 1u);
    EXPECT_EQ(f.sim.cvm().ids().size(), initial.size() + 1);
}

}  // namespace
}  // namespace taskpoller::sim
