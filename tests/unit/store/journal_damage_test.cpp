// A journal cut or zeroed anywhere (issue 16): replay either restores everything that was
// acknowledged or refuses to start, naming the file, the offsets and --recover.
#include <gtest/gtest.h>

#include "journal_helpers.hpp"

namespace core = taskpoller::core;
using namespace taskpoller::store;
using namespace taskpoller::store::test;
using namespace std::chrono_literals;

namespace {

struct JournalDamage : ::testing::Test {
    temp_dir dir;
    std::string path = dir.file("journal");
    core::manual_clock clock;
    int syncs = 0;
    log_capture logs;

    journal_options options(bool recover = false) {
        auto o = counting_options(syncs);
        o.recover = recover;
        o.log = logs.logger();
        o.compact_at_bytes = 256u << 10;
        return o;
    }
    core::result<replay_stats> replay_into(store& s, bool recover = false) {
        auto j = journal::open(path, options(recover));
        if (!j) return j.error();
        return (*j)->replay(s);
    }
    // `batches` acknowledged submissions of 3 tasks, one compaction on the way (so there is a
    // snapshot), some poll results; the control file checkpointed at the end, as the daemon's
    // timer does. Returns the store as acknowledged.
    std::unique_ptr<store> build(int batches, bool checkpoint = true) {
        auto s = std::make_unique<store>(clock, seeded_options());
        auto j = journal::open(path, options());
        EXPECT_TRUE(j && (*j)->replay(*s));
        for (int i = 0; i < batches; ++i) {
            auto n = std::to_string(i);
            submit(*s, "lb", "DeleteLoadBalancers", {n + "a", n + "b", n + "c"}, {{"n", n}});
            if (i % 3 == 0) set_state(*s, "lb", n + "a", core::task_state::running);
            if (i == batches / 4) {
                EXPECT_TRUE((*j)->compact());
            }
        }
        EXPECT_TRUE((*j)->flush());
        if (checkpoint) {
            EXPECT_TRUE((*j)->checkpoint());
        }
        return s;  // the journal closes here: as if killed (its destructor writes nothing)
    }
    void expect_restored_or_refused(const store& acked, const std::string& what, int& refused) {
        store s{clock, seeded_options()};
        auto r = replay_into(s);
        if (!r) {
            const auto& m = r.error().message;
            EXPECT_NE(m.find(path), std::string::npos) << what << ": " << m;
            EXPECT_NE(m.find("--recover"), std::string::npos) << what << ": " << m;
            ++refused;
            return;
        }
        SCOPED_TRACE(what);
        expect_same_store(acked, s);
    }
};

TEST_F(JournalDamage, every_cut_or_zeroed_tail_restores_everything_acknowledged_or_refuses) {
    auto acked = build(2500);
    const auto log = read_bytes(path);
    const auto control = read_bytes(path + ".control");
    ASSERT_GT(log.size(), (1u << 20) + 4096) << "the log must be longer than the largest damage";
    int refused = 0, cases = 0;
    for (int i = 0; i < 20; ++i) {
        std::size_t cut = 1 + (log.size() - 1) * static_cast<std::size_t>(i) / 20;
        write_bytes(path, log.substr(0, cut));
        write_bytes(path + ".control", control);
        expect_restored_or_refused(*acked, "cut at " + std::to_string(cut), refused);
        ++cases;
    }
    for (std::size_t tail : {4u << 10, 16u << 10, 64u << 10, 256u << 10, 1u << 20}) {
        auto zeroed = log;
        std::fill(zeroed.end() - static_cast<std::ptrdiff_t>(tail), zeroed.end(), '\0');
        write_bytes(path, zeroed);
        write_bytes(path + ".control", control);
        expect_restored_or_refused(*acked, "last " + std::to_string(tail) + " bytes zeroed",
                                   refused);
        ++cases;
    }
    EXPECT_EQ(refused, cases);  // every one of them lost acknowledged records
    write_bytes(path, log);
    write_bytes(path + ".control", control);
    int none = 0;
    expect_restored_or_refused(*acked, "undamaged", none);
    EXPECT_EQ(none, 0);
}

TEST_F(JournalDamage, a_torn_last_record_is_still_a_torn_tail) {
    auto acked = build(20);
    auto log = read_bytes(path);
    write_bytes(path, log + std::string("\x30\x00\x00\x00\x12\x34", 6));  // an append cut short
    store s{clock, seeded_options()};
    auto r = replay_into(s);
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->truncated_bytes, 6u);
    EXPECT_TRUE(logs.has(core::log_level::warn, "torn or corrupt tail"));
    expect_same_store(*acked, s);
}

TEST_F(JournalDamage, a_stale_control_file_still_bounds_the_torn_tail) {
    auto acked = build(2500, false);  // the control file is the one written at open
    auto log = read_bytes(path);
    std::fill(log.end() - (1 << 20), log.end(), '\0');
    write_bytes(path, log);
    store s{clock, seeded_options()};
    auto r = replay_into(s);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find("more than a crash can tear"), std::string::npos)
        << r.error().message;
}

TEST_F(JournalDamage, an_emptied_log_refuses_and_recover_starts_from_the_snapshot) {
    auto acked = build(200);
    for (std::size_t size : {0u, 5u}) {
        write_bytes(path, std::string("TPJL\x01", size));
        auto j = journal::open(path, options());
        ASSERT_FALSE(j) << size;
        EXPECT_NE(j.error().message.find(path + ": the log is " + std::to_string(size)),
                  std::string::npos)
            << j.error().message;
        EXPECT_NE(j.error().message.find("--recover"), std::string::npos);
    }
    store s{clock, seeded_options()};
    auto r = replay_into(s, true);
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_TRUE(logs.has(core::log_level::error, "RECOVER"));
    EXPECT_GT(s.batch_count(), 0u);  // what the snapshot held
    store again{clock, seeded_options()};
    EXPECT_TRUE(replay_into(again));  // recovered: the next start needs no flag
}

TEST_F(JournalDamage, an_older_journal_without_a_control_file_starts_and_gets_one) {
    auto acked = build(30);
    std::filesystem::remove(path + ".control");
    store s{clock, seeded_options()};
    auto r = replay_into(s);
    ASSERT_TRUE(r) << r.error().message;
    expect_same_store(*acked, s);
    EXPECT_TRUE(logs.has(core::log_level::info, "no control file yet"));
    EXPECT_TRUE(std::filesystem::exists(path + ".control"));
    // From now on a cut is caught.
    auto log = read_bytes(path);
    write_bytes(path, log.substr(0, log.size() - 100));
    store cut{clock, seeded_options()};
    EXPECT_FALSE(replay_into(cut));
}

}  // namespace
