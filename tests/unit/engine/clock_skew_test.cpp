// The daemon's reading of the cloud's clock from a Date header (engine/clock_skew.hpp).
#include "engine/clock_skew.hpp"

#include <gtest/gtest.h>

#include "engine/cloud_check.hpp"

namespace taskpoller::engine {
namespace {

using namespace std::chrono_literals;

// 2026-12-07T00:08:16Z
const core::sys_time at_date{std::chrono::seconds(1796602096)};
constexpr const char* date = "Mon, 07 Dec 2026 00:08:16 GMT";

TEST(ClockSkew, ReadsTheSkewAtTheMiddleOfTheCallAndOfTheDateSecond) {
    // Sent at Date + 0.2 s, answered 200 ms later: the middle is Date + 0.3 s; the cloud's time
    // is taken as Date + 0.5 s (the middle of its second): the cloud is 0.2 s ahead.
    auto r = read_clock(date, at_date + 200ms, at_date + 400ms);
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->skew, 200ms);
    EXPECT_EQ(r->rtt, 200ms);
    EXPECT_EQ(r->measured_at, at_date + 300ms);
    EXPECT_EQ(r->uncertainty(), 600ms);  // half the round trip + half of Date's resolution

    // This machine 10 min ahead of the cloud.
    r = read_clock(date, at_date + 600s, at_date + 600s + 1s);
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->skew, -600s);
    EXPECT_EQ(r->uncertainty(), 1000ms);
}

TEST(ClockSkew, NoReadingFromJunkOrAClockSteppedBackDuringTheCall) {
    EXPECT_FALSE(read_clock("", at_date, at_date));
    EXPECT_FALSE(read_clock("not a date", at_date, at_date + 1s));
    EXPECT_FALSE(read_clock("Mon, 07 Dec 2026 00:08:16", at_date, at_date + 1s));
    EXPECT_FALSE(read_clock(date, at_date + 1s, at_date));
}

TEST(ClockSkew, LevelsJudgeTheSmallestSkewTheReadingAllows) {
    EXPECT_EQ(judge_skew(300ms, 600ms), skew_level::ok);
    EXPECT_EQ(judge_skew(60'400ms, 500ms), skew_level::ok);  // could be 59.9 s: not a warning
    EXPECT_EQ(judge_skew(61s, 500ms), skew_level::warn);
    EXPECT_EQ(judge_skew(-61s, 500ms), skew_level::warn);
    EXPECT_EQ(judge_skew(300'400ms, 500ms), skew_level::warn);
    EXPECT_EQ(judge_skew(-600s, 1s), skew_level::fail);
    EXPECT_EQ(judge_skew(301s, 500ms), skew_level::fail);
    EXPECT_EQ(to_string(skew_level::fail), "fail");
}

TEST(ClockSkew, DescribesWhichClockIsBehind) {
    EXPECT_EQ(describe_skew(300ms), "0.3 s behind the cloud");
    EXPECT_EQ(describe_skew(-600s), "600.0 s ahead of the cloud");
    EXPECT_EQ(describe_skew(-20ms), "in step with the cloud");
    // Within the reading's uncertainty (a Date header's 1 s resolution): no difference shown.
    EXPECT_EQ(describe_skew(400ms, 500ms), "in step with the cloud");
    EXPECT_EQ(describe_skew(-500ms, 500ms), "in step with the cloud");
    EXPECT_EQ(describe_skew(1200ms, 500ms), "1.2 s behind the cloud");
    clock_reading r{"cvm", -1500ms, 200ms, at_date};
    EXPECT_EQ(describe_reading(r), "1.5 s ahead of the cloud (±0.6 s)");
}

TEST(ClockSkew, AnExpiredSignatureNamesTheMeasuredSkew) {
    call_failure expired{call_failure::kind::api, failure_class::resign, "4500",
                         "code 4500: Timestamp is outside the allowed window"};
    clock_reading r{"cvm", -600s, 10ms, at_date};
    auto c = judge_probe("cvm", "DescribeInstances", expired, r);
    EXPECT_EQ(c.result, cloud_check::verdict::refused);
    EXPECT_NE(c.message.find("(this machine's clock is 600.0 s ahead of the cloud (±0.5 s))"),
              std::string::npos)
        << c.message;
    ASSERT_TRUE(c.clock.has_value());
    EXPECT_EQ(c.clock->skew, -600s);
    c = judge_probe("cvm", "DescribeInstances", expired);
    EXPECT_NE(c.message.find("(is this machine's clock right?)"), std::string::npos) << c.message;
    EXPECT_FALSE(c.clock.has_value());
}

}  // namespace
}  // namespace taskpoller::engine
