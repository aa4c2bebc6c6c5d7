// Durability modes: strict syncs every change, relaxed groups them; I/O failures are sticky.
#include <gtest/gtest.h>

#include <cerrno>

#include "journal_helpers.hpp"

namespace core = taskpoller::core;
using namespace taskpoller::store;
using namespace taskpoller::store::test;

namespace {

TEST(journal_sync, strict_syncs_once_per_change_before_the_mutation_returns) {
    temp_dir dir;
    core::manual_clock clock;
    int syncs = 0;
    store s{clock, seeded_options()};
    auto j = journal::open(dir.file("j"), counting_options(syncs, durability::strict));
    ASSERT_TRUE(j);
    ASSERT_TRUE((*j)->replay(s));
    EXPECT_EQ(syncs, 0);
    auto b = s.create_batch({"lb", "A", "", {}, ""});
    EXPECT_EQ(syncs, 1);  // the intent is durable before create_batch returns
    batch_outcome o;
    o.entries = {accepted("r1", "1"), accepted("r2", "2")};
    s.record_batch_outcome(b->id, o);
    EXPECT_EQ(syncs, 4);  // batch + two tasks
    EXPECT_EQ(static_cast<std::uint64_t>(syncs), s.seq());
    EXPECT_FALSE((*j)->sync_due());
    EXPECT_TRUE((*j)->flush());
    EXPECT_EQ(syncs, 4);
}

TEST(journal_sync, a_sync_group_makes_one_strict_sync_for_a_whole_outcome) {
    temp_dir dir;
    core::manual_clock clock;
    int syncs = 0;
    store s{clock, seeded_options()};
    auto j = journal::open(dir.file("j"), counting_options(syncs, durability::strict));
    ASSERT_TRUE((*j)->replay(s));
    auto b = s.create_batch({"lb", "A", "", {}, ""});
    EXPECT_EQ(syncs, 1);  // the intent alone, before sending
    batch_outcome o;
    for (int i = 0; i < 10; ++i)
        o.entries.push_back(accepted("r" + std::to_string(i), std::to_string(i)));
    {
        auto g = (*j)->group_syncs();
        {
            auto inner = (*j)->group_syncs();
            s.record_batch_outcome(b->id, o);
        }
        EXPECT_EQ(syncs, 1);  // nested guard gone, outer still open
        EXPECT_TRUE((*j)->sync_due());
    }
    EXPECT_EQ(syncs, 2);
    EXPECT_FALSE((*j)->sync_due());
    s.adopt_task({"lb", "x", "A", {}, {}, {}});
    EXPECT_EQ(syncs, 3);  // back to one per change
}

TEST(journal_sync, relaxed_groups_syncs_until_flush) {
    temp_dir dir;
    core::manual_clock clock;
    int syncs = 0;
    store s{clock, seeded_options()};
    auto j = journal::open(dir.file("j"), counting_options(syncs, durability::relaxed));
    ASSERT_TRUE((*j)->replay(s));
    for (int i = 0; i < 50; ++i) submit(s, "lb", "A", {std::to_string(i)});
    EXPECT_EQ(syncs, 0);
    EXPECT_TRUE((*j)->sync_due());
    EXPECT_EQ((*j)->counters().records, 150u);
    // Written (not just buffered): another reader sees every record before any sync.
    store peek{clock, seeded_options()};
    auto pj = journal::open(dir.file("j"), counting_options(syncs, durability::relaxed));
    ASSERT_TRUE((*pj)->replay(peek));
    EXPECT_EQ(peek.task_count(), 50u);
    EXPECT_TRUE((*j)->flush());
    EXPECT_EQ(syncs, 1);
    EXPECT_FALSE((*j)->sync_due());
    EXPECT_TRUE((*j)->flush());
    EXPECT_EQ(syncs, 1);
}

TEST(journal_sync, a_failed_sync_is_sticky_and_reported) {
    temp_dir dir;
    core::manual_clock clock;
    log_capture logs;
    int calls = 0;
    journal_options o;
    o.log = logs.logger();
    o.sync = [&calls](int) {
        ++calls;
        errno = EIO;
        return -1;
    };
    store s{clock, seeded_options()};
    auto j = journal::open(dir.file("j"), o);
    ASSERT_TRUE((*j)->replay(s));
    EXPECT_TRUE((*j)->health());
    s.adopt_task({"lb", "1", "A", {}, {}, {}});
    auto h = (*j)->health();
    ASSERT_FALSE(h);
    EXPECT_NE(h.error().message.find("fdatasync"), std::string::npos);
    EXPECT_TRUE(logs.has(core::log_level::error, "no longer durable"));
    auto records = (*j)->counters().records;
    s.adopt_task({"lb", "2", "A", {}, {}, {}});
    EXPECT_EQ((*j)->counters().records, records);  // nothing more is written
    EXPECT_EQ(calls, 1);
    EXPECT_FALSE((*j)->flush());
    EXPECT_FALSE((*j)->compact());
}

TEST(journal_sync, the_real_fdatasync_works) {
    temp_dir dir;
    core::manual_clock clock;
    store s{clock, seeded_options()};
    auto j = journal::open(dir.file("j"), {});
    ASSERT_TRUE(j);
    ASSERT_TRUE((*j)->replay(s));
    s.adopt_task({"lb", "1", "A", {}, {}, {}});
    EXPECT_TRUE((*j)->health());
    EXPECT_EQ((*j)->counters().syncs, 1u);
}

}  // namespace
