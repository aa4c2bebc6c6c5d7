// Read-only reconciliation of a lost submission answer (engine/reconcile.hpp): what a describe
// before and after the send proves, for API 2.0 status codes and API 3.0 LatestOperation*.
#include "engine/reconcile.hpp"

#include <gtest/gtest.h>

namespace taskpoller::engine {
namespace {

using namespace std::chrono_literals;

cvm_rule stop_v2() {
    cvm_rule r;
    r.target = 4;        // stopped
    r.transitional = 9;  // stopping
    r.settle_delay = 10s;
    return r;
}

cvm_rule stop_v3() {
    cvm_rule r;
    r.by_latest_operation = true;
    r.settle_delay = 10s;
    return r;
}

instance_observation v2(std::string id, int status) {
    instance_observation o;
    o.instance_id = std::move(id);
    o.status = status;
    return o;
}

instance_observation v3(std::string id, std::string op, std::string rid, std::string state) {
    instance_observation o;
    o.instance_id = std::move(id);
    o.state = "RUNNING";
    o.operation = std::move(op);
    o.operation_request_id = std::move(rid);
    o.operation_state = std::move(state);
    return o;
}

const std::vector<std::string> two{"ins-1", "ins-2"};

TEST(Reconcile, v2_an_instance_that_moved_to_the_transitional_or_target_status_ran_the_call) {
    std::vector before{v2("ins-1", 2), v2("ins-2", 2)};
    std::vector now{v2("ins-1", 9), v2("ins-2", 2)};
    auto r = reconcile_call(stop_v2(), "StopInstances", two, before, now, 1s);
    EXPECT_EQ(r.verdict, reconcile_verdict::executed);
    EXPECT_EQ(r.accepted, std::vector<std::string>{"ins-1"});  // 2.0 answers per instance
    EXPECT_TRUE(r.request_id.empty());
    EXPECT_NE(r.evidence.find("ins-1: status 2 → 9"), std::string::npos) << r.evidence;
    now = {v2("ins-1", 4), v2("ins-2", 4)};
    r = reconcile_call(stop_v2(), "StopInstances", two, before, now, 30s);
    EXPECT_EQ(r.accepted, two);
}

TEST(Reconcile, v2_unchanged_is_proof_only_after_the_settle_delay) {
    std::vector before{v2("ins-1", 2), v2("ins-2", 2)};
    auto r = reconcile_call(stop_v2(), "StopInstances", two, before, before, 9s);
    EXPECT_EQ(r.verdict, reconcile_verdict::undecided);  // a stale read could hide the change
    r = reconcile_call(stop_v2(), "StopInstances", two, before, before, 10s);
    EXPECT_EQ(r.verdict, reconcile_verdict::not_executed);
    EXPECT_TRUE(r.accepted.empty());
}

TEST(Reconcile, v2_an_instance_that_could_not_show_a_change_proves_nothing) {
    // Already stopped before the send: stopping it again changes nothing visible.
    std::vector before{v2("ins-1", 2), v2("ins-2", 4)};
    auto r = reconcile_call(stop_v2(), "StopInstances", two, before, before, 60s);
    EXPECT_EQ(r.verdict, reconcile_verdict::undecided);
    // Busy (starting) at the baseline: whatever follows is not ours to read.
    before = {v2("ins-1", 2), v2("ins-2", 3)};
    r = reconcile_call(stop_v2(), "StopInstances", two, before, before, 60s);
    EXPECT_EQ(r.verdict, reconcile_verdict::undecided);
    // Absent from the describe.
    before = {v2("ins-1", 2), v2("ins-2", 2)};
    std::vector now{v2("ins-1", 2)};
    r = reconcile_call(stop_v2(), "StopInstances", two, before, now, 60s);
    EXPECT_EQ(r.verdict, reconcile_verdict::undecided);
    EXPECT_NE(r.evidence.find("ins-2: not described"), std::string::npos) << r.evidence;
    // RebootInstances: running → rebooting → running; without seeing REBOOTING nothing shows.
    cvm_rule reboot;
    reboot.target = 2;
    reboot.transitional = 7;
    reboot.settle_delay = 10s;
    r = reconcile_call(reboot, "RebootInstances", two, before, before, 60s);
    EXPECT_EQ(r.verdict, reconcile_verdict::undecided);
    now = {v2("ins-1", 7), v2("ins-2", 2)};
    r = reconcile_call(reboot, "RebootInstances", two, before, now, 2s);
    EXPECT_EQ(r.verdict, reconcile_verdict::executed);
    EXPECT_EQ(r.accepted, std::vector<std::string>{"ins-1"});
}

TEST(Reconcile, v3_a_new_request_id_of_our_action_is_our_call_and_names_it) {
    std::vector before{v3("ins-1", "StartInstances", "old-1", "SUCCESS"), v3("ins-2", "", "", "")};
    std::vector now{v3("ins-1", "StopInstances", "R", "OPERATING"),
                    v3("ins-2", "", "", "")};  // not visible yet on this one
    auto r = reconcile_call(stop_v3(), "StopInstances", two, before, now, 1s);
    EXPECT_EQ(r.verdict, reconcile_verdict::executed);
    EXPECT_EQ(r.request_id, "R");
    EXPECT_EQ(r.accepted, two);  // a 3.0 call runs whole: every instance is the call's
    EXPECT_NE(r.evidence.find("old-1 → R"), std::string::npos) << r.evidence;
}

TEST(Reconcile, v3_unchanged_request_ids_past_the_settle_delay_mean_not_run) {
    std::vector before{v3("ins-1", "StartInstances", "old-1", "SUCCESS"), v3("ins-2", "", "", "")};
    EXPECT_EQ(reconcile_call(stop_v3(), "StopInstances", two, before, before, 5s).verdict,
              reconcile_verdict::undecided);
    auto r = reconcile_call(stop_v3(), "StopInstances", two, before, before, 10s);
    EXPECT_EQ(r.verdict, reconcile_verdict::not_executed);
    EXPECT_TRUE(r.request_id.empty());
}

TEST(Reconcile, v3_what_is_not_ours_or_not_settled_proves_nothing) {
    std::vector before{v3("ins-1", "StartInstances", "old-1", "OPERATING"),
                       v3("ins-2", "", "", "")};
    // An earlier operation still running: ours could not have started, or is queued behind it.
    auto r = reconcile_call(stop_v3(), "StopInstances", two, before, before, 60s);
    EXPECT_EQ(r.verdict, reconcile_verdict::undecided);
    // Someone else's new operation of another action.
    before = {v3("ins-1", "StartInstances", "old-1", "SUCCESS"), v3("ins-2", "", "", "")};
    std::vector now{v3("ins-1", "RebootInstances", "X", "OPERATING"), v3("ins-2", "", "", "")};
    r = reconcile_call(stop_v3(), "StopInstances", two, before, now, 60s);
    EXPECT_EQ(r.verdict, reconcile_verdict::undecided);
    // Two different new RequestIds of our action: not one call.
    now = {v3("ins-1", "StopInstances", "A", "SUCCESS"),
           v3("ins-2", "StopInstances", "B", "SUCCESS")};
    r = reconcile_call(stop_v3(), "StopInstances", two, before, now, 60s);
    EXPECT_EQ(r.verdict, reconcile_verdict::undecided);
    EXPECT_NE(r.evidence.find("2 different new RequestIds"), std::string::npos) << r.evidence;
}

TEST(Reconcile, a_reconciled_request_id_is_a_valid_request_id_of_its_instance) {
    EXPECT_EQ(reconciled_request_id("ins-1"), "reconciled:ins-1");
}

}  // namespace
}  // namespace taskpoller::engine
