// VPC 2017-03-12 in the simulator: AttachNetworkInterface / DetachNetworkInterface tasks polled
// with DescribeVpcTaskResult, one running task per ENI, attachment state, ground truth.

#include "sim/vpc_v3.hpp"
#include "v3_test_support.hpp"

namespace taskpoller::sim {
namespace {

namespace json = boost::json;
using testing::error_code;
using testing::request_id;
using testing::v3_fixture;

json::object eni_call(const std::string& eni, const std::string& instance) {
    return {{"NetworkInterfaceId", eni}, {"InstanceId", instance}};
}

json::object task_result(v3_fixture& f, const std::string& task_id) {
    auto r = f.call3("vpc", "DescribeVpcTaskResult", {{"TaskId", task_id}});
    EXPECT_EQ(error_code(r), "") << json::serialize(r);
    return r;
}

std::string task_status(v3_fixture& f, const std::string& task_id) {
    auto r = task_result(f, task_id);
    return r.contains("Status") ? std::string(r.at("Status").as_string()) : "";
}

TEST(SimV3Vpc, AttachAndDetachAreTasksPolledByRequestId) {
    v3_fixture f;
    auto ins = f.sim.cvm().ids()[0];
    auto r = f.call3("vpc", "AttachNetworkInterface", eni_call("eni-1", ins));
    ASSERT_EQ(error_code(r), "") << json::serialize(r);
    EXPECT_EQ(r.size(), 1u);  // just the RequestId
    auto id = request_id(r);
    auto res = task_result(f, id);
    EXPECT_EQ(res.at("Status").as_string(), "RUNNING");
    EXPECT_EQ(res.at("Output").as_string(), "");
    EXPECT_TRUE(res.at("Result").as_array().empty());
    auto tasks = f.get("/_sim/tasks").at("tasks").as_array();
    ASSERT_EQ(tasks.size(), 1u);
    EXPECT_EQ(tasks[0].at("service").as_string(), "vpc");
    EXPECT_EQ(tasks[0].at("request_id").as_string(), id);
    EXPECT_EQ(tasks[0].at("action").as_string(), "AttachNetworkInterface");
    EXPECT_EQ(tasks[0].at("resources").as_array(), json::array{"eni-1"});
    EXPECT_EQ(tasks[0].at("instance_id").as_string(), ins);
    EXPECT_EQ(tasks[0].at("state").as_string(), "running");
    EXPECT_EQ(tasks[0].at("done_at_ms").as_int64(), f.now_ms + 1000);
    EXPECT_EQ(f.sim.vpc_v3().attachment("eni-1", f.now_ms), "");
    f.advance(999);
    EXPECT_EQ(task_status(f, id), "RUNNING");
    f.advance(1);
    EXPECT_EQ(task_status(f, id), "SUCCESS");
    EXPECT_EQ(f.get("/_sim/tasks").at("tasks").at(0).at("state").as_string(), "succeeded");
    EXPECT_EQ(f.sim.vpc_v3().attachment("eni-1", f.now_ms), ins);
    EXPECT_EQ(f.sim.counters().executed("eni-1", "AttachNetworkInterface"), 1);

    auto d = f.call3("vpc", "DetachNetworkInterface", eni_call("eni-1", ins));
    ASSERT_EQ(error_code(d), "") << json::serialize(d);
    EXPECT_EQ(task_status(f, request_id(d)), "RUNNING");
    f.advance(1000);
    EXPECT_EQ(task_status(f, request_id(d)), "SUCCESS");
    EXPECT_EQ(task_status(f, id), "SUCCESS");  // the older task keeps its answer
    EXPECT_EQ(f.sim.vpc_v3().attachment("eni-1", f.now_ms), "");
    EXPECT_EQ(f.sim.counters().executed("eni-1", "DetachNetworkInterface"), 1);
    // The regional host serves the same service.
    auto regional = f.make("vpc", "DescribeVpcTaskResult", {{"TaskId", id}});
    regional.host = "vpc.ap-guangzhou.tencentcloudapi.com";
    EXPECT_EQ(f.response(f.sign(regional)).at("Status").as_string(), "SUCCESS");
}

TEST(SimV3Vpc, OneRunningTaskPerNetworkInterface) {
    v3_fixture f;
    auto ins = f.sim.cvm().ids();
    ASSERT_EQ(error_code(f.call3("vpc", "AttachNetworkInterface", eni_call("eni-1", ins[0]))), "");
    EXPECT_EQ(error_code(f.call3("vpc", "DetachNetworkInterface", eni_call("eni-1", ins[0]))),
              "ResourceInUse");
    EXPECT_EQ(error_code(f.call3("vpc", "AttachNetworkInterface", eni_call("eni-1", ins[1]))),
              "ResourceInUse");
    EXPECT_EQ(f.sim.counters().executed("eni-1", "DetachNetworkInterface"), 0);
    EXPECT_EQ(f.sim.counters().executed("eni-1", "AttachNetworkInterface"), 1);
    // Another ENI, even on the same instance, is free.
    EXPECT_EQ(error_code(f.call3("vpc", "AttachNetworkInterface", eni_call("eni-2", ins[0]))), "");
    EXPECT_EQ(f.get("/_sim/tasks").at("tasks").as_array().size(), 2u);
    auto st = f.sim.counters().to_json().at("actions");
    EXPECT_EQ(st.at("AttachNetworkInterface").at("refused").at("ResourceInUse").as_int64(), 1);
    f.advance(1000);
    EXPECT_EQ(error_code(f.call3("vpc", "DetachNetworkInterface", eni_call("eni-1", ins[0]))), "");
}

TEST(SimV3Vpc, AttachmentStateRefusals) {
    v3_fixture f;
    auto ins = f.sim.cvm().ids();
    EXPECT_EQ(error_code(f.call3("vpc", "DetachNetworkInterface", eni_call("eni-1", ins[0]))),
              "UnsupportedOperation.InvalidState");
    ASSERT_EQ(error_code(f.call3("vpc", "AttachNetworkInterface", eni_call("eni-1", ins[0]))), "");
    f.advance(1000);
    EXPECT_EQ(error_code(f.call3("vpc", "AttachNetworkInterface", eni_call("eni-1", ins[0]))),
              "UnsupportedOperation.AttachmentAlreadyExists");
    EXPECT_EQ(error_code(f.call3("vpc", "AttachNetworkInterface", eni_call("eni-1", ins[1]))),
              "UnsupportedOperation.AttachmentAlreadyExists");
    EXPECT_EQ(error_code(f.call3("vpc", "DetachNetworkInterface", eni_call("eni-1", ins[1]))),
              "UnsupportedOperation.InvalidState");
    EXPECT_EQ(f.get("/_sim/tasks").at("tasks").as_array().size(), 1u);
    // Terminating the instance detaches the ENI.
    ASSERT_EQ(error_code(f.call3("cvm", "TerminateInstances",
                                 {{"InstanceIds", json::array{json::string(ins[0])}}})),
              "");
    EXPECT_EQ(f.sim.vpc_v3().attachment("eni-1", f.now_ms), ins[0]);
    f.advance(1000);
    EXPECT_EQ(f.sim.vpc_v3().attachment("eni-1", f.now_ms), "");
    EXPECT_EQ(error_code(f.call3("vpc", "AttachNetworkInterface", eni_call("eni-1", ins[1]))), "");
}

TEST(SimV3Vpc, AFailedTaskIsFailedWithOutputAndChangesNothing) {
    auto cfg = v3_fixture::quiet_config();
    cfg.operations["AttachNetworkInterface"] = {{millis(400), millis(400)}, 1.0};
    v3_fixture f(cfg);
    auto ins = f.sim.cvm().ids()[0];
    auto id = request_id(f.call3("vpc", "AttachNetworkInterface", eni_call("eni-1", ins)));
    f.advance(400);
    auto r = task_result(f, id);
    EXPECT_EQ(r.at("Status").as_string(), "FAILED");
    EXPECT_EQ(r.at("Output").as_string(), "simulated failure of AttachNetworkInterface");
    EXPECT_EQ(f.get("/_sim/tasks").at("tasks").at(0).at("state").as_string(), "failed");
    EXPECT_EQ(f.sim.vpc_v3().attachment("eni-1", f.now_ms), "");
    EXPECT_EQ(error_code(f.call3("vpc", "DetachNetworkInterface", eni_call("eni-1", ins))),
              "UnsupportedOperation.InvalidState");
}

TEST(SimV3Vpc, BadParametersAndUnknownTasks) {
    v3_fixture f;
    auto ins = f.sim.cvm().ids()[0];
    auto code = [&](const std::string& action, const json::object& p) {
        return error_code(f.call3("vpc", action, p));
    };
    EXPECT_EQ(code("AttachNetworkInterface", eni_call("nic-1", ins)),
              "InvalidParameterValue.Malformed");
    EXPECT_EQ(code("AttachNetworkInterface", eni_call("eni-1", "ins-nothere")), "ResourceNotFound");
    EXPECT_EQ(code("AttachNetworkInterface", {{"InstanceId", ins}}), "MissingParameter");
    EXPECT_EQ(code("DetachNetworkInterface", {{"NetworkInterfaceId", "eni-1"}}),
              "MissingParameter");
    EXPECT_EQ(code("AttachNetworkInterface", {{"NetworkInterfaceId", 5}, {"InstanceId", ins}}),
              "InvalidParameter");
    auto p = eni_call("eni-1", ins);
    p["ClientToken"] = std::string(65, 't');
    EXPECT_EQ(code("AttachNetworkInterface", p), "InvalidParameterValue.TooLong");
    p["ClientToken"] = std::string(64, 't');
    EXPECT_EQ(code("AttachNetworkInterface", p), "");

    EXPECT_EQ(code("DescribeVpcTaskResult", {{"TaskId", "nope"}}), "ResourceNotFound");
    EXPECT_EQ(code("DescribeVpcTaskResult", {}), "MissingParameter");
    // A CLB task is not a VPC task, nor the other way round.
    auto clb = f.call3("clb", "DeleteLoadBalancer", {{"LoadBalancerIds", json::array{"lb-a"}}});
    ASSERT_EQ(error_code(clb), "");
    EXPECT_EQ(code("DescribeVpcTaskResult", {{"TaskId", request_id(clb)}}), "ResourceNotFound");
    auto vpc_task = f.get("/_sim/tasks").at("tasks").as_array();
    std::string vpc_id;
    for (const auto& t : vpc_task)
        if (t.at("service").as_string() == "vpc") vpc_id = t.at("request_id").as_string();
    ASSERT_FALSE(vpc_id.empty());
    EXPECT_EQ(error_code(f.call3("clb", "DescribeTaskStatus", {{"TaskId", vpc_id}})),
              "ResourceNotFound");
    // Other VPC actions are not simulated.
    EXPECT_EQ(code("DeleteNetworkInterface", {{"NetworkInterfaceId", "eni-1"}}), "InvalidAction");
    EXPECT_EQ(f.sim.counters().executed("nic-1", "AttachNetworkInterface"), 0);
    EXPECT_EQ(f.sim.settings().rate_for_v3("DescribeVpcTaskResult"), 20);
}

TEST(SimV3Vpc, ResetForgetsTasks) {
    v3_fixture f;
    auto ins = f.sim.cvm().ids()[0];
    auto id = request_id(f.call3("vpc", "AttachNetworkInterface", eni_call("eni-1", ins)));
    f.advance(1000);
    ASSERT_EQ(f.sim.handle({"POST", "/_sim/reset", "", "", false}).status, 200u);
    EXPECT_EQ(error_code(f.call3("vpc", "DescribeVpcTaskResult", {{"TaskId", id}})),
              "ResourceNotFound");
    EXPECT_EQ(f.sim.vpc_v3().attachment("eni-1", f.now_ms), "");
    EXPECT_TRUE(f.get("/_sim/tasks").at("tasks").as_array().empty());
}

}  // namespace
}  // namespace taskpoller::sim
