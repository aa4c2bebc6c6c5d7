// API 3.0 behind the protocol seam: the registry's 3.0 profiles, chunking, answers read into
// neutral outcomes, CVM completion by LatestOperation*, and merging the answers of chunks.
#include "engine/cloud_v3.hpp"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

#include "engine/cvm_state.hpp"
#include "engine/registry.hpp"

namespace taskpoller::engine {
namespace {

namespace json = boost::json;
using kind = submission_answer::kind;
using namespace std::chrono_literals;

call_outcome answered(std::string body) {
    return {call_outcome::kind::answered, std::move(body), {}, 200};
}

std::string error_body(std::string_view code) {
    return fmt::format(
        R"({{"Response":{{"Error":{{"Code":"{}","Message":"m"}},"RequestId":"req-1"}}}})", code);
}

TEST(RegistryV3, cvm_follows_the_default_protocol_and_clb_vpc_are_always_there) {
    registry v2;
    EXPECT_EQ(v2.find_service("cvm")->proto, protocol::v2);
    EXPECT_EQ(v2.host("cvm"), "cvm.api.qcloud.com");
    EXPECT_EQ(v2.find_service("clb")->proto, protocol::v3);
    EXPECT_EQ(v2.host("clb"), "clb.tencentcloudapi.com");
    EXPECT_EQ(v2.find_service("lb")->proto, protocol::v2);

    registry v3("api.qcloud.com", protocol::v3);
    const auto* cvm = v3.find_service("cvm");
    ASSERT_NE(cvm, nullptr);
    EXPECT_EQ(cvm->proto, protocol::v3);
    EXPECT_EQ(cvm->version, "2017-03-12");
    EXPECT_EQ(v3.host("cvm", "ap-guangzhou"), "cvm.tencentcloudapi.com");
    auto stop = v3.find_action("cvm", "StopInstances");
    ASSERT_TRUE(stop);
    EXPECT_TRUE((*stop)->cvm->by_latest_operation);
    EXPECT_EQ((*stop)->chunk.max, 100u);
    EXPECT_FALSE(v3.find_action("cvm", "RestartInstances"));  // a 2.0 name
    EXPECT_EQ(v3.rate_limit("cvm", "StopInstances", 99), 8.0);
    EXPECT_EQ(v3.rate_limit("clb", "RegisterTargets", 99), 15.0);
    EXPECT_EQ(v3.rate_limit("clb", "DescribeTaskStatus", 99), 15.0);

    v3.set_v3_endpoint_style(v3_endpoint::regional);
    EXPECT_EQ(v3.host("cvm", "ap-guangzhou"), "cvm.ap-guangzhou.tencentcloudapi.com");
    v3.set_v3_endpoint_style(v3_endpoint::intl);
    EXPECT_EQ(v3.host("clb", "ap-guangzhou"), "clb.intl.tencentcloudapi.com");
}

TEST(RegistryV3, a_service_switches_protocol_only_where_a_profile_exists) {
    registry r;
    auto to = [](const char* name, protocol p) {
        service_override o;
        o.name = name;
        o.proto = p;
        return o;
    };
    ASSERT_TRUE(r.apply(to("cvm", protocol::v3)));
    EXPECT_EQ(r.find_service("cvm")->proto, protocol::v3);
    ASSERT_TRUE(r.apply(to("cvm", protocol::v2)));
    EXPECT_EQ(r.find_service("cvm")->proto, protocol::v2);
    service_override newer = to("cvm", protocol::v3);
    newer.version = "2099-01-01";
    ASSERT_TRUE(r.apply(newer));
    EXPECT_EQ(r.find_service("cvm")->version, "2099-01-01");
    service_override old_lb;
    old_lb.name = "lb";
    old_lb.version = "2099-01-01";
    EXPECT_FALSE(r.apply(old_lb));  // 2.0 has no versions
    auto lb = r.apply(to("lb", protocol::v3));
    ASSERT_FALSE(lb);
    EXPECT_NE(lb.error().message.find("no API 3.0 profile"), std::string::npos);
    // A new 3.0 cvm action needs no status rule: completion is LatestOperation*.
    registry v3("api.qcloud.com", protocol::v3);
    service_override o;
    o.name = "cvm";
    o.actions["ResizeInstanceDisks"] = {};
    ASSERT_TRUE(v3.apply(o));
    auto a = v3.find_action("cvm", "ResizeInstanceDisks");
    ASSERT_TRUE(a);
    EXPECT_TRUE((*a)->cvm->by_latest_operation);
    o.actions["ResizeInstanceDisks"].target = 4;
    EXPECT_FALSE(v3.apply(o));
}

TEST(EncodeSubmission, one_body_exactly_as_given_and_its_resources) {
    registry r("api.qcloud.com", protocol::v3);
    auto stop = *r.find_action("cvm", "StopInstances");
    auto params = json::parse(R"({"InstanceIds":["ins-1","ins-2"],"StopType":"SOFT","Name":"测"})")
                      .as_object();
    auto calls = v3::encode_submission(*stop, params);
    ASSERT_TRUE(calls) << calls.error().message;
    ASSERT_EQ(calls->bodies.size(), 1u);
    // Compact, raw UTF-8 (not \u escapes): the bytes signed are the bytes sent.
    EXPECT_EQ(calls->bodies[0],
              R"({"InstanceIds":["ins-1","ins-2"],"StopType":"SOFT","Name":"测"})");
    EXPECT_EQ(calls->all_resources, (std::vector<std::string>{"ins-1", "ins-2"}));

    auto missing = v3::encode_submission(*stop, json::object{{"StopType", "SOFT"}});
    ASSERT_FALSE(missing);
    EXPECT_NE(missing.error().message.find("params.InstanceIds"), std::string::npos);
    EXPECT_FALSE(v3::encode_submission(*stop, json::object{{"InstanceIds", json::array{1, 2}}}));
}

TEST(EncodeSubmission, past_the_maximum_the_array_is_split_into_calls) {
    registry r("api.qcloud.com", protocol::v3);
    json::array ids;
    for (int i = 0; i < 150; ++i) ids.emplace_back("ins-" + std::to_string(i));
    auto calls = v3::encode_submission(*r.find_action("cvm", "StopInstances").value(),
                                       json::object{{"InstanceIds", ids}, {"StopType", "HARD"}});
    ASSERT_TRUE(calls);
    ASSERT_EQ(calls->bodies.size(), 2u);
    EXPECT_EQ(calls->resources[0].size(), 100u);
    EXPECT_EQ(calls->resources[1].size(), 50u);
    EXPECT_EQ(calls->resources[1].front(), "ins-100");
    auto second = json::parse(calls->bodies[1]).as_object();
    EXPECT_EQ(second.at("InstanceIds").as_array().size(), 50u);
    EXPECT_EQ(second.at("StopType"), "HARD");  // every other member in every call

    // CLB: Targets split by 20; every call names the same load balancer.
    json::array targets;
    for (int i = 0; i < 45; ++i) targets.push_back(json::object{{"InstanceId", "ins-x"}});
    auto clb = v3::encode_submission(
        *r.find_action("clb", "RegisterTargets").value(),
        json::object{{"LoadBalancerId", "lb-1"}, {"ListenerId", "lbl-1"}, {"Targets", targets}});
    ASSERT_TRUE(clb);
    ASSERT_EQ(clb->bodies.size(), 3u);
    for (const auto& res : clb->resources) EXPECT_EQ(res, std::vector<std::string>{"lb-1"});
    EXPECT_EQ(clb->all_resources, std::vector<std::string>{"lb-1"});
}

TEST(ReadSubmissionV3, success_gives_every_resource_the_request_id) {
    auto a = v3::read_submission(answered(R"({"Response":{"RequestId":"6ef60bec"}})"),
                                 {"ins-1", "ins-2"});
    ASSERT_EQ(a.what, kind::accepted);
    ASSERT_EQ(a.entries.size(), 2u);
    EXPECT_EQ(a.entries[1].resource_id, "ins-2");
    EXPECT_EQ(a.entries[1].request_id, "6ef60bec");
}

TEST(ReadSubmissionV3, each_error_class_becomes_its_kind) {
    const std::vector<std::pair<const char*, kind>> cases{
        {"RequestLimitExceeded", kind::throttled},
        {"RequestLimitExceeded.UinLimitExceeded", kind::throttled},
        {"FailedOperation.ResourceInOperating", kind::busy},
        {"OperationDenied.InstanceOperationInProgress", kind::busy},
        {"AuthFailure.SignatureExpire", kind::resign},
        {"InternalError", kind::unknown},
        {"SomethingNobodyDocumented", kind::unknown},
        {"UnsupportedOperation.InstanceStateStopped", kind::rejected},
        {"InvalidInstanceId.NotFound", kind::rejected},
        {"InvalidParameterValue", kind::rejected},
        {"AuthFailure.SignatureFailure", kind::rejected},
        {"UnauthorizedOperation", kind::rejected},
    };
    for (const auto& [code, want] : cases) {
        auto a = v3::read_submission(answered(error_body(code)), {"ins-1"});
        EXPECT_EQ(a.what, want) << code;
        EXPECT_TRUE(a.entries.empty()) << code;
        EXPECT_NE(a.message.find(code), std::string::npos) << code << ": " << a.message;
    }
}

TEST(ReadSubmissionV3, transport_and_unreadable_answers) {
    EXPECT_EQ(v3::read_submission({call_outcome::kind::not_sent, {}, "refused", 0}, {"i"}).what,
              kind::not_sent);
    EXPECT_EQ(
        v3::read_submission({call_outcome::kind::outcome_unknown, {}, "reset", 0}, {"i"}).what,
        kind::unknown);
    EXPECT_EQ(v3::read_submission(answered("<html>"), {"i"}).what, kind::unknown);
    // A 2.0-shaped answer is not a 3.0 answer.
    EXPECT_EQ(v3::read_submission(answered(R"({"code":0,"requestId":5})"), {"i"}).what,
              kind::unknown);
}

TEST(ReadPollsV3, task_status_and_vpc_results) {
    auto clb = [](std::string_view status) {
        return v3::read_task_poll(
            task_reader::clb_task_status,
            answered(fmt::format(R"({{"Response":{{"Status":{},"Message":null,"RequestId":"x"}}}})",
                                 status)));
    };
    EXPECT_EQ(clb("0").status, remote_status::succeeded);
    EXPECT_EQ(clb("1").status, remote_status::failed);
    EXPECT_EQ(clb("2").status, remote_status::running);
    EXPECT_TRUE(clb("7").failure);
    auto vpc = v3::read_task_poll(
        task_reader::vpc_task_result,
        answered(R"({"Response":{"Status":"FAILED","Output":"boom","RequestId":"x"}})"));
    EXPECT_FALSE(vpc.failure);
    EXPECT_EQ(vpc.status, remote_status::failed);
    auto limited = v3::read_task_poll(task_reader::clb_task_status,
                                      answered(error_body("RequestLimitExceeded")));
    ASSERT_TRUE(limited.failure);
    EXPECT_EQ(limited.failure->cls, failure_class::throttled);
    EXPECT_EQ(limited.failure->code, "RequestLimitExceeded");
}

TEST(ReadPollsV3, describe_instances_keeps_latest_operation) {
    auto a = v3::read_instances(answered(R"({"Response":{"TotalCount":2,"InstanceSet":[
        {"InstanceId":"ins-1","InstanceState":"STOPPED","LatestOperation":"StopInstances",
         "LatestOperationState":"SUCCESS","LatestOperationRequestId":"R1",
         "LatestOperationErrorMsg":null},
        {"InstanceId":"ins-2","InstanceState":"RUNNING","LatestOperation":null,
         "LatestOperationState":null,"LatestOperationRequestId":null}],"RequestId":"x"}})"));
    ASSERT_FALSE(a.failure) << a.failure->message;
    ASSERT_EQ(a.instances.size(), 2u);
    EXPECT_EQ(a.instances[0].operation_request_id, "R1");
    EXPECT_EQ(a.instances[0].operation_state, "SUCCESS");
    EXPECT_EQ(a.instances[1].state, "RUNNING");
    EXPECT_EQ(a.instances[1].operation_request_id, "");
}

