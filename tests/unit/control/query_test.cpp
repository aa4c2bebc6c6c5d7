#include "control/query.hpp"

#include <gtest/gtest.h>

namespace taskpoller::control {
namespace {

using namespace std::chrono_literals;

TEST(Query, ParsesAndDecodes) {
    auto q = parse_query("state=failed&state=timed_out&label=env%3Dprod&x=a+b&&flag");
    ASSERT_TRUE(q) << q.error().message;
    EXPECT_EQ(q->get("label"), "env=prod");
    EXPECT_EQ(q->get("x"), "a b");
    EXPECT_EQ(q->get("flag"), "");
    EXPECT_FALSE(q->get("missing"));
    auto states = q->all("state");
    ASSERT_EQ(states.size(), 2u);
    EXPECT_EQ(states[1], "timed_out");
}

TEST(Query, RejectsBadEscapesAndEmptyNames) {
    for (auto bad : {"a=%", "a=%4", "a=%zz", "=v", "a=%00"}) {
        auto q = parse_query(bad);
        ASSERT_FALSE(q) << bad;
        EXPECT_EQ(q.error().status, 400u);
    }
}

TEST(Query, PercentDecodePlusOnlyInQueries) {
    EXPECT_EQ(*percent_decode("a+b%2b", true), "a b+");
    EXPECT_EQ(*percent_decode("a+b%2B", false), "a+b+");
}

TEST(Query, SplitTarget) {
    auto [p, q] = split_target("/v1/x?a=1?b");
    EXPECT_EQ(p, "/v1/x");
    EXPECT_EQ(q, "a=1?b");
    EXPECT_EQ(split_target("/v1").second, "");
}

TEST(Duration, Accepts) {
    EXPECT_EQ(*parse_duration("0"), 0ms);
    EXPECT_EQ(*parse_duration("500ms"), 500ms);
    EXPECT_EQ(*parse_duration("30s"), 30s);
    EXPECT_EQ(*parse_duration("5m"), 5min);
    EXPECT_EQ(*parse_duration("1h"), 1h);
    EXPECT_EQ(*parse_duration("1m30s"), 90s);
}

TEST(Duration, Rejects) {
    for (auto bad : {"", "30", "s", "-1s", "1.5s", "30x", "30 s", "1sm", "30s1m"}) {
        auto d = parse_duration(bad, "wait");
        ASSERT_FALSE(d) << bad;
        EXPECT_NE(d.error().message.find("wait"), std::string::npos);
        EXPECT_NE(d.error().message.find("is not a duration"), std::string::npos);
    }
    // Valid but longer than anything kept: refused as too long, not as "not a duration".
    for (auto huge : {"1000000h", "99999999999999999999h"}) {
        auto d = parse_duration(huge, "poll.timeout");
        ASSERT_FALSE(d) << huge;
        EXPECT_NE(d.error().message.find("too long"), std::string::npos) << d.error().message;
    }
}

TEST(Duration, HugeWaitsAreCappedNotRefused) {
    auto q = *parse_query("a=999999h&b=99999999999999999999h&c=7d&d=1h30m");
    for (auto name : {"a", "b", "c"}) {
        auto w = query_duration(q, name, 10min);
        ASSERT_TRUE(w) << name << ": " << w.error().message;
        EXPECT_EQ(**w, 10min) << name;
    }
    EXPECT_EQ(**query_duration(q, "d", 2h), 90min);
}

TEST(Duration, QueryDurationIsCapped) {
    auto q = *parse_query("wait=10m&bad=x");
    EXPECT_EQ(**query_duration(q, "wait", 60s), 60s);
    EXPECT_FALSE(*query_duration(q, "absent", 60s));
    EXPECT_FALSE(query_duration(q, "bad", 60s));
}

}  // namespace
}  // namespace taskpoller::control
