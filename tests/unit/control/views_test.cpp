// The task view of an API 3.0 CVM task names its instances' LatestOperation* (issue 17).
#include "control/views.hpp"

#include <gtest/gtest.h>

#include "engine/registry.hpp"

namespace taskpoller::control {
namespace {

core::task stop_task() {
    core::task t;
    t.service = "cvm";
    t.request_id = "R-1";
    t.action = "StopInstances";
    t.resources = {"ins-1", "ins-2", "ins-3"};
    t.last_status = "ins-1=STOPPED/SUCCESS,ins-2=RUNNING/-";
    return t;
}

TEST(TaskView, a_v3_cvm_task_lists_each_instance_s_latest_operation) {
    const engine::registry reg("api.qcloud.com", engine::protocol::v3);
    auto o = task_view(stop_task(), &reg);
    EXPECT_EQ(o.at("protocol"), "v3");
    const auto& in = o.at("instances").as_array();
    ASSERT_EQ(in.size(), 3u);
    EXPECT_EQ(in[0].at("instance_id"), "ins-1");
    EXPECT_EQ(in[0].at("instance_state"), "STOPPED");
    EXPECT_EQ(in[0].at("latest_operation"), "StopInstances");
    EXPECT_EQ(in[0].at("latest_operation_state"), "SUCCESS");
    EXPECT_EQ(in[0].at("latest_operation_request_id"), "R-1");
    // Another RequestId's operation shows on ins-2: ours is not visible yet.
    EXPECT_EQ(in[1].at("instance_state"), "RUNNING");
    EXPECT_TRUE(in[1].at("latest_operation").is_null());
    EXPECT_TRUE(in[1].at("latest_operation_state").is_null());
    EXPECT_TRUE(in[1].at("latest_operation_request_id").is_null());
    // Never described yet.
    EXPECT_EQ(in[2].at("instance_id"), "ins-3");
    EXPECT_TRUE(in[2].at("instance_state").is_null());
}

TEST(TaskView, other_tasks_have_no_instances_field) {
    const engine::registry v2("api.qcloud.com", engine::protocol::v2);
    auto t = stop_task();
    t.last_status = "ins-1=4,ins-2=9";
    EXPECT_FALSE(task_view(t, &v2).contains("instances"));
    EXPECT_FALSE(task_view(t, nullptr).contains("instances"));
}

// Issue 18: a requestId adopted for 2.0 cvm is judged by the instances' status alone; the task
// says so (a made-up id "succeeds" when the instances already rest in the target status).
TEST(TaskView, an_adopted_v2_cvm_task_says_its_completion_is_inferred) {
    const engine::registry v2("api.qcloud.com", engine::protocol::v2);
    auto t = stop_task();
    t.last_status = "ins-1=4";
    ASSERT_TRUE(task_view(t, &v2).contains("completion"));  // adopted: no batch
    EXPECT_NE(std::string(task_view(t, &v2).at("completion").as_string()).find("inferred"),
              std::string::npos);
    t.batch_id = "b-0001a2b3";  // our own submission: its requestIds came from the answer
    EXPECT_FALSE(task_view(t, &v2).contains("completion"));
    const engine::registry v3("api.qcloud.com", engine::protocol::v3);
    t.batch_id.clear();
    EXPECT_FALSE(task_view(t, &v3).contains("completion"));  // 3.0 checks the RequestId
}

// "expected_finish_at" (docs/api.md): the tracker's estimate when it has one, else null.
TEST(TaskView, expected_finish_at_is_the_estimate_or_null) {
    const auto t = stop_task();
    EXPECT_TRUE(task_view(t).at("expected_finish_at").is_null());
    const core::sys_time at{std::chrono::milliseconds{1'764'285'320'123}};
    EXPECT_EQ(task_view(t, nullptr, at).at("expected_finish_at"), "2025-11-27T23:15:20.123Z");
    core::batch b;
    b.id = "b-1";
    b.service = "cvm";
    b.action = "StopInstances";
    EXPECT_TRUE(batch_view(b).at("expected_finish_at").is_null());
    EXPECT_EQ(batch_view(b, nullptr, at).at("expected_finish_at"), "2025-11-27T23:15:20.123Z");
}

}  // namespace
}  // namespace taskpoller::control
