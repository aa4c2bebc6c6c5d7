// wait's reconnect policy: the backoff between attempts and when it gives up.
#include "ctl/reconnect.hpp"

#include <gtest/gtest.h>

namespace taskpoller::ctl {
namespace {

using std::chrono::milliseconds;

TEST(ReconnectBackoff, DoublesFrom100msTo2sWithinTheJitterRange) {
    double u = 0.999;
    reconnect_backoff b([&u] { return u; });
    // The top of each jitter range: 100, 200, 400, 800, 1600, then 2000 for good.
    const std::vector<milliseconds::rep> top{100, 200, 400, 800, 1600, 2000, 2000};
    for (auto t : top) {
        const auto d = b.next().count();
        EXPECT_LE(d, t);
        EXPECT_GE(d, t - 2);
    }
    b.reset();
    u = 0.0;  // the bottom of the range: half the step
    EXPECT_EQ(b.next(), milliseconds{50});
    EXPECT_EQ(b.next(), milliseconds{100});
    u = 0.5;
    EXPECT_EQ(b.next(), milliseconds{300});  // step 400: 200 + 0.5 * 200
}

TEST(ReconnectBackoff, GivesUpAtTheWaitDeadlineElseAfterTheLimit) {
    using tp = std::chrono::steady_clock::time_point;
    const tp lost{std::chrono::seconds{100}};
    const tp deadline{std::chrono::seconds{130}};
    EXPECT_EQ(reconnect_backoff::give_up_at<tp>(lost, deadline), deadline);
    EXPECT_EQ(reconnect_backoff::give_up_at<tp>(lost, std::nullopt),
              lost + std::chrono::minutes{5});
    EXPECT_EQ(reconnect_backoff::give_up_at<tp>(lost, std::nullopt, milliseconds{1500}),
              lost + milliseconds{1500});
}

}  // namespace
}  // namespace taskpoller::ctl
