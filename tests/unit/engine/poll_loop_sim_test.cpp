// The I/O-free pieces driven together the way the poller drives them: scheduler → rate limiter
// → (simulated) cloud → retry policy → scheduler. The cloud enforces its own token bucket and
// answers 4400 beyond it, like API 2.0 does.
#include <gtest/gtest.h>

#include <queue>
#include <random>

#include "engine/rate_limiter.hpp"
#include "engine/retry.hpp"
#include "engine/scheduler.hpp"

namespace taskpoller::engine {
namespace {

using namespace std::chrono_literals;
const time_point t0 = time_point(std::chrono::hours(100));
const action_key poll_key{"lb", "DescribeLoadBalancersTaskResult"};

struct sim_result {
    std::size_t completed = 0, timed_out = 0, calls = 0, throttled = 0;
    double final_rate = 0;
    duration makespan{};
};

sim_result run(double our_rate, double cloud_rate, std::size_t tasks, unsigned seed) {
    rate_limiter_options lo;
    lo.default_rate = our_rate;
    rate_limiter ours(lo);
    rate_limiter_options co;
    co.default_rate = cloud_rate;
    rate_limiter cloud(co);
    const auto our_bucket = ours.bucket(poll_key, t0);
    const auto cloud_bucket = cloud.bucket(poll_key, t0);

    std::mt19937_64 gen(seed);
    auto uniform = std::make_shared<std::uniform_real_distribution<double>>(0, 1);
    scheduler_options so;
    so.poll.timeout = 1h;
    scheduler sched(so, [&gen, uniform] { return (*uniform)(gen); });
    const auto profile = sched.profile({"lb", "DeleteLoadBalancers"});
    std::vector<time_point> done(tasks);
    for (std::uint32_t h = 0; h < tasks; ++h) {
        done[h] = t0 + from_seconds(5 + 25 * (*uniform)(gen));
        sched.add(h, profile, t0, t0);
    }

    using send = std::pair<time_point, std::uint32_t>;
    std::priority_queue<send, std::vector<send>, std::greater<>> sends;
    sim_result r;
    std::vector<scheduler::due_task> due;
    time_point now = t0;
    while (r.completed + r.timed_out < tasks) {
        const auto next_due = sched.next_due();
        const bool send_first =
            !sends.empty() && (!next_due || sends.top().first <= std::max(now, *next_due));
        if (send_first) {
            auto [at, h] = sends.top();
            sends.pop();
            EXPECT_GE(at, now);  // the simulation never goes back in time
            now = at;
            ++r.calls;
            if (cloud.next_ready(cloud_bucket, now) > now) {  // the cloud says 4400
                ++r.throttled;
                const auto a =
                    decide({call_failure::kind::api, failure_class::throttled, "4400", {}},
                           sched.history(h), {});
                EXPECT_EQ(a, retry_action::retry_throttled);
                ours.on_throttled(our_bucket, now);
                sched.on_retry(h, now);
                continue;
            }
            cloud.acquire(cloud_bucket, now);
            if (now >= done[h]) {
                sched.complete(h, now);
                ++r.completed;
            } else {
                sched.on_running(h, now);
            }
            continue;
        }
        // Take only as many due tasks as there are tokens: each is sent at once.
        now = std::max(now, *next_due);
        const std::size_t tokens = ours.available(our_bucket, now);
        if (tokens == 0) {
            now = ours.next_ready(our_bucket, now);
            if (ours.available(our_bucket, now) == 0) now += 1ms;  // rounding guard
            continue;
        }
        due.clear();
        sched.pop_due(now, tokens, due);
        for (auto d : due) {
            if (d.why == scheduler::due_task::reason::deadline) {
                ++r.timed_out;
                continue;
            }
            sends.push({ours.acquire(our_bucket, now).ready_at, d.handle});
        }
    }
    r.final_rate = ours.stats(our_bucket, now).rate;
    r.makespan = now - t0;
    return r;
}

TEST(PollLoopSim, matching_rate_is_never_throttled) {
    const auto r = run(20, 20, 1000, 3);
    std::printf("matched 20/s: %zu calls, %zu throttled, %.1f s\n", r.calls, r.throttled,
                seconds(r.makespan));
    EXPECT_EQ(r.completed, 1000u);
    EXPECT_EQ(r.timed_out, 0u);
    EXPECT_EQ(r.throttled, 0u);
}

TEST(PollLoopSim, too_fast_adapts_and_still_finishes_everything) {
    const auto r = run(60, 20, 1000, 3);
    std::printf("60/s against 20/s: %zu calls, %zu throttled (%.1f%%), %.1f s, final rate %.1f\n",
                r.calls, r.throttled, 100.0 * r.throttled / r.calls, seconds(r.makespan),
                r.final_rate);
    EXPECT_EQ(r.completed, 1000u);
    EXPECT_EQ(r.timed_out, 0u);
    EXPECT_GT(r.throttled, 0u);
    // Measured: 57 of 1378 calls throttled (4 %), 68.6 s against 67.1 s when matched.
    EXPECT_LT(double(r.throttled) / r.calls, 0.10);
    EXPECT_LT(seconds(r.makespan), 90.0);
    EXPECT_LT(r.final_rate, 30.0);  // adapted well below the configured 60/s
}

}  // namespace
}  // namespace taskpoller::engine