instance_observation seen(const char* id, const char* state, const char* rid, const char* op,
                          const char* error = "") {
    return {.instance_id = id,
            .status = 0,
            .state = state,
            .operation_request_id = rid,
            .operation_state = op,
            .operation_error = error};
}

const time_point t0 = time_point(std::chrono::hours(5000));

cvm_rule v3_rule() {
    static const registry r("api.qcloud.com", protocol::v3);
    return *r.find_action("cvm", "StopInstances").value()->cvm;
}

// The stale read: right after the call DescribeInstances still shows the previous operation's
// SUCCESS and even the target state; only our RequestId finishes the task.
TEST(CvmByLatestOperation, the_previous_operations_success_is_never_ours) {
    cvm_task_state t(v3_rule(), {"ins-1", "ins-2"}, t0);
    std::vector<instance_observation> page{seen("ins-1", "STOPPED", "R-old", "SUCCESS"),
                                           seen("ins-2", "STOPPED", "R-old", "SUCCESS")};
    EXPECT_EQ(t.observe(page, t0 + 1h, "R-ours"), verdict::running);  // never from state
    EXPECT_EQ(t.last_status(), "ins-1=STOPPED/-,ins-2=STOPPED/-");    // not our SUCCESS
    page = {seen("ins-1", "STOPPING", "R-ours", "OPERATING"),
            seen("ins-2", "STOPPED", "R-ours", "SUCCESS")};
    EXPECT_EQ(t.observe(page, t0 + 2s, "R-ours"), verdict::running);
    EXPECT_EQ(t.pending_instances(), std::vector<std::string>{"ins-1"});
    EXPECT_EQ(t.last_status(), "ins-1=STOPPING/OPERATING,ins-2=STOPPED/SUCCESS");
    page = {seen("ins-1", "STOPPED", "R-ours", "SUCCESS")};
    EXPECT_EQ(t.observe(page, t0 + 3s, "R-ours"), verdict::succeeded);
}

