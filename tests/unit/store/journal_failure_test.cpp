// A journal whose write or sync fails (disk full): nothing more is acknowledged, what it owes is
// rewritten when the disk is back, and a restart then finds every recorded outcome (issue 16).
#include <gtest/gtest.h>
#include <unistd.h>

#include <cerrno>

#include "journal_helpers.hpp"

namespace core = taskpoller::core;
using namespace taskpoller::store;
using namespace taskpoller::store::test;

namespace {

// A disk that can be "filled": while full, writes write half of what they are given and then
// fail, and syncs fail, both with ENOSPC.
struct fillable_disk {
    bool full = false;
    int failed_calls = 0;
    bool half_written = false;

    void install(journal_options& o) {
        o.sync = [this](int fd) {
            if (full) {
                ++failed_calls;
                errno = ENOSPC;
                return -1;
            }
            return ::fdatasync(fd);
        };
        o.write = [this](int fd, const void* p, std::size_t n) -> ssize_t {
            if (!full) return ::write(fd, p, n);
            ++failed_calls;
            if (!half_written && n > 1) {
                half_written = true;
                return ::write(fd, p, n / 2);
            }
            errno = ENOSPC;
            return -1;
        };
    }
};

struct JournalFailure : ::testing::Test {
    temp_dir dir;
    std::string path = dir.file("journal");
    core::manual_clock clock;
    log_capture logs;
    fillable_disk disk;
    int failures = 0;

    journal_options options() {
        journal_options o;
        o.log = logs.logger();
        o.on_failed = [this] { ++failures; };
        disk.install(o);
        return o;
    }
    std::unique_ptr<journal> open_into(store& s) {
        auto j = journal::open(path, options());
        EXPECT_TRUE(j) << (j ? "" : j.error().message);
        auto r = (*j)->replay(s);
        EXPECT_TRUE(r) << (r ? "" : r.error().message);
        return std::move(*j);
    }
};

TEST_F(JournalFailure, an_outcome_that_could_not_be_synced_is_rewritten_when_the_disk_is_back) {
    std::string id;
    {
        store s{clock, seeded_options()};
        auto j = open_into(s);
        auto b = s.create_batch({"lb", "A", "", {}, "token-1"});  // the intent: durable
        ASSERT_TRUE(b);
        id = b->id;
        disk.full = true;
        batch_outcome o;
        o.entries = {accepted("lb-1", "r1"), accepted("lb-2", "r2")};
        ASSERT_TRUE(s.record_batch_outcome(id, o));  // applied in memory, not durable
        EXPECT_FALSE(s.durability());
        EXPECT_EQ(failures, 1);
        EXPECT_FALSE(j->retry());  // the disk is still full
        EXPECT_FALSE(s.durability());
        disk.full = false;
        ASSERT_TRUE(j->retry());
        EXPECT_TRUE(s.durability());
        EXPECT_TRUE(logs.has(core::log_level::info, "recovered"));
        EXPECT_EQ(j->pending_changes_count(), 0u);
        EXPECT_TRUE(s.create_batch({"lb", "B", "", {}, ""}));  // accepted again
    }
    store r{clock, seeded_options()};
    auto j = open_into(r);
    auto b = r.get_batch(id);
    ASSERT_TRUE(b);
    EXPECT_EQ(b->state, core::batch_state::submitted);  // not "unknown"
    EXPECT_TRUE(r.get_task({"lb", "r1"}));
    EXPECT_TRUE(r.get_task({"lb", "r2"}));
    EXPECT_TRUE(r.find_batch_by_token("token-1"));
    EXPECT_FALSE(logs.has(core::log_level::warn, "torn"));  // the half record was cut off
}

TEST_F(JournalFailure, changes_made_while_failed_are_all_written_at_recovery) {
    store s{clock, seeded_options()};
    auto j = open_into(s);
    auto live = submit(s, "lb", "A", {"r1", "r2"});
    disk.full = true;
    task_update u;
    u.state = core::task_state::running;
    ASSERT_TRUE(s.update_task({"lb", "r1"}, u));  // a poll result: written, then the sync fails
    EXPECT_TRUE(j->sync_due() || !j->health());
    (void)j->flush();
    EXPECT_FALSE(j->health());
    u.state = core::task_state::succeeded;
    ASSERT_TRUE(s.update_task({"lb", "r1"}, u));  // not written: remembered
    ASSERT_TRUE(s.cancel_task({"lb", "r2"}));
    EXPECT_FALSE(j->retry());
    disk.full = false;
    ASSERT_TRUE(j->retry());
    j.reset();
    store r{clock, seeded_options()};
    auto j2 = journal::open(path, options());
    ASSERT_TRUE(j2);
    ASSERT_TRUE((*j2)->replay(r));
    expect_same_store(s, r);
}

TEST_F(JournalFailure, a_failure_right_after_a_compaction_is_retried_on_the_new_log) {
    store s{clock, seeded_options()};
    auto j = open_into(s);
    submit(s, "lb", "A", {"r1"});
    ASSERT_TRUE(j->compact());
    disk.full = true;
    submit(s, "lb", "B", {"r2"});  // intent fails: the submission is refused by the tracker
    EXPECT_FALSE(j->health());
    disk.full = false;
    ASSERT_TRUE(j->retry());
    j.reset();
    store r{clock, seeded_options()};
    auto j2 = journal::open(path, options());
    ASSERT_TRUE(j2);
    ASSERT_TRUE((*j2)->replay(r));
    EXPECT_TRUE(r.get_task({"lb", "r2"}));
    EXPECT_EQ(r.task_count(), 2u);
}

}  // namespace
