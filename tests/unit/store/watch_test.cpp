#include <gtest/gtest.h>

#include "helpers.hpp"

namespace core = taskpoller::core;
using namespace taskpoller::store;
using namespace taskpoller::store::test;
using core::task_state;

namespace {

struct WatchFixture : ::testing::Test {
    core::manual_clock clock;
    store s{clock, seeded_options()};
};

TEST_F(WatchFixture, task_watch_fires_once_on_terminal) {
    submit(s, "lb", "A", {"1"});
    int fired = 0;
    auto h = s.watch_task_terminal({"lb", "1"}, [&] { ++fired; });
    ASSERT_TRUE(h);
    EXPECT_TRUE(h->pending());
    set_state(s, "lb", "1", task_state::running);
    EXPECT_EQ(fired, 0);
    set_state(s, "lb", "1", task_state::succeeded);
    EXPECT_EQ(fired, 1);
    EXPECT_FALSE(h->pending());
    EXPECT_EQ(s.watcher_count(), 0u);
    set_state(s, "lb", "1", task_state::failed);  // refused; nothing fires again
    EXPECT_EQ(fired, 1);
}

TEST_F(WatchFixture, fires_immediately_when_already_terminal) {
    submit(s, "lb", "A", {"1"});
    s.cancel_task({"lb", "1"});
    int fired = 0;
    auto h = s.watch_task_terminal({"lb", "1"}, [&] { ++fired; });
    ASSERT_TRUE(h);
    EXPECT_EQ(fired, 1);
    EXPECT_FALSE(h->pending());
}

TEST_F(WatchFixture, unknown_objects_are_not_found) {
    auto t = s.watch_task_terminal({"lb", "nope"}, [] {});
    ASSERT_FALSE(t);
    EXPECT_EQ(t.error().kind, core::error_kind::not_found);
    EXPECT_FALSE(s.watch_batch_terminal("b-000000000000", [] {}));
}

TEST_F(WatchFixture, handle_destruction_unregisters) {
    submit(s, "lb", "A", {"1"});
    int fired = 0;
    {
        auto h = s.watch_task_terminal({"lb", "1"}, [&] { ++fired; });
        EXPECT_EQ(s.watcher_count(), 1u);
    }
    EXPECT_EQ(s.watcher_count(), 0u);
    auto h2 = s.watch_task_terminal({"lb", "1"}, [&] { ++fired; });
    h2->cancel();
    EXPECT_EQ(s.watcher_count(), 0u);
    set_state(s, "lb", "1", task_state::succeeded);
    EXPECT_EQ(fired, 0);
}

TEST_F(WatchFixture, moved_handle_keeps_one_registration) {
    submit(s, "lb", "A", {"1"});
    int fired = 0;
    watch_handle outer;
    {
        auto h = s.watch_task_terminal({"lb", "1"}, [&] { ++fired; });
        outer = std::move(*h);
    }
    EXPECT_EQ(s.watcher_count(), 1u);
    set_state(s, "lb", "1", task_state::succeeded);
    EXPECT_EQ(fired, 1);
}

TEST_F(WatchFixture, batch_watch_fires_when_last_task_finishes) {
    auto id = submit(s, "lb", "A", {"1", "2"});
    int fired = 0;
    core::batch_state seen{};
    auto h = s.watch_batch_terminal(id, [&] {
        ++fired;
        seen = s.get_batch(id)->state;  // callbacks may read the store
    });
    set_state(s, "lb", "1", task_state::succeeded);
    EXPECT_EQ(fired, 0);
    set_state(s, "lb", "2", task_state::not_found);
    EXPECT_EQ(fired, 1);
    EXPECT_EQ(seen, core::batch_state::done);
}

TEST_F(WatchFixture, batch_watch_on_unknown_outcome) {
    auto b = s.create_batch({"lb", "A", "", {}, ""});
    int fired = 0;
    auto h = s.watch_batch_terminal(b->id, [&] { ++fired; });
    s.mark_batch_unknown(b->id, "lost");
    EXPECT_EQ(fired, 1);
}

TEST_F(WatchFixture, changes_after_seq) {
    int fired = 0;
    auto now = s.watch_changes(s.seq(), [&] { ++fired; });
    EXPECT_EQ(fired, 0);
    auto future = s.watch_changes(s.seq() + 2, [&] { fired += 10; });
    s.adopt_task({"lb", "1", "A", {}, {}, {}});
    EXPECT_EQ(fired, 1);
    s.adopt_task({"lb", "2", "A", {}, {}, {}});
    EXPECT_EQ(fired, 1);  // seq == after_seq: not yet past it
    s.adopt_task({"lb", "3", "A", {}, {}, {}});
    EXPECT_EQ(fired, 11);
    auto past = s.watch_changes(0, [&] { fired += 100; });
    EXPECT_EQ(fired, 111);
    EXPECT_EQ(s.watcher_count(), 0u);
}

TEST_F(WatchFixture, callback_may_register_again_and_mutate) {
    submit(s, "lb", "A", {"1", "2"});
    std::vector<std::uint64_t> seen;
    watch_handle h;
    std::function<void()> again = [&] {
        seen.push_back(s.seq());
        h = s.watch_changes(s.seq(), again);
    };
    h = s.watch_changes(s.seq(), again);
    int terminal = 0;
    auto t = s.watch_task_terminal({"lb", "1"}, [&] {
        ++terminal;
        s.cancel_task({"lb", "2"});  // a mutation from inside a callback
    });
    set_state(s, "lb", "1", task_state::succeeded);
    EXPECT_EQ(terminal, 1);
    EXPECT_EQ(s.get_task({"lb", "2"})->state, task_state::cancelled);
    // One notification covers the nested changes too: it ran after them and saw the latest seq.
    ASSERT_EQ(seen.size(), 1u);
    EXPECT_EQ(seen[0], s.seq());
    s.adopt_task({"lb", "3", "A", {}, {}, {}});  // the re-registered watcher sees the next one
    ASSERT_EQ(seen.size(), 2u);
    EXPECT_EQ(seen[1], s.seq());
}

TEST(WatchLifetime, handle_outliving_store_is_safe) {
    core::manual_clock clock;
    watch_handle h;
    {
        store s{clock, seeded_options()};
        submit(s, "lb", "A", {"1"});
        h = *s.watch_task_terminal({"lb", "1"}, [] {});
        EXPECT_TRUE(h.pending());
    }
    EXPECT_FALSE(h.pending());
    h.cancel();  // no store: a no-op, not a crash
}

}  // namespace