TEST(CvmByLatestOperation, failed_superseded_and_absent) {
    cvm_task_state failed(v3_rule(), {"ins-1"}, t0);
    std::vector<instance_observation> page{seen("ins-1", "RUNNING", "R", "FAILED", "disk busy")};
    EXPECT_EQ(failed.observe(page, t0 + 1s, "R"), verdict::failed);
    EXPECT_EQ(failed.reason(), "ins-1: LatestOperationState FAILED: disk busy");

    cvm_task_state superseded(v3_rule(), {"ins-1"}, t0);
    page = {seen("ins-1", "STOPPING", "R", "OPERATING")};
    EXPECT_EQ(superseded.observe(page, t0 + 1s, "R"), verdict::running);
    page = {seen("ins-1", "STARTING", "R-other", "OPERATING")};
    EXPECT_EQ(superseded.observe(page, t0 + 2s, "R"), verdict::failed);
    EXPECT_NE(superseded.reason().find("superseded"), std::string::npos);

    cvm_task_state gone(v3_rule(), {"ins-1"}, t0, {.stable_checks = 2, .not_found_checks = 2});
    EXPECT_EQ(gone.observe({}, t0 + 1s, "R"), verdict::running);
    EXPECT_EQ(gone.observe({}, t0 + 2s, "R"), verdict::not_found);
}

