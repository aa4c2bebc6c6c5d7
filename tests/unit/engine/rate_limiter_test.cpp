#include "engine/rate_limiter.hpp"

#include <gtest/gtest.h>

#include <limits>

namespace taskpoller::engine {
namespace {

using namespace std::chrono_literals;
const time_point t0 = time_point(std::chrono::hours(1000));
const action_key key{"lb", "DescribeLoadBalancersTaskResult"};

template <class F>
rate_limiter_options opts(F f) {
    rate_limiter_options o;
    f(o);
    return o;
}

TEST(RateLimiter, burst_then_one_token_per_interval) {
    rate_limiter rl(opts([](rate_limiter_options& o) { o.default_rate = 10; }));
    auto id = rl.bucket(key, t0);
    for (int i = 0; i < 10; ++i) {
        auto g = rl.acquire(id, t0);
        EXPECT_TRUE(g.immediate) << i;
        EXPECT_EQ(g.ready_at, t0);
    }
    for (int i = 1; i <= 5; ++i) {
        auto g = rl.acquire(id, t0);
        EXPECT_FALSE(g.immediate);
        EXPECT_NEAR(seconds(g.ready_at - t0), 0.1 * i, 1e-6) << i;
    }
    auto s = rl.stats(id, t0);
    EXPECT_EQ(s.granted, 10u);
    EXPECT_EQ(s.delayed, 5u);
    EXPECT_NEAR(s.tokens, -5, 1e-9);
}

TEST(RateLimiter, idle_refill_is_capped_at_burst) {
    rate_limiter rl(opts([](rate_limiter_options& o) {
        o.default_rate = 4;
        o.burst_seconds = 2;
    }));
    auto id = rl.bucket(key, t0);
    EXPECT_EQ(rl.stats(id, t0).burst, 8);
    for (int i = 0; i < 8; ++i) EXPECT_TRUE(rl.acquire(id, t0).immediate);
    EXPECT_FALSE(rl.acquire(id, t0).immediate);  // debt of 1
    const time_point later = t0 + 1h;
    EXPECT_NEAR(rl.stats(id, later).tokens, 8, 1e-9);
    int immediate = 0;
    for (int i = 0; i < 20; ++i) immediate += rl.acquire(id, later).immediate;
    EXPECT_EQ(immediate, 8);
}

TEST(RateLimiter, waiters_are_served_in_order_and_never_dropped) {
    rate_limiter rl(opts([](rate_limiter_options& o) { o.default_rate = 20; }));
    auto id = rl.bucket(key, t0);
    time_point prev = t0;
    time_point now = t0;
    // 1000 callers arriving every 10 ms (100/s, five times the rate): all get a slot, in order.
    for (int i = 0; i < 1000; ++i) {
        auto g = rl.acquire(id, now);
        EXPECT_GE(g.ready_at, now);
        EXPECT_GE(g.ready_at, prev) << "caller " << i << " overtook an earlier one";
        prev = g.ready_at;
        now += 10ms;
    }
    // 20 burst + 20/s: the 1000th slot is ~ (1000 - 20) / 20 = 49 s after the start.
    EXPECT_NEAR(seconds(prev - t0), 49.0, 0.1);
}

TEST(RateLimiter, sent_requests_never_exceed_rate_plus_burst) {
    rate_limiter rl(opts([](rate_limiter_options& o) { o.default_rate = 20; }));
    auto id = rl.bucket(key, t0);
    std::vector<time_point> sends;
    for (int i = 0; i < 500; ++i) sends.push_back(rl.acquire(id, t0 + i * 1ms).ready_at);
    // In any window of w seconds at most burst + rate * w requests go out.
    for (std::size_t i = 0; i < sends.size(); ++i) {
        for (std::size_t j = i; j < sends.size(); ++j) {
            const double w = seconds(sends[j] - sends[i]);
            ASSERT_LE(static_cast<double>(j - i + 1), 20 + 20 * w + 1e-6) << i << ".." << j;
        }
    }
}

TEST(RateLimiter, throttle_halves_down_to_the_floor_with_cooldown) {
    rate_limiter rl(opts([](rate_limiter_options& o) {
        o.default_rate = 20;
        o.floor_rate = 0.5;
        o.recovery_per_second = 0;
    }));
    auto id = rl.bucket(key, t0);
    rl.on_throttled(id, t0);
    EXPECT_DOUBLE_EQ(rl.stats(id, t0).rate, 10);
    rl.on_throttled(id, t0 + 500ms);  // same burst of answers: ignored
    EXPECT_DOUBLE_EQ(rl.stats(id, t0 + 500ms).rate, 10);
    time_point t = t0;
    double expected = 10;
    for (int i = 0; i < 10; ++i) {
        t += 1s;
        rl.on_throttled(id, t);
        expected = std::max(0.5, expected / 2);
        EXPECT_DOUBLE_EQ(rl.stats(id, t).rate, expected) << i;
    }
    EXPECT_DOUBLE_EQ(rl.stats(id, t).rate, 0.5);
    EXPECT_EQ(rl.stats(id, t).throttled, 11u);
}

TEST(RateLimiter, throttling_with_queued_waiters_keeps_their_order) {
    rate_limiter rl(opts([](rate_limiter_options& o) { o.default_rate = 20; }));
    auto id = rl.bucket(key, t0);
    std::vector<time_point> ready;
    for (int i = 0; i < 60; ++i) ready.push_back(rl.acquire(id, t0).ready_at);
    rl.on_throttled(id, t0 + 100ms);
    for (int i = 0; i < 60; ++i) ready.push_back(rl.acquire(id, t0 + 200ms).ready_at);
    for (std::size_t i = 1; i < ready.size(); ++i) ASSERT_GE(ready[i], ready[i - 1]) << i;
    // The ones queued after the cut are spaced at the halved rate (10/s): queued reservations
    // do not count as successful calls, so the rate does not creep back while they wait.
    EXPECT_NEAR(seconds(ready[119] - ready[60]), 59 / 10.0, 0.01);
    EXPECT_DOUBLE_EQ(rl.stats(id, t0 + 200ms).rate, 10);
}

TEST(RateLimiter, floor_never_exceeds_the_configured_rate) {
    rate_limiter rl(opts([](rate_limiter_options& o) {
        o.floor_rate = 0.5;
        o.recovery_per_second = 0;
    }));
    ASSERT_TRUE(rl.configure(key, 0.2, t0));
    rl.on_throttled(key, t0);
    EXPECT_DOUBLE_EQ(rl.stats(rl.bucket(key, t0), t0).rate, 0.2);
}

TEST(RateLimiter, throttle_drops_spare_tokens) {
    rate_limiter rl(opts([](rate_limiter_options& o) { o.default_rate = 20; }));
    auto id = rl.bucket(key, t0);
    EXPECT_TRUE(rl.acquire(id, t0).immediate);
    rl.on_throttled(id, t0);
    auto g = rl.acquire(id, t0);
    EXPECT_FALSE(g.immediate);
    EXPECT_NEAR(seconds(g.ready_at - t0), 0.1, 1e-3);  // one token at the halved rate
}

TEST(RateLimiter, an_idle_bucket_does_not_recover_and_bursts_at_its_current_rate) {
    rate_limiter rl(opts([](rate_limiter_options& o) {
        o.default_rate = 20;
        o.recovery_per_second = 1;
    }));
    auto id = rl.bucket(key, t0);
    rl.on_throttled(id, t0);
    const auto s = rl.stats(id, t0 + 1h);
    EXPECT_DOUBLE_EQ(s.rate, 10);
    EXPECT_DOUBLE_EQ(s.burst, 10);
    EXPECT_DOUBLE_EQ(s.tokens, 10);
    int immediate = 0;
    for (int i = 0; i < 20; ++i) immediate += rl.acquire(id, t0 + 1h).immediate;
    EXPECT_EQ(immediate, 10);
}

TEST(RateLimiter, a_busy_bucket_recovers_additively_to_the_configured_rate) {
    rate_limiter rl(opts([](rate_limiter_options& o) {
        o.default_rate = 20;
        o.recovery_per_second = 1;
    }));
    auto id = rl.bucket(key, t0);
    rl.on_throttled(id, t0);  // rate 10, no spare tokens; then +1/s per second of sending
    // A saturated sender as the poller runs one: waits for the next token, then takes it.
    time_point t = t0;
    int by_10s = 0, by_11s = 0;
    double rate_at_4s = 0;
    while (true) {
        t = rl.next_ready(id, t);
        if (t > t0 + 11s) break;
        ASSERT_EQ(rl.available(id, t), 1u);
        ASSERT_TRUE(rl.acquire(id, t).immediate);
        if (rate_at_4s == 0 && t >= t0 + 4s) rate_at_4s = rl.stats(id, t).rate;
        by_10s += t <= t0 + 10s;
        ++by_11s;
    }
    EXPECT_NEAR(rate_at_4s, 14, 0.3);
    // Integral of (10 + t) over [0, 10] = 150, then the full 20/s.
    EXPECT_NEAR(by_10s, 150, 3);
    EXPECT_NEAR(by_11s - by_10s, 20, 2);
    EXPECT_DOUBLE_EQ(rl.stats(id, t).rate, 20);
}

TEST(RateLimiter, next_ready_takes_nothing_and_refund_returns_a_token) {
    rate_limiter rl(opts([](rate_limiter_options& o) {
        o.default_rate = 1;
        o.burst_seconds = 1;
    }));
    auto id = rl.bucket(key, t0);
    EXPECT_EQ(rl.next_ready(id, t0), t0);
    EXPECT_EQ(rl.next_ready(id, t0), t0);
    EXPECT_TRUE(rl.acquire(id, t0).immediate);
    EXPECT_NEAR(seconds(rl.next_ready(id, t0) - t0), 1.0, 1e-6);
    rl.refund(id, t0);
    EXPECT_TRUE(rl.acquire(id, t0).immediate);
}

TEST(RateLimiter, ready_for_several_tokens_takes_nothing_and_is_capped_by_the_burst) {
    rate_limiter rl(opts([](rate_limiter_options& o) {
        o.default_rate = 20;
        o.burst_seconds = 1;  // burst 20
    }));
    auto id = rl.bucket(key, t0);
    for (int i = 0; i < 20; ++i) ASSERT_TRUE(rl.acquire(id, t0).immediate);
    EXPECT_NEAR(seconds(rl.ready_for(id, 1, t0) - t0), 0.05, 1e-6);
    EXPECT_NEAR(seconds(rl.ready_for(id, 5, t0) - t0), 0.25, 1e-6);
    EXPECT_NEAR(seconds(rl.ready_for(id, 0, t0) - t0), 0.05, 1e-6);   // at least one
    EXPECT_NEAR(seconds(rl.ready_for(id, 500, t0) - t0), 1.0, 1e-6);  // at most the burst
    EXPECT_EQ(rl.available(id, t0 + 250ms), 5u);                      // nothing was taken
    // With reservations queued (debt), the batch comes after the last of them.
    for (int i = 0; i < 5; ++i) rl.acquire(id, t0 + 250ms);
    for (int i = 0; i < 3; ++i) EXPECT_FALSE(rl.acquire(id, t0 + 250ms).immediate);
    EXPECT_GE(rl.ready_for(id, 1, t0 + 250ms), t0 + 250ms + 150ms - 1us);
}

TEST(RateLimiter, a_batch_is_the_rate_over_the_window_within_one_and_half_the_burst) {
    rate_limiter rl(opts([](rate_limiter_options& o) {
        o.default_rate = 20;
        o.burst_seconds = 1;
    }));
    auto id = rl.bucket(key, t0);
    EXPECT_EQ(rl.batch(id, 250ms), 5u);
    EXPECT_EQ(rl.batch(id, 10ms), 1u);  // under one token: one
    EXPECT_EQ(rl.batch(id, 10s), 10u);  // half the burst of 20
    ASSERT_TRUE(rl.configure(key, 0.5, t0));
    EXPECT_EQ(rl.batch(id, 10s), 1u);  // burst 1: one at a time
    ASSERT_TRUE(rl.configure(key, 5000, t0));
    EXPECT_EQ(rl.batch(id, 2ms), 10u);
    rl.on_throttled(id, t0);  // 2,500/s: the batch follows the current rate
    EXPECT_EQ(rl.batch(id, 2ms), 5u);
}

TEST(RateLimiter, keys_are_independent_and_configurable) {
    rate_limiter rl(opts([](rate_limiter_options& o) { o.default_rate = 20; }));
    EXPECT_FALSE(rl.configure(key, 0, t0));
    EXPECT_FALSE(rl.configure(key, -1, t0));
    EXPECT_FALSE(rl.configure(key, std::numeric_limits<double>::infinity(), t0));
    EXPECT_TRUE(rl.configure({"cvm", "DescribeInstances"}, 2, t0));
    rl.on_throttled({"cvm", "DescribeInstances"}, t0);
    EXPECT_EQ(rl.size(), 1u);  // a refused configure creates nothing
    rl.bucket(key, t0);
    auto all = rl.all_stats(t0);
    ASSERT_EQ(all.size(), 2u);
    for (auto& [k, s] : all) {
        if (k.service == "cvm") {
            EXPECT_DOUBLE_EQ(s.configured_rate, 2);
            EXPECT_DOUBLE_EQ(s.rate, 1);
        } else {
            EXPECT_DOUBLE_EQ(s.rate, 20);
            EXPECT_EQ(s.throttled, 0u);
        }
    }
}

}  // namespace
}  // namespace taskpoller::engine
