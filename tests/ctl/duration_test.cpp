#include "ctl/duration.hpp"

#include <gtest/gtest.h>

namespace taskpoller::ctl {
namespace {
using std::chrono::milliseconds;

TEST(Duration, ParsesEachUnitAndCombinations) {
    EXPECT_EQ(*parse_duration("500ms"), milliseconds{500});
    EXPECT_EQ(*parse_duration("30s"), milliseconds{30'000});
    EXPECT_EQ(*parse_duration("5m"), milliseconds{300'000});
    EXPECT_EQ(*parse_duration("1h"), milliseconds{3'600'000});
    EXPECT_EQ(*parse_duration("1m30s"), milliseconds{90'000});
    EXPECT_EQ(*parse_duration("1h2m3s4ms"), milliseconds{3'723'004});
    EXPECT_EQ(*parse_duration("0"), milliseconds{0});
    EXPECT_EQ(*parse_duration("0s"), milliseconds{0});
    EXPECT_EQ(*parse_duration("1d"), milliseconds{86'400'000});  // the daemon's grammar has days
}

TEST(Duration, RejectsMalformedInputWithAClearMessage) {
    for (const char* bad : {"", "5", "s", "-5s", "5x", "1.5s", "5 s", "ms5", "5sm", "30s1m",
                            "99999999999999999999s", "721h"}) {
        auto r = parse_duration(bad);
        ASSERT_FALSE(r) << bad;
        EXPECT_NE(r.error().message.find("invalid duration"), std::string::npos) << bad;
    }
    EXPECT_NE(parse_duration("5").error().message.find("missing unit"), std::string::npos);
    EXPECT_NE(parse_duration("5x").error().message.find("unknown unit"), std::string::npos);
}

TEST(Duration, AcceptsUpToThirtyDays) {
    EXPECT_TRUE(parse_duration("720h"));
    EXPECT_FALSE(parse_duration("720h1ms"));
}

TEST(Duration, FormatsInTheLargestExactUnit) {
    EXPECT_EQ(format_duration(milliseconds{0}), "0s");
    EXPECT_EQ(format_duration(milliseconds{500}), "500ms");
    EXPECT_EQ(format_duration(milliseconds{1500}), "1500ms");
    EXPECT_EQ(format_duration(milliseconds{90'000}), "90s");
    EXPECT_EQ(format_duration(milliseconds{300'000}), "5m");
    EXPECT_EQ(format_duration(milliseconds{7'200'000}), "2h");
    EXPECT_EQ(format_duration(milliseconds{-5}), "0s");
}

TEST(Duration, FormatRoundTripsThroughParse) {
    for (long ms : {0L, 1L, 999L, 1000L, 61'000L, 3'600'000L, 3'601'000L}) {
        EXPECT_EQ(*parse_duration(format_duration(milliseconds{ms})), milliseconds{ms});
    }
}

TEST(Duration, HumanizesForPeople) {
    EXPECT_EQ(humanize_duration(milliseconds{250}), "250ms");
    EXPECT_EQ(humanize_duration(milliseconds{4'200}), "4.2s");
    EXPECT_EQ(humanize_duration(milliseconds{123'000}), "2m3s");
    EXPECT_EQ(humanize_duration(milliseconds{3'900'000}), "1h5m");
    EXPECT_EQ(humanize_duration(milliseconds{90'000'000}), "1d1h");
}

}  // namespace
}  // namespace taskpoller::ctl