// CBS: no RequestId on a disk; the target state counts after the transitional one (or the
// settle delay), and a disk back in its source state after the transitional one failed.
// AttachDisks names one instance: a disk that ends up attached to another one did not do what
// the call asked (someone else moved it); to the named one, or with no instance said, it did.
TEST(CbsByResourceState, an_attach_checks_the_instance_the_disk_is_attached_to) {
    registry r("api.qcloud.com", protocol::v3);
    EXPECT_EQ(r.find_action("cbs", "AttachDisks").value()->target_param, "InstanceId");
    EXPECT_TRUE(r.find_action("cbs", "DetachDisks").value()->target_param.empty());
    const auto attach = *r.find_action("cbs", "AttachDisks").value()->cvm;
    auto disk = [](const char* id, const char* state, const char* to) {
        return instance_observation{.instance_id = id, .state = state, .attached_to = to};
    };
    cvm_task_state t(attach, {"disk-1", "disk-2", "disk-3"}, t0, {}, "ins-a");
    std::vector<instance_observation> page{disk("disk-1", "ATTACHING", ""),
                                           disk("disk-2", "ATTACHING", ""),
                                           disk("disk-3", "ATTACHING", "")};
    EXPECT_EQ(t.observe(page, t0 + 1s), verdict::running);
    page = {disk("disk-1", "ATTACHED", "ins-a"), disk("disk-2", "ATTACHED", "ins-b"),
            disk("disk-3", "ATTACHED", "")};
    EXPECT_EQ(t.observe(page, t0 + 2s), verdict::failed);
    EXPECT_EQ(t.reason(), "disk-2: ATTACHED to ins-b, not ins-a") << t.reason();
    // Without a target (a restart of an older journal), the state alone decides.
    cvm_task_state untargeted(attach, {"disk-2"}, t0);
    page = {disk("disk-2", "ATTACHING", ""), disk("disk-2", "ATTACHED", "ins-b")};
    EXPECT_EQ(untargeted.observe({page.data(), 1}, t0 + 1s), verdict::running);
    EXPECT_EQ(untargeted.observe({page.data() + 1, 1}, t0 + 2s), verdict::succeeded);
}

