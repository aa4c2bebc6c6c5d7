#include <gtest/gtest.h>

#include "helpers.hpp"

namespace core = taskpoller::core;
using namespace taskpoller::store;
using namespace taskpoller::store::test;
using core::task_state;
using namespace std::chrono_literals;

namespace {

store_options retention(std::chrono::seconds ttl, std::size_t max_tasks, std::size_t max_batches) {
    auto o = seeded_options();
    o.retention = {ttl, max_tasks, max_batches};
    return o;
}

TEST(Retention, ttl_expires_finished_work_only) {
    core::manual_clock clock;
    store s{clock, retention(60s, 1000, 1000)};
    s.adopt_task({"lb", "live", "A", {}, {}, {}});
    s.adopt_task({"lb", "done", "A", {}, {}, {}});
    EXPECT_FALSE(s.next_expiry());
    set_state(s, "lb", "done", task_state::succeeded);
    auto finished = clock.system_now();
    EXPECT_EQ(s.next_expiry(), finished + 60s);
    clock.advance(59s);
    EXPECT_EQ(s.expire(clock.system_now()), 0u);
    clock.advance(1s);
    EXPECT_EQ(s.expire(clock.system_now()), 1u);
    EXPECT_FALSE(s.get_task({"lb", "done"}));
    EXPECT_TRUE(s.get_task({"lb", "live"}));
    EXPECT_FALSE(s.next_expiry());
    clock.advance(1000h);
    EXPECT_EQ(s.expire(clock.system_now()), 0u);  // live tasks are never evicted
    EXPECT_EQ(s.task_count(), 1u);
    EXPECT_EQ(s.task_counts()[static_cast<int>(task_state::succeeded)], 0u);
    // A forgotten key can be tracked again.
    EXPECT_TRUE(s.adopt_task({"lb", "done", "A", {}, {}, {}}));
}

TEST(Retention, expiry_is_a_change) {
    core::manual_clock clock;
    store s{clock, retention(1s, 1000, 1000)};
    s.adopt_task({"lb", "1", "A", {}, {}, {}});
    set_state(s, "lb", "1", task_state::failed);
    int woken = 0;
    auto h = s.watch_changes(s.seq(), [&] { ++woken; });
    clock.advance(2s);
    s.expire(clock.system_now());
    EXPECT_EQ(woken, 1);
    auto c = s.changes_since(s.seq() - 1, 10).changes;
    ASSERT_EQ(c.size(), 1u);
    EXPECT_EQ(c[0].kind, change_kind::task_expired);
    EXPECT_EQ(c[0].subject, "lb/1\n\n");  // adopted without a region: no region, no batch
}

TEST(Retention, batch_is_kept_while_a_task_is_live_then_goes_with_its_tasks) {
    core::manual_clock clock;
    store s{clock, retention(10s, 1000, 1000)};
    auto id = submit(s, "lb", "A", {"1", "2"});
    set_state(s, "lb", "1", task_state::succeeded);
    clock.advance(1h);
    EXPECT_EQ(s.expire(clock.system_now()), 0u);
    EXPECT_TRUE(s.get_task({"lb", "1"}));  // its batch is not finished yet
    set_state(s, "lb", "2", task_state::succeeded);
    EXPECT_EQ(s.next_expiry(), clock.system_now() + 10s);
    clock.advance(10s);
    EXPECT_EQ(s.expire(clock.system_now()), 3u);
    EXPECT_FALSE(s.get_batch(id));
    EXPECT_FALSE(s.get_task({"lb", "1"}));
    EXPECT_EQ(s.batch_count(), 0u);
    EXPECT_EQ(s.task_count(), 0u);
}

TEST(Retention, max_count_evicts_oldest_first) {
    core::manual_clock clock;
    store s{clock, retention(24h, 3, 1000)};
    for (int i = 0; i < 5; ++i) {
        s.adopt_task({"lb", std::to_string(i), "A", {}, {}, {}});
    }
    for (auto rid : {"3", "0", "4", "1"}) {  // finish order, not creation order
        clock.advance(1s);
        set_state(s, "lb", rid, task_state::succeeded);
    }
    auto due = s.next_expiry();
    ASSERT_TRUE(due);
    EXPECT_LE(*due, clock.system_now());  // over the count: due now
    EXPECT_EQ(s.expire(clock.system_now()), 1u);
    EXPECT_FALSE(s.get_task({"lb", "3"}));  // finished first, evicted first
    for (auto rid : {"0", "1", "2", "4"}) EXPECT_TRUE(s.get_task({"lb", rid})) << rid;
    EXPECT_EQ(s.next_expiry(), clock.system_now() - 2s + 24h);  // "0" finished 2s ago
}

TEST(Retention, max_batches) {
    core::manual_clock clock;
    store s{clock, retention(24h, 1000, 1)};
    auto a = s.create_batch({"lb", "A", "", {}, "t1"});
    s.mark_batch_unknown(a->id, "x");
    clock.advance(1s);
    auto b = s.create_batch({"lb", "A", "", {}, ""});
    s.mark_batch_unknown(b->id, "y");
    EXPECT_EQ(s.expire(clock.system_now()), 1u);
    EXPECT_FALSE(s.get_batch(a->id));
    EXPECT_FALSE(s.find_batch_by_token("t1"));  // its token is free again
    EXPECT_TRUE(s.create_batch({"lb", "A", "", {}, "t1"}));
    EXPECT_TRUE(s.get_batch(b->id));
}

TEST(Retention, compaction_keeps_everything_consistent) {
    core::manual_clock clock;
    store s{clock, retention(1s, 1'000'000, 1'000'000)};
    // Enough churn to trigger compaction (more than 4096 dead records, more dead than alive).
    std::vector<std::string> batches;
    for (int i = 0; i < 2400; ++i) {
        std::vector<std::string> rids;
        for (int j = 0; j < 5; ++j) rids.push_back(std::to_string(i * 5 + j));
        batches.push_back(submit(s, "lb", "A", rids, {{"n", std::to_string(i % 3)}}));
    }
    for (int i = 0; i < 12000; ++i) {
        if (i % 20 == 0) continue;  // keep every twentieth live: one batch in four stays
        set_state(s, "lb", std::to_string(i), task_state::succeeded);
    }
    clock.advance(2s);
    EXPECT_EQ(s.compactions(), 0u);
    EXPECT_EQ(s.expire(clock.system_now()), 1800u * 6);
    EXPECT_EQ(s.compactions(), 1u);
    std::size_t live = 0;
    for (int i = 0; i < 12000; ++i) {
        auto t = s.get_task({"lb", std::to_string(i)});
        if (i % 20 == 0) {
            ASSERT_TRUE(t) << i;
            EXPECT_EQ(t->state, task_state::pending);
            ++live;
        }
        if (t) {
            EXPECT_TRUE(s.get_batch(t->batch_id)) << i;
        }
    }
    EXPECT_EQ(live, 600u);
    EXPECT_EQ(s.list_tasks({.state = task_state::pending}, {1000, ""})->items.size(), 600u);
    EXPECT_EQ(s.list_tasks({.labels = {{"n", "0"}}}, {1000, ""})->items.size(),
              static_cast<std::size_t>(
                  s.list_batches({.labels = {{"n", "0"}}}, {1000, ""})->items.size() * 5));
    EXPECT_EQ(s.batch_count(), 600u);
    // State changes after compaction still land in the right place.
    for (int i = 0; i < 12000; i += 20) {
        ASSERT_TRUE(set_state(s, "lb", std::to_string(i), task_state::failed)) << i;
    }
    EXPECT_EQ(s.batch_counts()[static_cast<int>(core::batch_state::done)], 600u);
    clock.advance(2s);
    s.expire(clock.system_now());
    EXPECT_EQ(s.task_count(), 0u);
    EXPECT_EQ(s.batch_count(), 0u);
    EXPECT_TRUE(s.list_tasks({}, {10, ""})->items.empty());
}

}  // namespace
