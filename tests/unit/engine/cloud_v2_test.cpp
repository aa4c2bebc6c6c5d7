// API 2.0 behind the protocol seam (engine/cloud_v2.hpp): every answer class of
// docs/protocol.md "Error codes" read into protocol-neutral outcomes, and what a submission
// does next (decide_submission), for each.
#include "engine/cloud_v2.hpp"

#include <gtest/gtest.h>

#include "engine/registry.hpp"

namespace taskpoller::engine {
namespace {

call_outcome answered(std::string body) {
    return call_outcome{call_outcome::kind::answered, std::move(body), {}, 200};
}

struct Submission : ::testing::Test {
    registry reg;
    const action_profile& stop = **reg.find_action("cvm", "StopInstances");
    const action_profile& register_lb =
        **reg.find_action("lb", "RegisterInstancesWithLoadBalancer");
    std::vector<std::string> two{"ins-1", "ins-2"};

    submission_answer with_code(int code) {
        return v2::read_submission(
            stop.response,
            answered(fmt::format(R"({{"code":{},"message":"m","codeDesc":"X"}})", code)), two);
    }
};

TEST_F(Submission, every_error_class_of_the_table_maps_to_its_answer_and_next_step) {
    using k = submission_answer::kind;
    struct row {
        int code;
        k kind;
        submit_step first;  // what the first attempt (of 4) does next
    };
    const row table[] = {
        {4000, k::rejected, submit_step::record},             // invalid parameter
        {4100, k::rejected, submit_step::record},             // authentication
        {4104, k::rejected, submit_step::record},             // SecretId not found
        {4105, k::rejected, submit_step::record},             // token
        {4300, k::rejected, submit_step::record},             // access denied
        {4600, k::rejected, submit_step::record},             // protocol not supported
        {5000, k::rejected, submit_step::record},             // resource does not exist
        {5200, k::rejected, submit_step::record},             // purchase failure
        {6100, k::rejected, submit_step::record},             // API not available
        {4200, k::resign, submit_step::send_now},             // request expired: re-signed once
        {4500, k::resign, submit_step::send_now},             // replay: re-signed once
        {4400, k::throttled, submit_step::send_after_delay},  // not executed: backoff
        {6000, k::unknown, submit_step::record},  // a server error proves nothing: never re-sent
        {6200, k::unknown, submit_step::record},
    };
    for (const auto& r : table) {
        auto a = with_code(r.code);
        EXPECT_EQ(a.what, r.kind) << r.code << ": " << to_string(a.what);
        EXPECT_EQ(decide_submission(a.what, 0, 4, false), r.first) << r.code;
        if (a.what != k::unknown) {
            EXPECT_EQ(a.code, r.code);
        }
        EXPECT_TRUE(a.entries.empty()) << r.code;
    }
}

TEST_F(Submission, transport_outcomes_are_not_sent_or_unknown) {
    using k = submission_answer::kind;
    auto a = v2::read_submission(stop.response,
                                 {call_outcome::kind::not_sent, {}, "connect refused", 0}, two);
    EXPECT_EQ(a.what, k::not_sent);
    EXPECT_EQ(decide_submission(a.what, 0, 4, false), submit_step::send_after_delay);
    a = v2::read_submission(stop.response, {call_outcome::kind::outcome_unknown, {}, "reset", 0},
                            two);
    EXPECT_EQ(a.what, k::unknown);
    EXPECT_EQ(decide_submission(a.what, 0, 4, false), submit_step::record);
    a = v2::read_submission(stop.response, answered("<html>"), two);  // unreadable: may have acted
    EXPECT_EQ(a.what, k::unknown);
}

TEST_F(Submission, a_batch_answer_gives_one_entry_per_resource) {
    auto a = v2::read_submission(stop.response,
                                 answered(R"({"code":5400,"message":"partial","detail":{)"
                                          R"("ins-1":{"code":0,"message":"","requestId":"r1"},)"
                                          R"("ins-2":{"code":5100,"message":"stopped already"}}})"),
                                 two);
    ASSERT_EQ(a.what, submission_answer::kind::accepted);
    EXPECT_EQ(a.code, 5400);
    ASSERT_EQ(a.entries.size(), 2u);
    EXPECT_EQ(a.entries[0].outcome, core::entry_outcome::accepted);
    EXPECT_EQ(a.entries[0].request_id, "r1");
    EXPECT_EQ(a.entries[1].outcome, core::entry_outcome::rejected);
    EXPECT_EQ(a.entries[1].code, 5100);
}

TEST_F(Submission, a_common_async_answer_gives_its_request_id_to_every_resource) {
    auto a = v2::read_submission(register_lb.response, answered(R"({"code":0,"requestId":77})"),
                                 {"lb-1"});
    ASSERT_EQ(a.what, submission_answer::kind::accepted);
    ASSERT_EQ(a.entries.size(), 1u);
    EXPECT_EQ(a.entries[0].resource_id, "lb-1");
    EXPECT_EQ(a.entries[0].request_id, "77");
    a = v2::read_submission(register_lb.response, answered(R"({"code":0,"requestId":78})"), {});
    ASSERT_EQ(a.entries.size(), 1u);
    EXPECT_EQ(a.entries[0].resource_id, "(call)");
}

TEST(DecideSubmission, sends_are_bounded_resign_once_and_stopping_records) {
    using k = submission_answer::kind;
    EXPECT_EQ(decide_submission(k::not_sent, 2, 4, false), submit_step::send_after_delay);
    EXPECT_EQ(decide_submission(k::not_sent, 3, 4, false), submit_step::record);  // 4th send
    EXPECT_EQ(decide_submission(k::throttled, 0, 1, false), submit_step::record);
    EXPECT_EQ(decide_submission(k::resign, 1, 4, false), submit_step::record);  // once only
    EXPECT_EQ(decide_submission(k::throttled, 0, 4, true), submit_step::record);
    EXPECT_EQ(decide_submission(k::accepted, 0, 4, false), submit_step::record);
    EXPECT_EQ(decide_submission(k::rejected, 0, 4, false), submit_step::record);
}

TEST(PollAnswers, task_results_and_failures_by_class) {
    auto a = v2::read_task_poll(answered(R"({"code":0,"data":{"status":2}})"));
    EXPECT_FALSE(a.failure);
    EXPECT_EQ(a.status, remote_status::running);
    EXPECT_EQ(v2::read_task_poll(answered(R"({"code":0,"data":{"status":0}})")).status,
              remote_status::succeeded);
    EXPECT_EQ(v2::read_task_poll(answered(R"({"code":0,"data":{"status":1}})")).status,
              remote_status::failed);
    a = v2::read_task_poll(answered(R"({"code":4400,"message":"slow down"})"));
    ASSERT_TRUE(a.failure);
    EXPECT_EQ(a.failure->what, call_failure::kind::api);
    EXPECT_EQ(a.failure->cls, failure_class::throttled);
    EXPECT_EQ(a.failure->code, "4400");
    a = v2::read_task_poll(answered(R"({"code":5000,"message":"no such task"})"));
    EXPECT_EQ(a.failure->cls, failure_class::missing);
    a = v2::read_task_poll(answered("not json"));
    EXPECT_EQ(a.failure->what, call_failure::kind::malformed);
    a = v2::read_task_poll({call_outcome::kind::outcome_unknown, {}, "timeout", 0});
    EXPECT_EQ(a.failure->what, call_failure::kind::transport);
    EXPECT_EQ(a.failure->message, "timeout");
}

TEST(PollAnswers, classes_of_codes) {
    EXPECT_EQ(v2::classify(4400, {}), failure_class::throttled);
    EXPECT_EQ(v2::classify(4000, "InvalidRequest.LimitExceeded"), failure_class::throttled);
    EXPECT_EQ(v2::classify(6000, {}), failure_class::transient);
    EXPECT_EQ(v2::classify(6200, {}), failure_class::transient);
    EXPECT_EQ(v2::classify(-1, {}), failure_class::transient);  // unreadable code
    EXPECT_EQ(v2::classify(4200, {}), failure_class::resign);
    EXPECT_EQ(v2::classify(4500, {}), failure_class::resign);
    EXPECT_EQ(v2::classify(5000, {}), failure_class::missing);
    for (int c : {4100, 4101, 4104, 4105, 4110, 4300, 4600, 6100})
        EXPECT_EQ(v2::classify(c, {}), failure_class::account) << c;
    for (int c : {4000, 5100, 5200, 9999})
        EXPECT_EQ(v2::classify(c, {}), failure_class::final) << c;
}

TEST(PollAnswers, instances_and_their_parameters) {
    auto a = v2::read_instances(answered(
        R"({"code":0,"totalCount":1,"instanceSet":[{"unInstanceId":"ins-1","status":4}]})"));
    ASSERT_FALSE(a.failure);
    ASSERT_EQ(a.instances.size(), 1u);
    EXPECT_EQ(a.instances[0].instance_id, "ins-1");
    EXPECT_EQ(a.instances[0].status, 4);
    std::vector<std::string> ids{"ins-1", "ins-2"};
    auto p = qcloud::describe_instances_params(ids);
    ASSERT_EQ(p.size(), 4u);
    EXPECT_EQ(p[0].name, "instanceIds.0");
    EXPECT_EQ(p[1].value, "ins-2");
    EXPECT_EQ(p[2].name, "offset");
    EXPECT_EQ(p[3].name, "limit");
    EXPECT_EQ(p[3].value, "2");
}

}  // namespace
}  // namespace taskpoller::engine