TEST(CbsByResourceState, attach_detach_and_a_failed_attach) {
    registry r("api.qcloud.com", protocol::v3);
    const auto attach = *r.find_action("cbs", "AttachDisks").value()->cvm;
    EXPECT_TRUE(attach.by_resource_state());
    EXPECT_EQ(r.find_action("cbs", "AttachDisks").value()->chunk.max, 10u);
    auto disk = [](const char* id, const char* state) {
        return instance_observation{.instance_id = id, .state = state};
    };
    cvm_task_state t(attach, {"disk-1", "disk-2"}, t0);
    std::vector<instance_observation> page{disk("disk-1", "UNATTACHED"),
                                           disk("disk-2", "ATTACHED")};
    // A stale read right after the call: ATTACHED before the settle delay is not proof.
    EXPECT_EQ(t.observe(page, t0 + 1s), verdict::running);
    page = {disk("disk-1", "ATTACHING"), disk("disk-2", "ATTACHED")};
    EXPECT_EQ(t.observe(page, t0 + 2s), verdict::running);
    EXPECT_EQ(t.pending_instances(), (std::vector<std::string>{"disk-1", "disk-2"}));
    page = {disk("disk-1", "ATTACHED"), disk("disk-2", "ATTACHED")};
    EXPECT_EQ(t.observe(page, attach.settle_delay + t0 + 1s), verdict::succeeded);
    EXPECT_EQ(t.last_status(), "disk-1=ATTACHED,disk-2=ATTACHED");

    cvm_task_state failed(attach, {"disk-3"}, t0);
    page = {disk("disk-3", "ATTACHING")};
    EXPECT_EQ(failed.observe(page, t0 + 1s), verdict::running);
    page = {disk("disk-3", "UNATTACHED")};
    EXPECT_EQ(failed.observe(page, t0 + 2s), verdict::running);  // one odd read is not enough
    EXPECT_EQ(failed.observe(page, t0 + 3s), verdict::failed);
    EXPECT_NE(failed.reason().find("back in UNATTACHED"), std::string::npos) << failed.reason();

    const auto detach = *r.find_action("cbs", "DetachDisks").value()->cvm;
    cvm_task_state d(detach, {"disk-4"}, t0);
    page = {disk("disk-4", "DETACHING")};
    EXPECT_EQ(d.observe(page, t0 + 1s), verdict::running);
    page = {disk("disk-4", "UNATTACHED")};
    EXPECT_EQ(d.observe(page, t0 + 2s), verdict::succeeded);
    // New CBS actions have no rule to be judged by.
    service_override o;
    o.name = "cbs";
    o.actions["ResizeDisk"] = {};
    EXPECT_FALSE(r.apply(o));
}

