#include "qcloud/error_codes.hpp"

#include <gtest/gtest.h>

namespace tq = taskpoller::qcloud;
using ec = tq::error_class;

TEST(ErrorCodes, classification_follows_the_table) {
    EXPECT_EQ(tq::classify(0), ec::success);
    EXPECT_EQ(tq::classify(5400), ec::partial);
    EXPECT_EQ(tq::classify(4400), ec::throttled);
    EXPECT_EQ(tq::classify(6000), ec::retry_backoff);
    EXPECT_EQ(tq::classify(6200), ec::retry_backoff);
    EXPECT_EQ(tq::classify(4200), ec::resign_once);
    EXPECT_EQ(tq::classify(4500), ec::resign_once);
    for (int c : {4000, 4100, 4101, 4102, 4103, 4104, 4105, 4106, 4110, 4300, 4600, 5000, 5100,
                  5200, 5300, 5500, 6100, -1, 12345}) {
        EXPECT_EQ(tq::classify(c), ec::final) << c;
    }
}

TEST(ErrorCodes, throttle_strings) {
    EXPECT_TRUE(tq::is_throttle_desc("InvalidRequest.RequestConcurrencyExceeded"));
    EXPECT_TRUE(tq::is_throttle_desc("InvalidRequest.LimitExceeded"));
    EXPECT_FALSE(tq::is_throttle_desc("InvalidParameter"));
    EXPECT_FALSE(tq::is_throttle_desc(""));
}

TEST(ErrorCodes, descriptions) {
    EXPECT_EQ(tq::describe(4400), "too many requests (throttled)");
    EXPECT_EQ(tq::describe(777), "unknown error code");
    EXPECT_EQ(tq::to_string(ec::resign_once), "resign_once");
}
