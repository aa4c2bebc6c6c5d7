// pending_changes and retry_backoff: what a failed journal owes the disk, and when to retry.
#include "store/journal_pending.hpp"

#include <gtest/gtest.h>

using namespace taskpoller::store;
using namespace std::chrono_literals;

namespace {

TEST(PendingChanges, keeps_each_object_once_in_first_noted_order_with_its_last_state) {
    pending_changes p;
    EXPECT_TRUE(p.empty());
    p.note_batch("b-1", false, 1);
    p.note_task({"lb", "r1"}, false, 2);
    p.note_task({"lb", "r2"}, false, 3);
    p.note_batch("b-1", false, 4);  // the outcome: same batch, keeps its place before its tasks
    p.note_task({"lb", "r1"}, true, 5);
    ASSERT_EQ(p.size(), 3u);
    const auto& it = p.items();
    EXPECT_FALSE(it[0].is_task);
    EXPECT_EQ(it[0].batch_id, "b-1");
    EXPECT_EQ(it[0].seq, 4u);
    EXPECT_TRUE(it[1].is_task);
    EXPECT_EQ(it[1].key.request_id, "r1");
    EXPECT_TRUE(it[1].expired);
    EXPECT_EQ(it[1].seq, 5u);
    EXPECT_EQ(it[2].key.request_id, "r2");
    EXPECT_FALSE(it[2].expired);
}

TEST(PendingChanges, a_batch_and_a_task_with_the_same_name_are_different_objects) {
    pending_changes p;
    p.note_batch("lb/x", false, 1);
    p.note_task({"lb", "x"}, false, 2);
    EXPECT_EQ(p.size(), 2u);
    p.clear();
    EXPECT_TRUE(p.empty());
    p.note_task({"lb", "x"}, false, 3);
    EXPECT_EQ(p.size(), 1u);
}

TEST(RetryBackoff, doubles_up_to_its_maximum_and_starts_over_after_reset) {
    retry_backoff b{100ms, 1000ms};
    EXPECT_EQ(b.next(), 100ms);
    EXPECT_EQ(b.next(), 200ms);
    EXPECT_EQ(b.next(), 400ms);
    EXPECT_EQ(b.next(), 800ms);
    EXPECT_EQ(b.next(), 1000ms);
    EXPECT_EQ(b.next(), 1000ms);
    b.reset();
    EXPECT_EQ(b.next(), 100ms);
}

}  // namespace
