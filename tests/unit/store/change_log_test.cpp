#include "store/change_log.hpp"

#include <gtest/gtest.h>

#include <random>
#include <unordered_map>

#include "helpers.hpp"
#include "store/key_table.hpp"

namespace core = taskpoller::core;
using namespace taskpoller::store;
using namespace taskpoller::store::test;

namespace {

change make(std::uint64_t seq) {
    return change{seq, change_kind::task_changed, "lb/1", "running"};
}

TEST(ChangeLog, returns_changes_after_since) {
    change_log log(8);
    for (std::uint64_t i = 1; i <= 5; ++i) log.push(make(i));
    auto p = log.since(2, 100);
    ASSERT_EQ(p.changes.size(), 3u);
    EXPECT_EQ(p.changes.front().seq, 3u);
    EXPECT_FALSE(p.gap);
    EXPECT_EQ(p.first_available, 1u);
    EXPECT_EQ(p.last_seq, 5u);
    EXPECT_TRUE(log.since(5, 100).changes.empty());
    EXPECT_EQ(log.since(0, 2).changes.size(), 2u);
}

TEST(ChangeLog, reports_gap_when_since_is_too_old) {
    change_log log(4);
    for (std::uint64_t i = 1; i <= 10; ++i) log.push(make(i));
    auto p = log.since(3, 100);
    EXPECT_TRUE(p.gap);
    EXPECT_EQ(p.first_available, 7u);
    ASSERT_EQ(p.changes.size(), 4u);
    EXPECT_EQ(p.changes.front().seq, 7u);
    EXPECT_FALSE(log.since(6, 100).gap);  // 7 is the next one needed, and held
    EXPECT_TRUE(log.since(5, 100).gap);
    EXPECT_EQ(log.size(), 4u);
}

TEST(ChangeLog, skip_to_makes_history_a_gap) {
    change_log log(4);
    log.skip_to(100);
    EXPECT_TRUE(log.since(50, 10).gap);
    EXPECT_FALSE(log.since(100, 10).gap);
    log.push(make(101));
    EXPECT_EQ(log.since(100, 10).changes.size(), 1u);
    EXPECT_THROW(log.push(make(101)), std::logic_error);
}

TEST(StoreChanges, every_change_is_logged_in_order) {
    core::manual_clock clock;
    store s{clock, seeded_options()};
    auto id = submit(s, "lb", "A", {"1", "2"});
    set_state(s, "lb", "1", core::task_state::succeeded);
    set_state(s, "lb", "2", core::task_state::failed);
    auto p = s.changes_since(0, 100);
    ASSERT_EQ(p.changes.size(), 7u);
    std::vector<std::string> got;
    for (std::size_t i = 0; i < p.changes.size(); ++i) {
        EXPECT_EQ(p.changes[i].seq, i + 1);
        got.push_back(std::string(to_string(p.changes[i].kind)) + " " + p.changes[i].subject + " " +
                      std::string(p.changes[i].state));
    }
    // A task's subject is its whole identity: service/requestId, region, batch.
    const std::string t1 = "lb/1\nap-guangzhou\n" + id, t2 = "lb/2\nap-guangzhou\n" + id;
    EXPECT_EQ(got, (std::vector<std::string>{
                       "batch_created " + id + " submitting", "batch_changed " + id + " submitted",
                       "task_created " + t1 + " pending", "task_created " + t2 + " pending",
                       "task_changed " + t1 + " succeeded", "task_changed " + t2 + " failed",
                       "batch_changed " + id + " done"}));
}

TEST(StoreChanges, small_ring_reports_gap) {
    core::manual_clock clock;
    auto o = seeded_options();
    o.change_log_capacity = 3;
    store s{clock, o};
    for (int i = 0; i < 10; ++i) s.adopt_task({"lb", std::to_string(i), "A", {}, {}, {}});
    auto p = s.changes_since(2, 100);
    EXPECT_TRUE(p.gap);
    EXPECT_EQ(p.first_available, 8u);
    EXPECT_EQ(p.changes.size(), 3u);
    EXPECT_FALSE(s.changes_since(7, 100).gap);
}

TEST(KeyTable, insert_find_erase_under_churn) {
    key_table t;
    std::unordered_map<std::uint32_t, std::uint64_t> model;  // pos → hash
    std::mt19937 rng(3);
    auto hash_of = [](std::uint32_t pos) { return std::uint64_t{pos % 97} * 0x100000001ull; };
    std::uint32_t next = 0;
    for (int round = 0; round < 20000; ++round) {
        if (model.empty() || rng() % 3 != 0) {
            auto pos = next++;
            t.insert(hash_of(pos), pos);  // many collisions on purpose
            model[pos] = hash_of(pos);
        } else {
            auto it = model.begin();
            std::advance(it, rng() % model.size());
            auto pos = it->first;
            ASSERT_TRUE(t.erase(it->second, [&](std::uint32_t p) { return p == pos; }));
            model.erase(it);
        }
    }
    EXPECT_EQ(t.size(), model.size());
    for (const auto& entry : model) {
        const auto pos = entry.first;
        auto found = t.find(entry.second, [&](std::uint32_t p) { return p == pos; });
        ASSERT_TRUE(found);
        EXPECT_EQ(*found, pos);
    }
    EXPECT_FALSE(t.find(hash_of(1), [&](std::uint32_t p) { return p == next + 1; }));
}

}  // namespace
