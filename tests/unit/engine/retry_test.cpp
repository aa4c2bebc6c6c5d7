#include "engine/retry.hpp"

#include <gtest/gtest.h>

#include <random>

#include "engine/cloud_v2.hpp"
#include "engine/scheduler.hpp"

namespace taskpoller::engine {
namespace {

using namespace std::chrono_literals;

TEST(Backoff, ceiling_grows_geometrically_and_saturates) {
    const backoff_policy p{500ms, 2.0, 30s, jitter_mode::none};
    const double expected[] = {0.5, 1, 2, 4, 8, 16, 30, 30};
    for (std::uint32_t n = 0; n < std::size(expected); ++n)
        EXPECT_NEAR(seconds(backoff_ceiling(p, n)), expected[n], 1e-9) << n;
    EXPECT_EQ(backoff_ceiling(p, 100000), 30s);  // no overflow
    EXPECT_EQ(backoff_delay(p, 3, {}), 4s);      // no jitter: the ceiling
}

TEST(Backoff, degenerate_parameters_stay_sane) {
    EXPECT_EQ(backoff_ceiling({-1s, 2.0, 10s, jitter_mode::none}, 3), 0s);
    EXPECT_EQ(backoff_ceiling({1s, 0.5, 10s, jitter_mode::none}, 3), 1s);  // shrinking → flat
    EXPECT_EQ(backoff_ceiling({1s, std::nan(""), 10s, jitter_mode::none}, 3), 1s);
}

TEST(Backoff, full_jitter_stays_within_zero_and_the_ceiling) {
    const backoff_policy p{1s, 2.0, 20s, jitter_mode::full};
    for (unsigned seed = 1; seed <= 50; ++seed) {
        std::mt19937_64 gen(seed);
        std::uniform_real_distribution<double> u(0, 1);
        random_source rng = [&] { return u(gen); };
        double sum = 0;
        for (std::uint32_t n = 0; n < 200; ++n) {
            const duration d = backoff_delay(p, n % 8, rng);
            ASSERT_GE(d, 0s);
            ASSERT_LE(d, backoff_ceiling(p, n % 8));
            sum += seconds(d) / seconds(backoff_ceiling(p, n % 8));
        }
        EXPECT_NEAR(sum / 200, 0.5, 0.1) << "seed " << seed;  // uniform: mean half the ceiling
    }
    EXPECT_EQ(backoff_delay(p, 2, [] { return 0.25; }), 1s);
    EXPECT_EQ(backoff_delay(p, 2, [] { return 7.0; }), 4s);  // out-of-range draws are clamped
}

// An API 2.0 answer with `code` (and codeDesc `desc`), classified by the 2.0 protocol
// (engine/cloud_v2.hpp) and decided by the protocol-neutral policy: the whole path a poll's
// error code takes.
retry_action api(int code, retry_history h = {}, std::string_view desc = {},
                 const retry_options& o = {}) {
    call_failure f{call_failure::kind::api, v2::classify(code, desc), std::to_string(code), {}};
    return decide(f, h, o);
}

call_failure of_kind(call_failure::kind k) {
    return call_failure{k, failure_class::final, {}, {}};
}

TEST(Retry, transient_failures_are_retried) {
    // Whatever class a transport failure or a malformed body carries, it says nothing final.
    EXPECT_EQ(decide(of_kind(call_failure::kind::transport), {}, {}), retry_action::retry);
    EXPECT_EQ(decide(of_kind(call_failure::kind::malformed), {}, {}), retry_action::retry);
    EXPECT_EQ(api(6000), retry_action::retry);
    EXPECT_EQ(api(6200), retry_action::retry);
    EXPECT_EQ(api(-1), retry_action::retry);  // unreadable code
    EXPECT_EQ(api(0), retry_action::retry);   // a "success" the resolver could not use
}

TEST(Retry, throttling_is_reported) {
    EXPECT_EQ(api(4400), retry_action::retry_throttled);
    EXPECT_EQ(api(-1, {}, "InvalidRequest.RequestConcurrencyExceeded"),
              retry_action::retry_throttled);
    EXPECT_EQ(api(4000, {}, "InvalidRequest.LimitExceeded"), retry_action::retry_throttled);
}

TEST(Retry, expired_and_replay_are_resigned_once) {
    EXPECT_EQ(api(4200), retry_action::retry_resigned);
    EXPECT_EQ(api(4500), retry_action::retry_resigned);
    EXPECT_EQ(api(4500, {0, true}), retry_action::retry);
}

TEST(Retry, no_such_task_counts_toward_not_found) {
    EXPECT_EQ(api(5000, {0, false}), retry_action::count_missing);
    EXPECT_EQ(api(5000, {1, false}), retry_action::count_missing);
    EXPECT_EQ(api(5000, {2, false}), retry_action::not_found);
    retry_options o;
    o.not_found_checks = 1;
    EXPECT_EQ(api(5000, {}, {}, o), retry_action::not_found);
    EXPECT_EQ(api(4000, {}, {}, o), retry_action::fail);  // only "missing" counts
}

TEST(Retry, account_wide_errors_stall_task_errors_fail) {
    for (int c : {4100, 4101, 4104, 4105, 4110, 4300, 4600, 6100})
        EXPECT_EQ(api(c), retry_action::stall) << c;
    for (int c : {4000, 5100, 5200, 9999}) EXPECT_EQ(api(c), retry_action::fail) << c;
}

TEST(Retry, scheduler_history_drives_not_found_and_resign) {
    scheduler s({}, [] { return 0.5; });
    const auto p = s.profile({"lb", "X"});
    const time_point t0 = time_point(std::chrono::hours(1));
    s.add(1, p, t0, t0);
    const call_failure missing{call_failure::kind::api, failure_class::missing, "5000", {}};
    const call_failure expired{call_failure::kind::api, failure_class::resign, "4200", {}};
    EXPECT_EQ(decide(expired, s.history(1), {}), retry_action::retry_resigned);
    s.on_resign_retry(1, t0);
    EXPECT_EQ(decide(expired, s.history(1), {}), retry_action::retry);
    EXPECT_EQ(decide(missing, s.history(1), {}), retry_action::count_missing);
    s.on_missing(1, t0);
    EXPECT_EQ(decide(missing, s.history(1), {}), retry_action::count_missing);
    s.on_missing(1, t0);
    EXPECT_EQ(decide(missing, s.history(1), {}), retry_action::not_found);
    s.on_running(1, t0);  // an answer in between starts the count again
    EXPECT_EQ(decide(missing, s.history(1), {}), retry_action::count_missing);
}

TEST(Retry, action_names) {
    EXPECT_EQ(to_string(retry_action::retry_throttled), "retry_throttled");
    EXPECT_EQ(to_string(retry_action::not_found), "not_found");
}

}  // namespace
}  // namespace taskpoller::engine
