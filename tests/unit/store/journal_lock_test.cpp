// One daemon per journal (issue 16): a second journal on the same path refuses to open.
#include "store/journal_lock.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include "journal_helpers.hpp"

namespace core = taskpoller::core;
using namespace taskpoller::store;
using namespace taskpoller::store::test;

namespace {

TEST(JournalLock, a_second_journal_on_the_same_path_refuses_to_open_naming_the_lock_and_pid) {
    temp_dir dir;
    core::manual_clock clock;
    auto first = journal::open(dir.file("journal"), {});
    ASSERT_TRUE(first);
    store s{clock, seeded_options()};
    ASSERT_TRUE((*first)->replay(s));
    auto second = journal::open(dir.file("journal"), {});
    ASSERT_FALSE(second);
    const auto& m = second.error().message;
    EXPECT_NE(m.find(dir.file("journal.lock")), std::string::npos) << m;
    EXPECT_NE(m.find("pid " + std::to_string(::getpid())), std::string::npos) << m;
    EXPECT_NE(m.find("refusing to start"), std::string::npos) << m;
    // Another journal in the same directory is another lock.
    EXPECT_TRUE(journal::open(dir.file("other"), {}));
    first->reset();  // released with the journal
    EXPECT_TRUE(journal::open(dir.file("journal"), {}));
}

TEST(JournalLock, a_lock_file_left_behind_does_not_block) {
    temp_dir dir;
    write_bytes(dir.file("j.lock"), "999999\n");
    auto lock = journal_lock::acquire(dir.file("j.lock"));
    ASSERT_TRUE(lock) << lock.error().message;
    EXPECT_TRUE(lock->held());
    EXPECT_EQ(read_bytes(dir.file("j.lock")), std::to_string(::getpid()) + "\n");
}

}  // namespace