TEST(TaskPollBodyV3, written_directly_and_escaped_through_json_when_needed) {
    EXPECT_EQ(v3::task_poll_body("TaskId", "1234-abcd"), R"({"TaskId":"1234-abcd"})");
    EXPECT_EQ(v3::task_poll_body("TaskId", ""), R"({"TaskId":""})");
    // Whatever the id holds, the body is JSON with exactly that string.
    for (std::string id : {std::string("a\"b"), std::string("a\\b"), std::string("tab\there"),
                           std::string("caf\xc3\xa9"), std::string("nul\0x", 5)}) {
        auto body = json::parse(v3::task_poll_body("TaskId", id)).as_object();
        ASSERT_EQ(body.size(), 1u) << id;
        EXPECT_EQ(body.at("TaskId").as_string(), id) << id;
    }
}

TEST(ReadPollsV3, describe_disks) {
    auto a = v3::read_disks(answered(R"({"Response":{"TotalCount":2,"DiskSet":[
        {"DiskId":"disk-1","DiskState":"ATTACHED","InstanceId":"ins-1","Attached":true},
        {"DiskId":"disk-2","DiskState":"UNATTACHED","InstanceId":null}],"RequestId":"x"}})"));
    ASSERT_FALSE(a.failure) << a.failure->message;
    ASSERT_EQ(a.instances.size(), 2u);
    EXPECT_EQ(a.instances[0].instance_id, "disk-1");
    EXPECT_EQ(a.instances[0].state, "ATTACHED");
    EXPECT_EQ(a.instances[1].state, "UNATTACHED");
    EXPECT_TRUE(
        v3::read_disks(answered(R"({"Response":{"TotalCount":0,"RequestId":"x"}})")).failure);
}

TEST(MergeCalls, one_call_is_its_own_answer_several_are_merged_per_resource) {
    submission_answer rejected{kind::rejected, 0, "InvalidParameter: bad", {}};
    auto one = merge_calls({rejected}, {{"a", "b"}}, {});
    EXPECT_EQ(one.what, kind::rejected);  // unchanged: the store writes uniform entries
    EXPECT_TRUE(one.entries.empty());

    submission_answer ok{kind::accepted, 0, {}, {}};
    ok.entries = {{"a", core::entry_outcome::accepted, 0, {}, "R1", {}}};
    submission_answer lost{kind::unknown, 0, "connection reset", {}};
    auto merged = merge_calls({ok, lost}, {{"a"}, {"b"}, {"c"}}, "shutting down");
    EXPECT_EQ(merged.what, kind::accepted);
    ASSERT_EQ(merged.entries.size(), 3u);
    EXPECT_EQ(merged.entries[0].request_id, "R1");
    EXPECT_EQ(merged.entries[1].outcome, core::entry_outcome::unknown);
    EXPECT_EQ(merged.entries[1].message, "call 2 of 3: connection reset");
    EXPECT_EQ(merged.entries[2].outcome, core::entry_outcome::rejected);
    EXPECT_EQ(merged.entries[2].message, "call 3 of 3: not sent: shutting down");
    EXPECT_EQ(merged.message, "call 2 of 3: connection reset");
}

}  // namespace
}  // namespace taskpoller::engine
