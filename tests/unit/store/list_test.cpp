// Filters and pagination, across inserts, state changes and evictions.
#include <gtest/gtest.h>

#include "helpers.hpp"

namespace core = taskpoller::core;
using namespace taskpoller::store;
using namespace taskpoller::store::test;
using core::task_state;
using strings = std::vector<std::string>;

namespace {

struct ListFixture : ::testing::Test {
    core::manual_clock clock;
    store s{clock, seeded_options()};
    std::string b1, b2;

    void SetUp() override {
        b1 = submit(s, "lb", "DeleteLoadBalancers", {"1", "2", "3"}, {{"env", "prod"}});
        b2 = submit(s, "cvm", "StopInstances", {"4", "5"}, {{"env", "dev"}, {"team", "x"}});
        s.adopt_task({"lb", "6", "CreateLoadBalancer", {}, {{"env", "prod"}, {"team", "x"}}, {}});
        set_state(s, "lb", "2", task_state::running);
        set_state(s, "cvm", "5", task_state::running);
        set_state(s, "lb", "3", task_state::succeeded);
    }

    strings list(task_filter f, std::size_t limit = 100) {
        auto p = s.list_tasks(f, {limit, ""});
        EXPECT_TRUE(p);
        return ids(*p);
    }
};

TEST_F(ListFixture, single_filters) {
    EXPECT_EQ(list({}), (strings{"1", "2", "3", "4", "5", "6"}));
    EXPECT_EQ(list({.state = task_state::running}), (strings{"2", "5"}));
    EXPECT_EQ(list({.service = "cvm"}), (strings{"4", "5"}));
    EXPECT_EQ(list({.action = "CreateLoadBalancer"}), (strings{"6"}));
    EXPECT_EQ(list({.batch_id = b1}), (strings{"1", "2", "3"}));
    EXPECT_EQ(list({.labels = {{"env", "prod"}}}), (strings{"1", "2", "3", "6"}));
}

TEST_F(ListFixture, combined_filters) {
    EXPECT_EQ(list({.state = task_state::pending, .service = "lb"}), (strings{"1", "6"}));
    EXPECT_EQ(list({.state = task_state::running, .labels = {{"team", "x"}}}), (strings{"5"}));
    EXPECT_EQ(list({.labels = {{"env", "prod"}, {"team", "x"}}}), (strings{"6"}));
    EXPECT_EQ(list({.service = "lb",
                    .action = "DeleteLoadBalancers",
                    .batch_id = b1,
                    .labels = {{"env", "prod"}}}),
              (strings{"1", "2", "3"}));
    EXPECT_EQ(list({.service = "cvm", .batch_id = b1}), strings{});
}

TEST_F(ListFixture, unknown_values_match_nothing) {
    EXPECT_EQ(list({.service = "nosuch"}), strings{});
    EXPECT_EQ(list({.action = "Nope"}), strings{});
    EXPECT_EQ(list({.batch_id = "b-000000000000"}), strings{});
    EXPECT_EQ(list({.labels = {{"env", "qa"}}}), strings{});
}

TEST_F(ListFixture, indexes_follow_state_changes) {
    set_state(s, "lb", "1", task_state::running);
    EXPECT_EQ(list({.state = task_state::running}), (strings{"1", "2", "5"}));
    EXPECT_EQ(list({.state = task_state::pending}), (strings{"4", "6"}));
    s.cancel_task({"lb", "6"});
    EXPECT_EQ(list({.state = task_state::pending}), (strings{"4"}));
    EXPECT_EQ(list({.state = task_state::cancelled}), (strings{"6"}));
}

TEST_F(ListFixture, pagination_is_stable_across_inserts) {
    auto p1 = s.list_tasks({}, {2, ""});
    ASSERT_TRUE(p1);
    EXPECT_EQ(ids(*p1), (strings{"1", "2"}));
    ASSERT_FALSE(p1->next_page_token.empty());
    s.adopt_task({"lb", "7", "A", {}, {}, {}});  // arrives while the client pages
    auto p2 = s.list_tasks({}, {2, p1->next_page_token});
    EXPECT_EQ(ids(*p2), (strings{"3", "4"}));
    auto p3 = s.list_tasks({}, {2, p2->next_page_token});
    EXPECT_EQ(ids(*p3), (strings{"5", "6"}));
    auto p4 = s.list_tasks({}, {2, p3->next_page_token});
    EXPECT_EQ(ids(*p4), (strings{"7"}));
    EXPECT_TRUE(p4->next_page_token.empty());
}

TEST_F(ListFixture, pagination_with_filter_and_exact_fit) {
    auto p1 = s.list_tasks({.service = "lb"}, {2, ""});
    EXPECT_EQ(ids(*p1), (strings{"1", "2"}));
    auto p2 = s.list_tasks({.service = "lb"}, {2, p1->next_page_token});
    EXPECT_EQ(ids(*p2), (strings{"3", "6"}));
    EXPECT_TRUE(p2->next_page_token.empty());  // nothing more matches
}

TEST_F(ListFixture, bad_page_tokens_are_errors) {
    for (std::string bad : {"x", "t", "tzz", "b1", "t12345678901234567", "t-1"}) {
        auto r = s.list_tasks({}, {10, bad});
        ASSERT_FALSE(r) << bad;
        EXPECT_EQ(r.error().kind, core::error_kind::invalid);
    }
    auto batch_token = s.list_batches({}, {1, ""})->next_page_token;
    EXPECT_FALSE(s.list_tasks({}, {10, batch_token}));
}

TEST_F(ListFixture, limit_is_clamped) {
    EXPECT_EQ(s.list_tasks({}, {0, ""})->items.size(), 1u);
    EXPECT_EQ(s.list_tasks({}, {1u << 30, ""})->items.size(), 6u);
}

TEST_F(ListFixture, batches_filters_and_pages) {
    auto rej = s.create_batch({"lb", "A", "", {{"env", "prod"}}, ""});
    auto all = s.list_batches({}, {10, ""});
    ASSERT_EQ(all->items.size(), 3u);
    EXPECT_EQ(all->items[0].id, b1);
    EXPECT_EQ(s.list_batches({.service = "cvm"}, {10, ""})->items.size(), 1u);
    EXPECT_EQ(s.list_batches({.state = core::batch_state::submitting}, {10, ""})->items[0].id,
              rej->id);
    EXPECT_EQ(s.list_batches({.labels = {{"env", "prod"}}}, {10, ""})->items.size(), 2u);
    EXPECT_EQ(s.list_batches({.action = "StopInstances", .labels = {{"team", "x"}}}, {10, ""})
                  ->items[0]
                  .id,
              b2);
    auto p1 = s.list_batches({}, {2, ""});
    auto p2 = s.list_batches({}, {2, p1->next_page_token});
    ASSERT_EQ(p2->items.size(), 1u);
    EXPECT_EQ(p2->items[0].id, rej->id);
    EXPECT_FALSE(s.list_batches({}, {2, "t1"}));
}

TEST(ListEviction, pages_skip_evicted_tasks_without_repeating) {
    core::manual_clock clock;
    auto o = seeded_options();
    o.retention.ttl = std::chrono::seconds(10);
    store s{clock, o};
    for (int i = 0; i < 10; ++i) s.adopt_task({"lb", std::to_string(i), "A", {}, {}, {}});
    auto p1 = s.list_tasks({}, {3, ""});
    EXPECT_EQ(ids(*p1), (strings{"0", "1", "2"}));
    for (auto rid : {"2", "3", "4", "7"}) set_state(s, "lb", rid, task_state::succeeded);
    clock.advance(std::chrono::seconds(11));
    EXPECT_EQ(s.expire(clock.system_now()), 4u);
    auto p2 = s.list_tasks({}, {3, p1->next_page_token});
    EXPECT_EQ(ids(*p2), (strings{"5", "6", "8"}));
    auto p3 = s.list_tasks({}, {3, p2->next_page_token});
    EXPECT_EQ(ids(*p3), (strings{"9"}));
    EXPECT_EQ(s.list_tasks({.state = task_state::succeeded}, {10, ""})->items.size(), 0u);
}

}  // namespace
