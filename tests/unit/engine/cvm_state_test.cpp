#include "engine/cvm_state.hpp"

#include <gtest/gtest.h>

#include "engine/registry.hpp"

namespace taskpoller::engine {
namespace {

using namespace std::chrono_literals;
const time_point t0 = time_point(std::chrono::hours(5000));

cvm_rule rule_of(std::string_view action) {
    static const registry r;
    return *r.find_action("cvm", action).value()->cvm;
}

std::vector<instance_observation> page(std::initializer_list<std::pair<const char*, int>> l) {
    std::vector<instance_observation> v;
    for (auto [id, s] : l) v.push_back({.instance_id = id, .status = s});
    return v;
}

struct action_case {
    const char* action;
    int old_status;  // what the instance shows before the action takes effect
    int transitional;
    int target;
};

void PrintTo(const action_case& c, std::ostream* os) {
    *os << c.action;
}

class EveryAction : public ::testing::TestWithParam<action_case> {};

TEST_P(EveryAction, old_transitional_target_succeeds_before_the_settle_delay) {
    const auto c = GetParam();
    cvm_task_state t(rule_of(c.action), {"ins-1"}, t0);
    EXPECT_EQ(t.observe(page({{"ins-1", c.old_status}}), t0 + 1s), verdict::running);
    EXPECT_EQ(t.observe(page({{"ins-1", c.transitional}}), t0 + 2s), verdict::running);
    EXPECT_EQ(t.observe(page({{"ins-1", c.target}}), t0 + 3s), verdict::succeeded);
    EXPECT_EQ(t.reason(), "");
}

TEST_P(EveryAction, target_without_transitional_waits_for_the_settle_delay) {
    const auto c = GetParam();
    cvm_task_state t(rule_of(c.action), {"ins-1"}, t0);
    EXPECT_EQ(t.observe(page({{"ins-1", c.target}}), t0 + 1s), verdict::running);
    EXPECT_EQ(t.observe(page({{"ins-1", c.target}}), t0 + 9999ms), verdict::running);
    EXPECT_EQ(t.observe(page({{"ins-1", c.target}}), t0 + 10s), verdict::succeeded);
}

TEST_P(EveryAction, failure_statuses_fail_at_once) {
    const auto c = GetParam();
    for (int bad : {-1, 1}) {
        cvm_task_state t(rule_of(c.action), {"ins-1"}, t0);
        EXPECT_EQ(t.observe(page({{"ins-1", bad}}), t0 + 1s), verdict::failed);
        EXPECT_NE(t.reason().find("ins-1: status " + std::to_string(bad)), std::string::npos)
            << t.reason();
    }
}

INSTANTIATE_TEST_SUITE_P(Cvm, EveryAction,
                         ::testing::Values(action_case{"StartInstances", 4, 8, 2},
                                           action_case{"StopInstances", 2, 9, 4},
                                           action_case{"RestartInstances", 2, 7, 2},
                                           action_case{"ResetInstancePassword", 4, 10, 4},
                                           action_case{"ResetInstances", 2, 14, 2}),
                         [](const auto& info) { return std::string(info.param.action); });

TEST(CvmState, old_non_target_status_is_waited_out_not_failed) {
    cvm_task_state t(rule_of("StopInstances"), {"ins-1"}, t0);
    for (int i = 1; i <= 20; ++i)
        EXPECT_EQ(t.observe(page({{"ins-1", 2}}), t0 + i * 5s), verdict::running) << i;
}

TEST(CvmState, stable_non_target_after_transitional_fails) {
    cvm_task_state t(rule_of("StopInstances"), {"ins-1"}, t0);
    EXPECT_EQ(t.observe(page({{"ins-1", 9}}), t0 + 1s), verdict::running);
    EXPECT_EQ(t.observe(page({{"ins-1", 2}}), t0 + 2s), verdict::running);  // once: not stable
    EXPECT_EQ(t.observe(page({{"ins-1", 2}}), t0 + 3s), verdict::failed);
    EXPECT_NE(t.reason().find("settled in status 2 (running) instead of status 4 (stopped)"),
              std::string::npos)
        << t.reason();
}

TEST(CvmState, one_odd_read_between_transitional_states_is_tolerated) {
    cvm_task_state t(rule_of("StopInstances"), {"ins-1"}, t0);
    t.observe(page({{"ins-1", 9}}), t0 + 1s);
    EXPECT_EQ(t.observe(page({{"ins-1", 2}}), t0 + 2s), verdict::running);
    EXPECT_EQ(t.observe(page({{"ins-1", 9}}), t0 + 3s), verdict::running);
    EXPECT_EQ(t.observe(page({{"ins-1", 2}}), t0 + 4s), verdict::running);
    EXPECT_EQ(t.observe(page({{"ins-1", 4}}), t0 + 5s), verdict::succeeded);
}

TEST(CvmState, stable_checks_is_configurable) {
    cvm_task_state t(rule_of("StartInstances"), {"ins-1"}, t0, cvm_options{3, 3});
    t.observe(page({{"ins-1", 8}}), t0 + 1s);
    EXPECT_EQ(t.observe(page({{"ins-1", 4}}), t0 + 2s), verdict::running);
    EXPECT_EQ(t.observe(page({{"ins-1", 4}}), t0 + 3s), verdict::running);
    EXPECT_EQ(t.observe(page({{"ins-1", 4}}), t0 + 4s), verdict::failed);
}

TEST(CvmState, other_busy_states_are_not_the_transitional_state) {
    cvm_task_state t(rule_of("RestartInstances"), {"ins-1"}, t0);
    EXPECT_EQ(t.observe(page({{"ins-1", 19}}), t0 + 1s), verdict::running);  // upgrading
    EXPECT_EQ(t.observe(page({{"ins-1", 2}}), t0 + 2s), verdict::running);   // may be stale
    EXPECT_EQ(t.observe(page({{"ins-1", 2}}), t0 + 11s), verdict::succeeded);
}

TEST(CvmState, rule_without_transitional_relies_on_the_settle_delay) {
    cvm_rule r = rule_of("StopInstances");
    r.transitional = -100;
    r.settle_delay = 30s;
    cvm_task_state t(r, {"ins-1"}, t0);
    EXPECT_EQ(t.observe(page({{"ins-1", 4}}), t0 + 29s), verdict::running);
    EXPECT_EQ(t.observe(page({{"ins-1", 4}}), t0 + 30s), verdict::succeeded);
}

TEST(CvmState, missing_instance_becomes_not_found_after_n_consecutive_checks) {
    cvm_task_state t(rule_of("StopInstances"), {"ins-1"}, t0);
    EXPECT_EQ(t.observe({}, t0 + 1s), verdict::running);
    EXPECT_EQ(t.observe({}, t0 + 2s), verdict::running);
    EXPECT_EQ(t.observe(page({{"ins-1", 9}}), t0 + 3s), verdict::running);  // resets the count
    EXPECT_EQ(t.observe(page({{"other", 4}}), t0 + 4s), verdict::running);
    EXPECT_EQ(t.observe({}, t0 + 5s), verdict::running);
    EXPECT_EQ(t.observe({}, t0 + 6s), verdict::not_found);
    EXPECT_NE(t.reason().find("absent from DescribeInstances 3 times"), std::string::npos);
}

TEST(CvmState, multi_instance_task_is_terminal_when_all_are) {
    cvm_task_state t(rule_of("StopInstances"), {"a", "b", "c"}, t0);
    EXPECT_EQ(t.observe(page({{"a", 9}, {"b", 9}, {"c", 2}}), t0 + 1s), verdict::running);
    EXPECT_EQ(t.observe(page({{"a", 4}, {"b", 9}, {"c", 9}}), t0 + 2s), verdict::running);
    EXPECT_EQ(t.pending_instances(), (std::vector<std::string>{"b", "c"}));
    // "a" is done: later answers (even its absence) do not change it.
    EXPECT_EQ(t.observe(page({{"b", 4}, {"c", 9}}), t0 + 3s), verdict::running);
    EXPECT_EQ(t.pending_instances(), (std::vector<std::string>{"c"}));
    EXPECT_EQ(t.observe(page({{"c", 4}}), t0 + 4s), verdict::succeeded);
    EXPECT_EQ(t.last_status(), "a=4,b=4,c=4");
}

TEST(CvmState, multi_instance_fails_if_any_failed_but_only_when_all_terminal) {
    cvm_task_state t(rule_of("StartInstances"), {"a", "b"}, t0);
    EXPECT_EQ(t.observe(page({{"a", 1}, {"b", 8}}), t0 + 1s), verdict::running);
    EXPECT_EQ(t.observe(page({{"b", 2}}), t0 + 2s), verdict::failed);
    EXPECT_EQ(t.reason(), "a: status 1 (faulty)");
}

TEST(CvmState, not_found_mixtures) {
    cvm_task_state all(rule_of("StartInstances"), {"a", "b"}, t0);
    for (int i = 1; i <= 3; ++i) all.observe({}, t0 + i * 1s);
    EXPECT_EQ(all.state(), verdict::not_found);

    cvm_task_state some(rule_of("StartInstances"), {"a", "b"}, t0);
    some.observe(page({{"a", 8}}), t0 + 1s);
    some.observe(page({{"a", 2}}), t0 + 2s);
    EXPECT_EQ(some.observe({}, t0 + 3s), verdict::failed);
    EXPECT_NE(some.reason().find("b: absent"), std::string::npos) << some.reason();
}

TEST(CvmState, observe_one_and_duplicates) {
    cvm_task_state t(rule_of("StopInstances"), {"a", "a", "b"}, t0);
    EXPECT_EQ(t.pending_instances().size(), 2u);
    EXPECT_EQ(t.last_status(), "a=none,b=none");
    EXPECT_EQ(t.observe_one("a", 9, t0 + 1s), verdict::running);
    EXPECT_EQ(t.observe_one("a", 4, t0 + 2s), verdict::running);
    EXPECT_EQ(t.observe_one("zzz", 4, t0 + 2s), verdict::running);  // ignored
    EXPECT_EQ(t.observe_one("b", 4, t0 + 12s), verdict::succeeded);
    // Duplicate answers for one instance: the first wins.
    cvm_task_state d(rule_of("StopInstances"), {"x"}, t0);
    EXPECT_EQ(d.observe(page({{"x", 1}, {"x", 4}}), t0 + 20s), verdict::failed);
}

TEST(CvmState, judge_instance_directly) {
    const cvm_rule r = rule_of("RestartInstances");
    instance_progress p;
    EXPECT_EQ(judge_instance(r, {}, p, 7, 1s), verdict::running);
    EXPECT_TRUE(p.transitional_seen);
    EXPECT_EQ(judge_instance(r, {}, p, 2, 2s), verdict::succeeded);
    EXPECT_EQ(judge_instance(r, {}, p, 1, 3s), verdict::succeeded);  // terminal stays
    EXPECT_EQ(to_string(verdict::not_found), "not_found");
}

}  // namespace
}  // namespace taskpoller::engine
