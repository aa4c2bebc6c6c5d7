#include "core/states.hpp"

#include <gtest/gtest.h>

namespace core = taskpoller::core;
using core::batch_state;
using core::task_state;

namespace {

constexpr task_state all_tasks[] = {
    task_state::pending,   task_state::running,   task_state::succeeded, task_state::failed,
    task_state::timed_out, task_state::not_found, task_state::cancelled};
constexpr batch_state all_batches[] = {batch_state::submitting, batch_state::submitted,
                                       batch_state::done, batch_state::rejected,
                                       batch_state::unknown};

TEST(TaskState, names_round_trip) {
    for (auto s : all_tasks) {
        auto parsed = core::parse_task_state(core::to_string(s));
        ASSERT_TRUE(parsed.has_value()) << core::to_string(s);
        EXPECT_EQ(*parsed, s);
    }
    EXPECT_EQ(core::to_string(task_state::timed_out), "timed_out");
    EXPECT_FALSE(core::parse_task_state("Succeeded"));
    EXPECT_FALSE(core::parse_task_state(""));
    EXPECT_FALSE(core::parse_task_state("done"));
}

TEST(TaskState, terminal_states) {
    EXPECT_FALSE(core::is_terminal(task_state::pending));
    EXPECT_FALSE(core::is_terminal(task_state::running));
    for (auto s : {task_state::succeeded, task_state::failed, task_state::timed_out,
                   task_state::not_found, task_state::cancelled}) {
        EXPECT_TRUE(core::is_terminal(s)) << core::to_string(s);
    }
}

TEST(TaskState, terminal_never_changes) {
    for (auto from : all_tasks) {
        if (!core::is_terminal(from)) continue;
        for (auto to : all_tasks) {
            EXPECT_FALSE(core::can_transition(from, to))
                << core::to_string(from) << "->" << core::to_string(to);
        }
    }
}

TEST(TaskState, live_transitions) {
    for (auto to : all_tasks) {
        EXPECT_TRUE(core::can_transition(task_state::pending, to)) << core::to_string(to);
    }
    EXPECT_FALSE(core::can_transition(task_state::running, task_state::pending));
    EXPECT_TRUE(core::can_transition(task_state::running, task_state::running));
    EXPECT_TRUE(core::can_transition(task_state::running, task_state::failed));
    EXPECT_FALSE(core::can_transition(task_state::pending, static_cast<task_state>(42)));
}

TEST(BatchState, names_and_transitions) {
    for (auto s : all_batches) {
        EXPECT_EQ(core::parse_batch_state(core::to_string(s)), s);
    }
    EXPECT_FALSE(core::parse_batch_state("pending"));
    EXPECT_TRUE(core::can_transition(batch_state::submitting, batch_state::submitted));
    EXPECT_TRUE(core::can_transition(batch_state::submitting, batch_state::rejected));
    EXPECT_TRUE(core::can_transition(batch_state::submitting, batch_state::unknown));
    EXPECT_FALSE(core::can_transition(batch_state::submitting, batch_state::done));
    EXPECT_TRUE(core::can_transition(batch_state::submitted, batch_state::done));
    EXPECT_FALSE(core::can_transition(batch_state::submitted, batch_state::unknown));
    for (auto from : {batch_state::done, batch_state::rejected, batch_state::unknown}) {
        EXPECT_TRUE(core::is_terminal(from));
        for (auto to : all_batches) EXPECT_FALSE(core::can_transition(from, to));
    }
    EXPECT_FALSE(core::is_terminal(batch_state::submitted));
}

TEST(EntryOutcome, names) {
    for (auto o : {core::entry_outcome::accepted, core::entry_outcome::rejected,
                   core::entry_outcome::unknown}) {
        EXPECT_EQ(core::parse_entry_outcome(core::to_string(o)), o);
    }
    EXPECT_EQ(core::to_string(static_cast<core::entry_outcome>(9)), "invalid");
}

}  // namespace
