#include "config/units.hpp"

#include <gtest/gtest.h>

namespace taskpoller::config {
namespace {

using namespace std::chrono_literals;

TEST(ParseDuration, accepts_every_unit) {
    EXPECT_EQ(parse_duration("500ms").value(), 500ms);
    EXPECT_EQ(parse_duration("2s").value(), 2s);
    EXPECT_EQ(parse_duration("5m").value(), 5min);
    EXPECT_EQ(parse_duration("1h").value(), 1h);
    EXPECT_EQ(parse_duration("7d").value(), 168h);
    EXPECT_EQ(parse_duration("0").value(), 0ms);
    EXPECT_EQ(parse_duration("0s").value(), 0ms);
}

TEST(ParseDuration, accepts_combinations_largest_first) {
    EXPECT_EQ(parse_duration("1m30s").value(), 90s);
    EXPECT_EQ(parse_duration("1h30m").value(), 90min);
    EXPECT_EQ(parse_duration("2s500ms").value(), 2500ms);
    EXPECT_EQ(parse_duration("1d2h3m4s5ms").value(), 24h + 2h + 3min + 4s + 5ms);
}

TEST(ParseDuration, rejects_bad_input_with_a_clear_message) {
    struct bad {
        const char* text;
        const char* fragment;
    };
    for (auto [text, fragment] : {
             bad{"", "empty duration"},
             bad{"-5s", "negative duration \"-5s\" is not allowed"},
             bad{"+5s", "must not have a sign"},
             bad{"1.5s", "has a fraction"},
             bad{"5", "missing a unit"},
             bad{"5 s", "missing a unit"},
             bad{"5sec", "unknown unit \"sec\""},
             bad{"s", "invalid duration"},
             bad{"30s1m", "out of order"},
             bad{"1s1s", "repeated or out of order"},
             bad{"1m30", "missing a unit"},
             bad{"99999999999999999999s", "too large"},
             bad{"9223372036854775807h", "too large"},
             bad{"106751991168d", "too large"},
         }) {
        auto r = parse_duration(text);
        ASSERT_FALSE(r) << text;
        EXPECT_NE(r.error().message.find(fragment), std::string::npos)
            << text << " gave: " << r.error().message;
    }
}

TEST(FormatDuration, round_trips) {
    for (duration d : std::initializer_list<duration>{0ms, 1ms, 999ms, 1s, 90s, 2500ms, 1h + 1ms,
                                                      48h, 3650 * 24h}) {
        const auto text = format_duration(d);
        auto back = parse_duration(text);
        ASSERT_TRUE(back) << text;
        EXPECT_EQ(*back, d) << text;
    }
    EXPECT_EQ(format_duration(90s), "1m30s");
    EXPECT_EQ(format_duration(0ms), "0s");
    EXPECT_EQ(format_duration(48h), "48h");
}

TEST(ParseSize, accepts_units) {
    EXPECT_EQ(parse_size("4096").value(), 4096u);
    EXPECT_EQ(parse_size("100B").value(), 100u);
    EXPECT_EQ(parse_size("64KiB").value(), 64u * 1024);
    EXPECT_EQ(parse_size("8MiB").value(), 8u << 20);
    EXPECT_EQ(parse_size("1GiB").value(), 1u << 30);
    EXPECT_EQ(parse_size("2TiB").value(), 2ULL << 40);
    EXPECT_EQ(parse_size("5MB").value(), 5'000'000u);
}

TEST(ParseSize, rejects_bad_input) {
    for (const char* text :
         {"", "-1", "1.5MiB", "8mb", "MiB", "99999999999999999999", "17179869184GiB", "8 MiB"}) {
        EXPECT_FALSE(parse_size(text)) << text;
    }
    EXPECT_NE(parse_size("17179869184GiB").error().message.find("too large"), std::string::npos);
}

TEST(FormatSize, uses_the_largest_exact_binary_unit) {
    EXPECT_EQ(format_size(8u << 20), "8MiB");
    EXPECT_EQ(format_size(1536), "1536B");
    EXPECT_EQ(format_size(2048), "2KiB");
    EXPECT_EQ(format_size(0), "0B");
    for (std::uint64_t v : {0ULL, 1ULL, 1024ULL, 1ULL << 40, 3ULL << 30, 12345ULL}) {
        EXPECT_EQ(parse_size(format_size(v)).value(), v);
    }
}

TEST(ParseFileMode, reads_octal) {
    EXPECT_EQ(parse_file_mode("0660").value(), 0660u);
    EXPECT_EQ(parse_file_mode("660").value(), 0660u);
    EXPECT_EQ(parse_file_mode("0").value(), 0u);
    EXPECT_EQ(parse_file_mode("0777").value(), 0777u);
    EXPECT_EQ(format_file_mode(0660), "0660");
    EXPECT_EQ(format_file_mode(0), "0000");
}

TEST(ParseFileMode, rejects_out_of_range_and_garbage) {
    EXPECT_NE(parse_file_mode("1777").error().message.find("at most 0777"), std::string::npos);
    EXPECT_NE(parse_file_mode("4755").error().message.find("at most 0777"), std::string::npos);
    for (const char* text : {"", "0888", "rw-rw----", "06600", "0x1ff", "-660"}) {
        EXPECT_FALSE(parse_file_mode(text)) << text;
    }
}

}  // namespace
}  // namespace taskpoller::config
