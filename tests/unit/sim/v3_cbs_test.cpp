// CBS 2017-03-12 in the simulator: the disk pool, AttachDisks/DetachDisks state machines,
// whole-call refusals, DescribeDisks (stale window, Limit), rate limits and ground truth.

#include "sim/cbs_v3.hpp"
#include "v3_test_support.hpp"

namespace taskpoller::sim {
namespace {

namespace json = boost::json;
using testing::error_code;
using testing::request_id;
using testing::v3_fixture;

// 6 instances (3 running, 3 stopped); 3 disks attached (one each to the first 3 instances),
// then `unattached` free disks.
config disk_config(int unattached = 4, int attached = 3) {
    auto cfg = v3_fixture::quiet_config();
    cfg.disks = {unattached, attached};
    return cfg;
}

json::array id_array(const std::vector<std::string>& ids) {
    json::array out;
    for (const auto& id : ids) out.emplace_back(id);
    return out;
}

json::object attach_call(const std::string& instance, const std::vector<std::string>& disks) {
    return {{"InstanceId", instance}, {"DiskIds", id_array(disks)}};
}

// The DiskSet entry of one disk (expects exactly that disk back).
json::object describe_one(v3_fixture& f, const std::string& disk) {
    auto r = f.call3("cbs", "DescribeDisks", {{"DiskIds", json::array{json::string(disk)}}});
    EXPECT_EQ(error_code(r), "") << json::serialize(r);
    if (!r.contains("DiskSet") || r.at("DiskSet").as_array().size() != 1) {
        ADD_FAILURE() << json::serialize(r);
        return {};
    }
    return r.at("DiskSet").as_array()[0].as_object();
}

std::string state_of(v3_fixture& f, const std::string& disk) {
    auto d = describe_one(f, disk);
    return d.contains("DiskState") ? std::string(d.at("DiskState").as_string()) : "";
}

TEST(SimV3Cbs, TheConfiguredPoolAttachesDisksRoundRobin) {
    v3_fixture f(disk_config(4, 5));
    auto disks = f.sim.cbs_v3().ids();
    auto instances = f.sim.cvm().ids();
    ASSERT_EQ(disks.size(), 9u);
    for (const auto& id : disks) {
        EXPECT_TRUE(id.starts_with("disk-")) << id;
        EXPECT_EQ(id.size(), 13u) << id;
    }
    auto r = f.call3("cbs", "DescribeDisks", {{"Limit", 100}});
    ASSERT_EQ(error_code(r), "");
    EXPECT_EQ(r.at("TotalCount").as_int64(), 9);
    const auto& set = r.at("DiskSet").as_array();
    ASSERT_EQ(set.size(), 9u);
    for (std::size_t i = 0; i < 5; ++i) {
        EXPECT_EQ(set[i].at("DiskState").as_string(), "ATTACHED");
        EXPECT_EQ(set[i].at("Attached").as_bool(), true);
        EXPECT_EQ(set[i].at("InstanceId").as_string(), instances[i % instances.size()]);
    }
    for (std::size_t i = 5; i < 9; ++i) {
        EXPECT_EQ(set[i].at("DiskState").as_string(), "UNATTACHED");
        EXPECT_EQ(set[i].at("Attached").as_bool(), false);
        EXPECT_EQ(set[i].at("InstanceId").as_string(), "");
    }
    auto truth = f.get("/_sim/disks").at("disks").as_array();
    ASSERT_EQ(truth.size(), 9u);
    EXPECT_EQ(truth[0].at("id").as_string(), disks[0]);
    EXPECT_EQ(truth[0].at("state").as_string(), "ATTACHED");
    EXPECT_EQ(truth[0].at("instance_id").as_string(), instances[0]);
    EXPECT_EQ(truth[8].at("state").as_string(), "UNATTACHED");

    // The same seed gives the same ids; another seed others.
    v3_fixture same(disk_config(4, 5));
    EXPECT_EQ(same.sim.cbs_v3().ids(), disks);
    auto other_cfg = disk_config(4, 5);
    other_cfg.seed = 2;
    v3_fixture other(other_cfg);
    EXPECT_NE(other.sim.cbs_v3().ids(), disks);
}

TEST(SimV3Cbs, DisksConfiguration) {
    auto c = parse_config(
        "instances: {running: 1, stopped: 1}\ndisks: {unattached: 2, attached: 3}\n", "t.yaml");
    EXPECT_EQ(c.disks.unattached, 2);
    EXPECT_EQ(c.disks.attached, 3);
    EXPECT_EQ(config{}.disks.unattached, 0);
    EXPECT_EQ(config{}.disks.attached, 0);
    // At most 20 per instance: 2 instances take 40.
    EXPECT_NO_THROW(
        parse_config("instances: {running: 1, stopped: 1}\ndisks: {attached: 40}\n", "t.yaml"));
    EXPECT_THROW(
        parse_config("instances: {running: 1, stopped: 1}\ndisks: {attached: 41}\n", "t.yaml"),
        std::runtime_error);
    EXPECT_THROW(parse_config("disks: {free: 1}\n", "t.yaml"), std::runtime_error);
    EXPECT_THROW(parse_config("disks: {unattached: -1}\n", "t.yaml"), std::runtime_error);
}

TEST(SimV3Cbs, AttachGoesThroughAttachingToAttached) {
    v3_fixture f(disk_config());
    auto disks = f.sim.cbs_v3().ids();
    auto ins = f.sim.cvm().ids()[4];
    auto r = f.call3("cbs", "AttachDisks", attach_call(ins, {disks[3], disks[4]}));
    ASSERT_EQ(error_code(r), "") << json::serialize(r);
    EXPECT_EQ(r.size(), 1u);  // just the RequestId
    auto d = describe_one(f, disks[3]);
    EXPECT_EQ(d.at("DiskState").as_string(), "ATTACHING");
    EXPECT_EQ(d.at("Attached").as_bool(), false);
    EXPECT_EQ(d.at("InstanceId").as_string(), ins);
    auto tasks = f.get("/_sim/tasks").at("tasks").as_array();
    ASSERT_EQ(tasks.size(), 1u);
    EXPECT_EQ(tasks[0].at("service").as_string(), "cbs");
    EXPECT_EQ(tasks[0].at("request_id").as_string(), request_id(r));
    EXPECT_EQ(tasks[0].at("action").as_string(), "AttachDisks");
    EXPECT_EQ(tasks[0].at("resources").as_array(), id_array({disks[3], disks[4]}));
    EXPECT_EQ(tasks[0].at("state").as_string(), "running");
    EXPECT_EQ(tasks[0].at("done_at_ms").as_int64(), f.now_ms + 1000);

    f.advance(999);
    EXPECT_EQ(state_of(f, disks[4]), "ATTACHING");
    f.advance(1);
    d = describe_one(f, disks[4]);
    EXPECT_EQ(d.at("DiskState").as_string(), "ATTACHED");
    EXPECT_EQ(d.at("Attached").as_bool(), true);
    EXPECT_EQ(d.at("InstanceId").as_string(), ins);
    EXPECT_EQ(state_of(f, disks[3]), "ATTACHED");
    EXPECT_EQ(f.get("/_sim/tasks").at("tasks").at(0).at("state").as_string(), "succeeded");
    EXPECT_EQ(f.sim.counters().executed(disks[3], "AttachDisks"), 1);
    EXPECT_EQ(f.sim.counters().executed(disks[4], "AttachDisks"), 1);
    EXPECT_EQ(f.sim.counters().executed(disks[5], "AttachDisks"), 0);
}

TEST(SimV3Cbs, DetachGoesThroughDetachingToUnattached) {
    v3_fixture f(disk_config());
    auto disks = f.sim.cbs_v3().ids();
    auto ins = f.sim.cvm().ids()[1];  // disks[1] is attached to it
    auto r = f.call3("cbs", "DetachDisks",
                     {{"DiskIds", json::array{json::string(disks[1])}}, {"InstanceId", ins}});
    ASSERT_EQ(error_code(r), "") << json::serialize(r);
    auto d = describe_one(f, disks[1]);
    EXPECT_EQ(d.at("DiskState").as_string(), "DETACHING");
    EXPECT_EQ(d.at("Attached").as_bool(), true);
    EXPECT_EQ(d.at("InstanceId").as_string(), ins);
    f.advance(1000);
    d = describe_one(f, disks[1]);
    EXPECT_EQ(d.at("DiskState").as_string(), "UNATTACHED");
    EXPECT_EQ(d.at("Attached").as_bool(), false);
    EXPECT_EQ(d.at("InstanceId").as_string(), "");
    EXPECT_EQ(f.sim.counters().executed(disks[1], "DetachDisks"), 1);
    // Without InstanceId: the disk's own instance.
    ASSERT_EQ(error_code(f.call3("cbs", "DetachDisks",
                                 {{"DiskIds", json::array{json::string(disks[2])}}})),
              "");
    EXPECT_EQ(state_of(f, disks[2]), "DETACHING");
    auto task = f.get("/_sim/tasks").at("tasks").as_array().back();
    EXPECT_EQ(task.at("action").as_string(), "DetachDisks");
    EXPECT_EQ(task.at("state").as_string(), "running");
}

TEST(SimV3Cbs, FailedOperationsGoBackAndFailTheTask) {
    auto cfg = disk_config();
    cfg.operations["AttachDisks"] = {{millis(500), millis(500)}, 1.0};
    cfg.operations["DetachDisks"] = {{millis(700), millis(700)}, 1.0};
    v3_fixture f(cfg);
    auto disks = f.sim.cbs_v3().ids();
    auto ins = f.sim.cvm().ids();
    ASSERT_EQ(error_code(f.call3("cbs", "AttachDisks", attach_call(ins[3], {disks[3]}))), "");
    ASSERT_EQ(error_code(f.call3("cbs", "DetachDisks",
                                 {{"DiskIds", json::array{json::string(disks[0])}}})),
              "");
    f.advance(499);
    EXPECT_EQ(state_of(f, disks[3]), "ATTACHING");
    f.advance(1);
    auto d = describe_one(f, disks[3]);
    EXPECT_EQ(d.at("DiskState").as_string(), "UNATTACHED");
    EXPECT_EQ(d.at("InstanceId").as_string(), "");
    EXPECT_EQ(state_of(f, disks[0]), "DETACHING");
    f.advance(200);
    d = describe_one(f, disks[0]);
    EXPECT_EQ(d.at("DiskState").as_string(), "ATTACHED");
    EXPECT_EQ(d.at("InstanceId").as_string(), ins[0]);
    auto tasks = f.get("/_sim/tasks").at("tasks").as_array();
    ASSERT_EQ(tasks.size(), 2u);
    EXPECT_EQ(tasks[0].at("state").as_string(), "failed");
    EXPECT_EQ(tasks[1].at("state").as_string(), "failed");
}

TEST(SimV3Cbs, AttachRefusalsRunNothing) {
    v3_fixture f(disk_config());
    auto disks = f.sim.cbs_v3().ids();
    auto ins = f.sim.cvm().ids();
    // Make disks[4] ATTACHING.
    ASSERT_EQ(error_code(f.call3("cbs", "AttachDisks", attach_call(ins[5], {disks[4]}))), "");
    auto code = [&](const json::object& p) { return error_code(f.call3("cbs", "AttachDisks", p)); };

    EXPECT_EQ(code(attach_call(ins[3], {disks[3], "disk-nothere"})), "InvalidDiskId.NotFound");
    EXPECT_EQ(code(attach_call("ins-nothere", {disks[3]})), "InvalidInstanceId.NotFound");
    // An unknown disk comes before an unknown instance.
    EXPECT_EQ(code(attach_call("ins-nothere", {"disk-nothere"})), "InvalidDiskId.NotFound");
    EXPECT_EQ(code(attach_call(ins[3], {disks[3], disks[4]})), "ResourceBusy");
    EXPECT_EQ(code(attach_call(ins[3], {disks[3], disks[0]})), "ResourceUnavailable.Attached");
    EXPECT_EQ(code(attach_call(ins[0], {disks[0]})), "ResourceUnavailable.Attached");

    std::vector<std::string> eleven(11, disks[3]);
    for (int i = 0; i < 11; ++i) eleven[i] = "disk-" + std::to_string(10000000 + i);
    EXPECT_EQ(code(attach_call(ins[3], eleven)), "InvalidParameterValue.LimitExceeded");
    EXPECT_EQ(code(attach_call(ins[3], {})), "InvalidParameterValue.LimitExceeded");
    EXPECT_EQ(code({{"InstanceId", ins[3]}}), "MissingParameter");
    EXPECT_EQ(code({{"DiskIds", json::array{json::string(disks[3])}}}), "MissingParameter");
    auto p = attach_call(ins[3], {disks[3]});
    p["DeleteWithInstance"] = "yes";
    EXPECT_EQ(code(p), "InvalidParameter");
    p = attach_call(ins[3], {disks[3]});
    p["AttachMode"] = "XF";
    EXPECT_EQ(code(p), "InvalidParameterValue");
    p = attach_call(ins[3], {disks[3]});
    p["DiskIds"] = json::array{1};
    EXPECT_EQ(code(p), "InvalidParameter");

    // Nothing ran: disks[3] is untouched, only the first call is a task.
    EXPECT_EQ(state_of(f, disks[3]), "UNATTACHED");
    EXPECT_EQ(f.sim.counters().executed(disks[3], "AttachDisks"), 0);
    EXPECT_EQ(f.get("/_sim/tasks").at("tasks").as_array().size(), 1u);
    auto st = f.sim.counters().to_json().at("actions").at("AttachDisks");
    EXPECT_EQ(st.at("refused").at("ResourceBusy").as_int64(), 1);
    EXPECT_EQ(st.at("refused").at("ResourceUnavailable.Attached").as_int64(), 2);
    // A repeated id counts once.
    ASSERT_EQ(code(attach_call(ins[3], {disks[3], disks[3]})), "");
    EXPECT_EQ(f.get("/_sim/tasks").at("tasks").as_array().back().at("resources").as_array(),
              id_array({disks[3]}));
}

TEST(SimV3Cbs, AnInstanceTakesAtMost20Disks) {
    v3_fixture f(disk_config(25, 3));  // ins[0] already has disks[0]
    auto disks = f.sim.cbs_v3().ids();
    auto ins = f.sim.cvm().ids()[0];
    std::vector<std::string> first(disks.begin() + 3, disks.begin() + 13);
    std::vector<std::string> second(disks.begin() + 13, disks.begin() + 22);
    ASSERT_EQ(error_code(f.call3("cbs", "AttachDisks", attach_call(ins, first))), "");
    ASSERT_EQ(error_code(f.call3("cbs", "AttachDisks", attach_call(ins, second))), "");  // 20
    EXPECT_EQ(error_code(f.call3("cbs", "AttachDisks", attach_call(ins, {disks[22]}))),
              "LimitExceeded.InstanceAttachedDisk");
    f.advance(1000);
    EXPECT_EQ(error_code(f.call3("cbs", "AttachDisks", attach_call(ins, {disks[22]}))),
              "LimitExceeded.InstanceAttachedDisk");
    EXPECT_EQ(f.sim.counters().executed(disks[22], "AttachDisks"), 0);
    ASSERT_EQ(error_code(f.call3("cbs", "DetachDisks",
                                 {{"DiskIds", json::array{json::string(disks[0])}}})),
              "");
    f.advance(1000);
    EXPECT_EQ(error_code(f.call3("cbs", "AttachDisks", attach_call(ins, {disks[22]}))), "");
}

TEST(SimV3Cbs, DetachRefusalsRunNothing) {
    v3_fixture f(disk_config());
    auto disks = f.sim.cbs_v3().ids();
    auto ins = f.sim.cvm().ids();
    auto code = [&](const json::object& p) { return error_code(f.call3("cbs", "DetachDisks", p)); };
    auto ids = [](std::initializer_list<std::string> l) { return id_array(l); };
    // disks[2] DETACHING.
    ASSERT_EQ(code({{"DiskIds", ids({disks[2]})}}), "");

    EXPECT_EQ(code({{"DiskIds", ids({disks[0], "disk-nothere"})}}), "InvalidDiskId.NotFound");
    EXPECT_EQ(code({{"DiskIds", ids({disks[0]})}, {"InstanceId", "ins-nothere"}}),
              "InvalidInstanceId.NotFound");
    EXPECT_EQ(code({{"DiskIds", ids({disks[0], disks[2]})}}), "ResourceBusy");
    EXPECT_EQ(code({{"DiskIds", ids({disks[3]})}}), "UnsupportedOperation.StateError");
    EXPECT_EQ(code({{"DiskIds", ids({disks[0], disks[3]})}}), "UnsupportedOperation.StateError");
    EXPECT_EQ(code({{"DiskIds", ids({disks[0]})}, {"InstanceId", ins[1]}}),
              "InvalidParameterValue");
    // Disks on two instances in one call.
    EXPECT_EQ(code({{"DiskIds", ids({disks[0], disks[1]})}}), "InvalidParameterValue");
    EXPECT_EQ(code({{"DiskIds", json::array{}}}), "InvalidParameterValue.LimitExceeded");
    EXPECT_EQ(code({{"InstanceId", ins[0]}}), "MissingParameter");
    EXPECT_EQ(code({{"DiskIds", ids({disks[0]})}, {"InstanceId", 7}}), "InvalidParameter");

    EXPECT_EQ(state_of(f, disks[0]), "ATTACHED");
    EXPECT_EQ(state_of(f, disks[1]), "ATTACHED");
    EXPECT_EQ(f.sim.counters().executed(disks[0], "DetachDisks"), 0);
    EXPECT_EQ(f.sim.counters().executed(disks[1], "DetachDisks"), 0);
    EXPECT_EQ(f.get("/_sim/tasks").at("tasks").as_array().size(), 1u);
}

TEST(SimV3Cbs, DescribeDisksShowsThePreviousStateDuringTheStaleWindow) {
    auto cfg = disk_config();
    cfg.stale_window = millis(300);
    v3_fixture f(cfg);
    auto disks = f.sim.cbs_v3().ids();
    auto ins = f.sim.cvm().ids()[3];
    ASSERT_EQ(error_code(f.call3("cbs", "AttachDisks", attach_call(ins, {disks[3]}))), "");
    auto d = describe_one(f, disks[3]);
    EXPECT_EQ(d.at("DiskState").as_string(), "UNATTACHED");
    EXPECT_EQ(d.at("InstanceId").as_string(), "");
    auto truth = f.get("/_sim/disks").at("disks").at(3).as_object();
    EXPECT_EQ(truth.at("state").as_string(), "ATTACHING");
    EXPECT_EQ(truth.at("shown_state").as_string(), "UNATTACHED");
    EXPECT_EQ(truth.at("instance_id").as_string(), ins);
    EXPECT_EQ(truth.at("shown_instance_id").as_string(), "");
    EXPECT_EQ(truth.at("operation").as_string(), "AttachDisks");
    f.advance(299);
    EXPECT_EQ(state_of(f, disks[3]), "UNATTACHED");
    f.advance(1);
    EXPECT_EQ(state_of(f, disks[3]), "ATTACHING");
    f.advance(700);
    EXPECT_EQ(state_of(f, disks[3]), "ATTACHED");

    // A detach shows ATTACHED (with its instance) first.
    ASSERT_EQ(error_code(f.call3("cbs", "DetachDisks",
                                 {{"DiskIds", json::array{json::string(disks[3])}}})),
              "");
    d = describe_one(f, disks[3]);
    EXPECT_EQ(d.at("DiskState").as_string(), "ATTACHED");
    EXPECT_EQ(d.at("InstanceId").as_string(), ins);
    f.advance(300);
    EXPECT_EQ(state_of(f, disks[3]), "DETACHING");
}

TEST(SimV3Cbs, DescribeDisksLimitCutsAnIdList) {
    v3_fixture f(disk_config(30, 0));
    auto disks = f.sim.cbs_v3().ids();
    std::vector<std::string> wanted(disks.begin(), disks.begin() + 25);
    wanted.insert(wanted.begin() + 3, "disk-unknown1");  // unknown ids are left out
    auto r = f.call3("cbs", "DescribeDisks", {{"DiskIds", id_array(wanted)}});
    ASSERT_EQ(error_code(r), "");
    EXPECT_EQ(r.at("TotalCount").as_int64(), 25);
    ASSERT_EQ(r.at("DiskSet").as_array().size(), 20u);
    EXPECT_EQ(r.at("DiskSet").at(3).at("DiskId").as_string(), disks[3]);
    r = f.call3("cbs", "DescribeDisks", {{"DiskIds", id_array(wanted)}, {"Limit", 100}});
    EXPECT_EQ(r.at("DiskSet").as_array().size(), 25u);
    r = f.call3("cbs", "DescribeDisks", {{"DiskIds", id_array(wanted)}, {"Offset", 20}});
    ASSERT_EQ(r.at("DiskSet").as_array().size(), 5u);
    EXPECT_EQ(r.at("DiskSet").at(0).at("DiskId").as_string(), disks[20]);
    // Without ids: every disk, 20 by default.
    r = f.call3("cbs", "DescribeDisks");
    EXPECT_EQ(r.at("TotalCount").as_int64(), 30);
    EXPECT_EQ(r.at("DiskSet").as_array().size(), 20u);
    r = f.call3("cbs", "DescribeDisks", {{"DiskIds", json::array{"disk-unknown1"}}});
    EXPECT_EQ(r.at("TotalCount").as_int64(), 0);
    EXPECT_TRUE(r.at("DiskSet").as_array().empty());

    std::vector<std::string> too_many;
    for (int i = 0; i < 101; ++i) too_many.push_back("disk-" + std::to_string(10000000 + i));
    EXPECT_EQ(error_code(f.call3("cbs", "DescribeDisks", {{"DiskIds", id_array(too_many)}})),
              "InvalidParameterValue.LimitExceeded");
    EXPECT_EQ(error_code(f.call3("cbs", "DescribeDisks", {{"Limit", 0}})), "InvalidParameterValue");
    EXPECT_EQ(error_code(f.call3("cbs", "DescribeDisks", {{"Limit", 101}})),
              "InvalidParameterValue");
    EXPECT_EQ(error_code(f.call3("cbs", "DescribeDisks", {{"Limit", "20"}})), "InvalidParameter");
    EXPECT_EQ(error_code(f.call3("cbs", "DescribeDisks", {{"Offset", -1}})),
              "InvalidParameterValue");
    EXPECT_EQ(error_code(f.call3("cbs", "DescribeDisks",
                                 {{"Filters", json::array{json::object{{"Name", "disk-id"}}}}})),
              "InvalidFilter");
}

TEST(SimV3Cbs, ATerminatedInstanceLeavesItsDisksOrTakesThemAlong) {
    v3_fixture f(disk_config());
    auto disks = f.sim.cbs_v3().ids();
    auto ins = f.sim.cvm().ids()[0];  // disks[0] attached, DeleteWithInstance false
    auto p = attach_call(ins, {disks[3]});
    p["DeleteWithInstance"] = true;
    ASSERT_EQ(error_code(f.call3("cbs", "AttachDisks", p)), "");
    f.advance(1000);
    EXPECT_EQ(describe_one(f, disks[3]).at("DeleteWithInstance").as_bool(), true);
    ASSERT_EQ(error_code(f.call3("cvm", "TerminateInstances",
                                 {{"InstanceIds", json::array{json::string(ins)}}})),
              "");
    EXPECT_EQ(state_of(f, disks[0]), "ATTACHED");
    f.advance(1000);
    auto d = describe_one(f, disks[0]);
    EXPECT_EQ(d.at("DiskState").as_string(), "UNATTACHED");
    EXPECT_EQ(d.at("InstanceId").as_string(), "");
    auto r = f.call3("cbs", "DescribeDisks", {{"DiskIds", json::array{json::string(disks[3])}}});
    EXPECT_EQ(r.at("TotalCount").as_int64(), 0);
    EXPECT_EQ(error_code(f.call3("cbs", "DetachDisks",
                                 {{"DiskIds", json::array{json::string(disks[3])}}})),
              "InvalidDiskId.NotFound");
    EXPECT_EQ(f.get("/_sim/disks").at("disks").at(3).at("state").as_string(), "DELETED");
    EXPECT_EQ(error_code(f.call3("cbs", "AttachDisks", attach_call(ins, {disks[0]}))),
              "InvalidInstanceId.NotFound");
}

TEST(SimV3Cbs, RateLimitsAndReset) {
    v3_fixture f(disk_config());
    EXPECT_EQ(f.sim.settings().rate_for_v3("AttachDisks"), 20);
    EXPECT_EQ(f.sim.settings().rate_for_v3("DetachDisks"), 20);
    EXPECT_EQ(f.sim.settings().rate_for_v3("DescribeDisks"), 20);
    for (int i = 0; i < 20; ++i) ASSERT_EQ(error_code(f.call3("cbs", "DescribeDisks")), "") << i;
    EXPECT_EQ(error_code(f.call3("cbs", "DescribeDisks")), "RequestLimitExceeded");
    auto disks = f.sim.cbs_v3().ids();
    auto ins = f.sim.cvm().ids();
    for (int i = 0; i < 20; ++i)
        ASSERT_EQ(error_code(f.call3("cbs", "AttachDisks", attach_call("ins-x", {disks[3]}))),
                  "InvalidInstanceId.NotFound")
            << i;
    EXPECT_EQ(error_code(f.call3("cbs", "AttachDisks", attach_call(ins[3], {disks[3]}))),
              "RequestLimitExceeded");
    EXPECT_EQ(f.sim.counters().executed(disks[3], "AttachDisks"), 0);
    f.advance(1000);
    ASSERT_EQ(error_code(f.call3("cbs", "AttachDisks", attach_call(ins[3], {disks[3]}))), "");
    ASSERT_EQ(f.sim.handle({"POST", "/_sim/reset", "", "", false}).status, 200u);
    EXPECT_EQ(f.sim.cbs_v3().ids(), disks);
    EXPECT_EQ(f.sim.cbs_v3().true_state(disks[3], f.now_ms), "UNATTACHED");
    EXPECT_TRUE(f.get("/_sim/tasks").at("tasks").as_array().empty());
}

}  // namespace
}  // namespace taskpoller::sim
