// The shared duration grammar (core/duration.hpp).
#include "core/duration.hpp"

#include <gtest/gtest.h>

namespace taskpoller::core {
namespace {

using namespace std::chrono_literals;
using problem = duration_problem;

std::chrono::milliseconds ok(std::string_view text) {
    auto p = parse_duration(text);
    EXPECT_TRUE(p.ok()) << text << ": " << describe(p.problem);
    EXPECT_FALSE(p.saturated) << text;
    return p.value;
}

TEST(Duration, EveryUnitAndCombinationsLargestFirst) {
    EXPECT_EQ(ok("0"), 0ms);
    EXPECT_EQ(ok("0s"), 0ms);
    EXPECT_EQ(ok("500ms"), 500ms);
    EXPECT_EQ(ok("2s"), 2s);
    EXPECT_EQ(ok("5m"), 5min);
    EXPECT_EQ(ok("1h"), 1h);
    EXPECT_EQ(ok("7d"), 168h);
    EXPECT_EQ(ok("1h30m"), 90min);
    EXPECT_EQ(ok("2s500ms"), 2500ms);
    EXPECT_EQ(ok("90s"), 90s);  // one unit may exceed the next one up
    EXPECT_EQ(ok("1d2h3m4s5ms"), 24h + 2h + 3min + 4s + 5ms);
    EXPECT_EQ(ok("9223372036854775807ms"), std::chrono::milliseconds::max());
}

TEST(Duration, NamesWhatIsWrong) {
    const std::pair<const char*, problem> cases[] = {
        {"", problem::empty},
        {"-5s", problem::sign},
        {"+5s", problem::sign},
        {"1.5s", problem::fraction},
        {"1,5s", problem::fraction},
        {"s", problem::not_a_number},
        {"ms5", problem::not_a_number},
        {"5", problem::missing_unit},
        {"5 s", problem::missing_unit},
        {"1m30", problem::missing_unit},
        {"5sec", problem::unknown_unit},
        {"5S", problem::unknown_unit},
        {"30s1m", problem::out_of_order},
        {"1s1s", problem::out_of_order},
        {"1s\n", problem::not_a_number},
    };
    for (const auto& [text, expected] : cases) {
        auto p = parse_duration(text);
        EXPECT_EQ(p.problem, expected) << text;
        EXPECT_FALSE(p.ok()) << text;
    }
    EXPECT_EQ(parse_duration("5sec").unit, "sec");
}

TEST(Duration, HugeValuesSaturateInsteadOfOverflowing) {
    for (const char* huge :
         {"9223372036854775808ms", "99999999999999999999h", "9223372036854775807h", "106751991168d",
          "106751991167d23h", "999999999999999999999999999999d1s"}) {
        auto p = parse_duration(huge);
        EXPECT_TRUE(p.ok()) << huge;
        EXPECT_TRUE(p.saturated) << huge;
        EXPECT_EQ(p.value, std::chrono::milliseconds::max()) << huge;
    }
    auto big = parse_duration("999999h");  // large, but representable
    EXPECT_TRUE(big.ok());
    EXPECT_FALSE(big.saturated);
    EXPECT_EQ(big.value, 999999h);
    // A saturated part does not hide a grammar error later on.
    EXPECT_EQ(parse_duration("99999999999999999999h5x").problem, problem::unknown_unit);
}

}  // namespace
}  // namespace taskpoller::core
