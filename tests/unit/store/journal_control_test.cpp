// The control file and the torn-tail rule (issue 16): a damaged log tail is accepted only when
// it can be nothing but the unacknowledged writes of a crash.
#include "store/journal_control.hpp"

#include <gtest/gtest.h>

#include "journal_helpers.hpp"

using namespace taskpoller::store;

namespace {

const std::string log_path = "/var/lib/tp/journal";

bool refused_naming(const taskpoller::core::result<void>& r, std::string_view what) {
    if (r) return false;
    const auto& m = r.error().message;
    return m.find(log_path) != std::string::npos && m.find("--recover") != std::string::npos &&
           m.find(what) != std::string::npos;
}

TEST(JournalControl, round_trips_and_refuses_damage) {
    journal_control c{675964, 42, 128u << 10};
    auto bytes = encode_control(c);
    EXPECT_EQ(bytes.size(), 40u);
    auto back = decode_control(bytes, "P.control");
    ASSERT_TRUE(back);
    EXPECT_EQ(*back, c);
    bytes[10] ^= 1;
    auto bad = decode_control(bytes, "P.control");
    ASSERT_FALSE(bad);
    EXPECT_NE(bad.error().message.find("P.control"), std::string::npos);
    EXPECT_FALSE(decode_control(bytes.substr(0, 20), "P.control"));
}

TEST(JournalControl, group_bound_is_a_power_of_two_of_at_least_64_KiB) {
    EXPECT_EQ(group_bound(0), 64u << 10);
    EXPECT_EQ(group_bound(64u << 10), 64u << 10);
    EXPECT_EQ(group_bound((64u << 10) + 1), 128u << 10);
    EXPECT_EQ(group_bound(3u << 20), 4u << 20);
}

TEST(JournalControl, a_torn_tail_after_the_durable_part_is_accepted) {
    journal_control c{1000, 0, 64u << 10};
    EXPECT_TRUE(check_log({c, std::nullopt, 1200, 1100}, log_path));
    EXPECT_TRUE(check_log({c, std::nullopt, 1000, 1000}, log_path));
    EXPECT_TRUE(check_log({c, std::nullopt, 1000 + (64u << 10), 1000}, log_path));
}

TEST(JournalControl, a_log_shorter_than_its_durable_length_is_refused) {
    journal_control c{675964, 0, 64u << 10};
    auto r = check_log({c, std::nullopt, 334799, 334799}, log_path);
    EXPECT_TRUE(refused_naming(r, "334799")) << r.error().message;
    EXPECT_NE(r.error().message.find("675964"), std::string::npos);
    EXPECT_TRUE(refused_naming(check_log({c, std::nullopt, 0, 0}, log_path), "truncated"));
}

TEST(JournalControl, damage_inside_the_durable_part_or_longer_than_a_group_is_refused) {
    journal_control c{600000, 0, 64u << 10};
    // The last 64 KiB zeroed: the good records end before the durable length.
    EXPECT_TRUE(refused_naming(check_log({c, std::nullopt, 675964, 610000}, log_path), "610000"));
    EXPECT_TRUE(refused_naming(check_log({c, std::nullopt, 675964, 500000}, log_path), "500000"));
    // A control file written long ago: the tail is still bounded by one group.
    journal_control old{8, 0, 64u << 10};
    EXPECT_TRUE(
        refused_naming(check_log({old, std::nullopt, 1u << 21, (1u << 21) - (1u << 20)}, log_path),
                       "more than a crash can tear"));
}

TEST(JournalControl, the_snapshot_must_be_the_recorded_one_or_newer) {
    journal_control c{8, 50, 64u << 10};
    EXPECT_TRUE(refused_naming(check_log({c, std::nullopt, 8, 8}, log_path), "missing"));
    EXPECT_TRUE(refused_naming(check_log({c, 49, 8, 8}, log_path), "older"));
    EXPECT_TRUE(check_log({c, 50, 8, 8}, log_path));
    EXPECT_TRUE(check_log({c, 60, 8, 8}, log_path));  // a compaction not yet recorded
}

TEST(JournalControl, without_a_control_file_only_an_emptied_log_beside_a_snapshot_is_refused) {
    EXPECT_TRUE(check_log({std::nullopt, std::nullopt, 0, 0}, log_path));
    EXPECT_TRUE(check_log({std::nullopt, std::nullopt, 5000, 4000}, log_path));
    EXPECT_TRUE(refused_naming(check_log({std::nullopt, 7, 5, 5}, log_path), "emptied"));
}

}  // namespace
