// Durability modes: strict syncs each acknowledged mutation, relaxed groups everything; I/O
// failures are sticky and stop new submissions.
#include <gtest/gtest.h>

#include <cerrno>

#include "journal_helpers.hpp"

namespace core = taskpoller::core;
using namespace taskpoller::store;
using namespace taskpoller::store::test;

namespace {

TEST(JournalSync, strict_syncs_each_acknowledged_mutation_once_before_it_returns) {
    temp_dir dir;
    core::manual_clock clock;
    int syncs = 0;
    int dirty_calls = 0;
    store s{clock, seeded_options()};
    auto o = counting_options(syncs, durability::strict);
    o.on_dirty = [&dirty_calls] { ++dirty_calls; };
    auto j = journal::open(dir.file("j"), o);
    ASSERT_TRUE(j);
    ASSERT_TRUE((*j)->replay(s));
    EXPECT_EQ(syncs, 0);
    auto b = s.create_batch({"lb", "A", "", {}, ""});
    EXPECT_EQ(syncs, 1);  // the intent is durable before create_batch returns
    EXPECT_FALSE((*j)->sync_due());
    batch_outcome out;
    out.entries = {accepted("r1", "1"), accepted("r2", "2")};
    s.record_batch_outcome(b->id, out);
    EXPECT_EQ(syncs, 2);  // the batch and both tasks: one commit, one sync
    EXPECT_EQ((*j)->counters().records, 4u);
    EXPECT_FALSE((*j)->sync_due());
    // A poll result is written at once but left to the daemon's flush timer.
    task_update u;
    u.state = core::task_state::running;
    ASSERT_TRUE(s.update_task({"lb", "1"}, u));
    EXPECT_EQ(syncs, 2);
    EXPECT_TRUE((*j)->sync_due());
    EXPECT_EQ((*j)->counters().records, 5u);
    EXPECT_TRUE((*j)->flush());
    EXPECT_EQ(syncs, 3);
    EXPECT_TRUE((*j)->flush());
    EXPECT_EQ(syncs, 3);  // nothing pending: no sync
    // on_dirty fired once per clean-to-dirty transition (each commit's writes, the poll).
    EXPECT_EQ(dirty_calls, 3);
    ASSERT_TRUE(s.cancel_task({"lb", "2"}));
    EXPECT_EQ(syncs, 4);
}

TEST(JournalSync, a_sync_group_makes_one_strict_sync_for_several_mutations) {
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
            s.adopt_task({"lb", "x", "A", {}, {}, {}});
        }
        EXPECT_EQ(syncs, 1);  // nested guard gone, outer still open
        EXPECT_TRUE((*j)->sync_due());
    }
    EXPECT_EQ(syncs, 2);
    EXPECT_FALSE((*j)->sync_due());
    s.adopt_task({"lb", "y", "A", {}, {}, {}});
    EXPECT_EQ(syncs, 3);  // back to one per mutation
}

TEST(JournalSync, a_failed_journal_refuses_new_submissions_and_adoptions) {
    temp_dir dir;
    core::manual_clock clock;
    journal_options o;
    o.sync = [](int) {
        errno = ENOSPC;
        return -1;
    };
    store s{clock, seeded_options()};
    auto j = journal::open(dir.file("j"), o);
    ASSERT_TRUE((*j)->replay(s));
    EXPECT_TRUE(s.durability());
    auto b = s.create_batch({"lb", "A", "", {}, ""});
    ASSERT_TRUE(b);  // created, but its commit failed
    auto d = s.durability();
    ASSERT_FALSE(d);
    EXPECT_EQ(d.error().kind, core::error_kind::unavailable);
    auto again = s.create_batch({"lb", "A", "", {}, ""});
    ASSERT_FALSE(again);
    EXPECT_EQ(again.error().kind, core::error_kind::unavailable);
    EXPECT_NE(again.error().message.find("not being recorded durably"), std::string::npos);
    auto adopted = s.adopt_task({"lb", "z", "A", {}, {}, {}});
    ASSERT_FALSE(adopted);
    EXPECT_EQ(adopted.error().kind, core::error_kind::unavailable);
    // What is already tracked still finishes (in memory): the outcome of a batch in flight.
    batch_outcome out;
    out.entries = {accepted("r1", "1")};
    EXPECT_TRUE(s.record_batch_outcome(b->id, out));
}

TEST(JournalSync, relaxed_groups_syncs_until_flush) {
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
    // Written (not just buffered): a copy taken now holds every record before any sync (a copy:
    // the journal's lock keeps a second journal off the same path).
    write_bytes(dir.file("copy"), read_bytes(dir.file("j")));
    store peek{clock, seeded_options()};
    auto pj = journal::open(dir.file("copy"), counting_options(syncs, durability::relaxed));
    ASSERT_TRUE((*pj)->replay(peek));
    EXPECT_EQ(peek.task_count(), 50u);
    EXPECT_TRUE((*j)->flush());
    EXPECT_EQ(syncs, 1);
    EXPECT_FALSE((*j)->sync_due());
    EXPECT_TRUE((*j)->flush());
    EXPECT_EQ(syncs, 1);
}

TEST(JournalSync, a_failed_sync_is_sticky_and_reported) {
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

TEST(JournalSync, the_real_fdatasync_works) {
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
