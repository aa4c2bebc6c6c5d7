// Learning in the scheduler: the completion-time histogram and polls placed around it.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <deque>
#include <random>

#include "engine/duration_histogram.hpp"
#include "engine/scheduler.hpp"

namespace taskpoller::engine {
namespace {

using namespace std::chrono_literals;
const time_point t0 = time_point(std::chrono::hours(100));

TEST(DurationHistogram, quantiles_are_within_the_bucket_resolution) {
    duration_histogram h;
    EXPECT_EQ(h.quantile(0.5), duration::zero());
    for (int i = 1; i <= 1000; ++i) h.add(std::chrono::milliseconds(i * 100));  // 0.1 .. 100 s
    for (double p : {0.1, 0.25, 0.5, 0.9, 0.99}) {
        const double expected = p * 100;
        EXPECT_NEAR(seconds(h.quantile(p)), expected, expected * 0.12) << p;
    }
    EXPECT_LE(h.weight(), 1000.0);
    EXPECT_EQ(h.observations(), 1000u);
}

TEST(DurationHistogram, extremes_are_clamped_into_range) {
    duration_histogram h;
    h.add(-5s);
    h.add(0s);
    EXPECT_LT(h.quantile(0.5), 100ms);
    duration_histogram big;
    big.add(std::chrono::hours(24 * 365));
    EXPECT_GT(big.quantile(0.5), std::chrono::hours(24 * 8));  // the last bucket: 8.2-9.7 days
}

TEST(DurationHistogram, forgets_old_samples) {
    duration_histogram h(1000);
    for (int i = 0; i < 1000; ++i) h.add(1s);
    for (int i = 0; i < 2000; ++i) h.add(10s);
    EXPECT_NEAR(seconds(h.quantile(0.5)), 10, 1.2);
    EXPECT_LE(h.weight(), 1000.0);
}

// Kaplan–Meier with right-censored observations (tasks still running), checked against
// estimates computed by hand. Every observation below sits in its own bucket unless said.
double upper_edge(duration d) {
    return duration_histogram::lower_bound_of(duration_histogram::index_of(d) + 1);
}

TEST(DurationHistogram, kaplan_meier_matches_a_hand_computed_estimate) {
    // Completions at 1, 2 and 4 s; running tasks last seen at 1.5 and 3 s (n = 5).
    // By hand: at 1 s, 5 at risk, 1 event: S = 4/5 = 0.8. At 2 s, 3 at risk (1.5 s is
    // censored), 1 event: S = 0.8 * 2/3 = 0.5333. At 4 s, 1 at risk (3 s censored): S = 0.
    duration_histogram h;
    h.add(1s);
    h.add(2s);
    h.add(4s);
    h.add_running(1500ms);
    h.add_running(3s);
    EXPECT_EQ(h.running(), 2u);
    EXPECT_EQ(h.weight(), 3.0);
    // A quantile where S steps exactly to 1 - p is the upper edge of that event's bucket.
    EXPECT_NEAR(seconds(h.quantile(1 - 0.8)), upper_edge(1s), 1e-6);
    EXPECT_NEAR(seconds(h.quantile(1 - 0.8 * 2 / 3)), upper_edge(2s), 1e-6);
    // Inside a bucket: log-uniform between its edges, at the fraction of S's step.
    // p = 0.5: S goes from 0.5333 to 0 in 4 s's bucket; (0.5333 - 0.5) / 0.5333 = 1/16.
    const double lo4 = duration_histogram::lower_bound_of(duration_histogram::index_of(4s));
    EXPECT_NEAR(seconds(h.quantile(0.5)), lo4 * std::exp2((1.0 / 16) / 4), 1e-6);
    // p = 0.3: S goes from 0.8 to 0.5333 in 2 s's bucket; (0.8 - 0.7) / 0.2667 = 0.375.
    const double lo2 = duration_histogram::lower_bound_of(duration_histogram::index_of(2s));
    EXPECT_NEAR(seconds(h.quantile(0.3)), lo2 * std::exp2(0.375 / 4), 1e-6);
    // Completions only, the median would be the 2 s completion (S: 2/3, 1/3, 0).
    duration_histogram plain;
    plain.add(1s);
    plain.add(2s);
    plain.add(4s);
    EXPECT_EQ(duration_histogram::index_of(plain.quantile(0.5)), duration_histogram::index_of(2s));
}

TEST(DurationHistogram, a_task_censored_in_an_events_bucket_is_at_risk_for_half_of_it) {
    // Life table: a completion at 1 s and a task last seen running at 1.02 s (same bucket), a
    // completion at 4 s. At 1 s: 3 at risk less half the censored one = 2.5, 1 event: S = 0.6.
    duration_histogram h;
    h.add(1s);
    h.add_running(1020ms);
    h.add(4s);
    ASSERT_EQ(duration_histogram::index_of(1s), duration_histogram::index_of(1020ms));
    EXPECT_NEAR(seconds(h.quantile(0.4)), upper_edge(1s), 1e-6);
    const double lo1 = duration_histogram::lower_bound_of(duration_histogram::index_of(1s));
    EXPECT_NEAR(seconds(h.quantile(0.2)), lo1 * std::exp2(0.5 / 4), 1e-6);  // 0.2 / 0.4
}

TEST(DurationHistogram, running_tasks_correct_the_bias_of_a_wave_in_progress) {
    // 100 tasks started together: 40 finish at 10 s, 60 at 60 s. At 30 s the 40 have finished
    // and the 60 are seen running at 30 s.
    duration_histogram completions, km;
    for (int i = 0; i < 40; ++i) {
        completions.add(10s);
        km.add(10s);
    }
    for (int i = 0; i < 60; ++i) km.add_running(30s);
    // Completions only: the median (and every quantile) is 10 s.
    EXPECT_NEAR(seconds(completions.quantile(0.5)), 10, 1.2);
    EXPECT_NEAR(seconds(completions.quantile(0.9)), 10, 1.2);
    // Kaplan–Meier: 40 % finish by 10 s (p30 is 10 s), and nothing says more yet: the median
    // is past 30 s, given as the lower bound it is known to exceed.
    EXPECT_NEAR(seconds(km.quantile(0.3)), 10, 1.2);
    EXPECT_GE(seconds(km.quantile(0.5)), 30.0);
    EXPECT_NEAR(seconds(km.quantile(0.5)), upper_edge(30s), 1e-6);
    // The 60 finish at 60 s: the median is 60 s.
    for (int i = 0; i < 60; ++i) {
        km.remove_running(30s);
        km.add(60s);
    }
    EXPECT_EQ(km.running(), 0u);
    EXPECT_EQ(duration_histogram::index_of(km.quantile(0.5)), duration_histogram::index_of(60s));
    EXPECT_NEAR(seconds(km.quantile(0.3)), 10, 1.2);
}

TEST(DurationHistogram, running_tasks_alone_give_no_estimate) {
    duration_histogram h;
    for (int i = 0; i < 50; ++i) h.add_running(20s);
    EXPECT_EQ(h.weight(), 0.0);
    EXPECT_EQ(h.running(), 50u);
    EXPECT_EQ(h.quantile(0.5), duration::zero());
    // The first completion: it is the only event, 51 at risk: S = 50/51 after it, so only
    // quantiles up to 1/51 are known; the rest lie past 20 s.
    h.add(2s);
    EXPECT_NEAR(seconds(h.quantile(0.01)), 2, 0.3);
    EXPECT_NEAR(seconds(h.quantile(0.5)), upper_edge(20s), 1e-6);
}

TEST(DurationHistogram, running_observations_move_and_leave) {
    duration_histogram h;
    h.add_running(0s);
    EXPECT_FALSE(h.move_running(0s, 10ms));  // same bucket
    EXPECT_TRUE(h.move_running(10ms, 5s));
    EXPECT_FALSE(h.move_running(1s, 2s));  // nothing counted at 1 s
    for (int i = 0; i < 10; ++i) h.add(1s);
    // The running task at 5 s keeps the p95 from collapsing onto 1 s: S = 1/11 after 1 s.
    EXPECT_NEAR(seconds(h.quantile(0.95)), upper_edge(5s), 1e-6);
    h.remove_running(5s);
    h.remove_running(5s);  // ignored: none left there
    EXPECT_EQ(h.running(), 0u);
    EXPECT_NEAR(seconds(h.quantile(0.95)), 1, 0.2);
}

scheduler_options base_options(bool learn) {
    scheduler_options o;
    o.poll = {1s, 1s, 1.5, 60s, jitter_mode::none, 24h};
    o.learning.enabled = learn;
    return o;
}

TEST(Learning, static_policy_until_enough_samples_then_quantiles) {
    scheduler s(base_options(true), {});
    const auto p = s.profile({"cvm", "StopInstances"});
    std::uint32_t h = 0;
    for (; h < 19; ++h) {
        s.add(h, p, t0, t0);
        s.complete(h, t0 + 20s);  // estimate: 10 s (never seen running)
    }
    EXPECT_TRUE(s.learned_ladder(p).empty());
    s.add(100, p, t0, t0);
    EXPECT_EQ(*s.next_due(), t0 + 1s);  // static initial delay
    s.remove(100);
    s.add(h, p, t0, t0);
    s.complete(h, t0 + 20s);
    const auto ladder = s.learned_ladder(p);
    ASSERT_EQ(ladder.size(), 5u);
    for (auto d : ladder) EXPECT_NEAR(seconds(d), 10, 1.2);
    s.add(101, p, t0 + 1h, t0 + 1h);
    EXPECT_NEAR(seconds(*s.next_due() - (t0 + 1h)), 10, 1.2);  // first poll near the learned time
}

// The first polls of a wave: 100 tasks submitted together, all seen running at 8 s; 30 finish
// by 12 s (learned at 9.8 s, the middle of 8-12 s), the other 70 are seen running at 30 s. A new
// task's first poll is at p30 (~10 s) either way; with the running tasks counted, p60 and above
// are known to lie past 30 s, so its second poll is there, not a quarter of its age later.
duration second_poll_of_a_new_task(bool censored) {
    auto o = base_options(true);
    o.learning.censored = censored;
    scheduler s(o, {});
    const auto p = s.profile({"lb", "X"});
    for (std::uint32_t h = 0; h < 100; ++h) {
        s.add(h, p, t0, t0);
        s.on_running(h, t0 + 8s);
    }
    for (std::uint32_t h = 0; h < 30; ++h) s.complete(h, t0 + 12s);
    for (std::uint32_t h = 30; h < 100; ++h) s.on_running(h, t0 + 30s);
    EXPECT_EQ(s.histogram(p).running(), censored ? 70u : 0u);
    // Take the 70 out of the queue (popped: tracked, awaiting an answer) so that the new task
    // is the only one due.
    std::vector<scheduler::due_task> out;
    s.pop_due(t0 + 1h, 1000, out);
    EXPECT_EQ(out.size(), 70u);
    out.clear();
    const time_point sub = t0 + 30s;
    s.add(1000, p, sub, sub);
    const time_point first = *s.next_due();
    EXPECT_NEAR(seconds(first - sub), 10, 1.2);
    s.pop_due(first, 10, out);
    EXPECT_EQ(out.size(), 1u);
    s.on_running(1000, first);
    return *s.next_due() - sub;
}

TEST(Learning, running_tasks_place_the_second_poll_of_a_wave_past_their_ages) {
    EXPECT_GE(seconds(second_poll_of_a_new_task(true)), 30.0);
    EXPECT_LT(seconds(second_poll_of_a_new_task(false)), 15.0);  // completions only
}

TEST(Learning, running_tasks_leave_the_estimate_however_they_end) {
    scheduler s(base_options(true), {});
    const auto p = s.profile({"lb", "X"});
    for (std::uint32_t h = 0; h < 4; ++h) s.add(h, p, t0, t0, t0 + (h == 3 ? 20s : 1h));
    EXPECT_EQ(s.histogram(p).running(), 4u);
    for (std::uint32_t h = 0; h < 4; ++h) s.on_running(h, t0 + 5s);
    EXPECT_EQ(s.histogram(p).running(), 4u);
    s.complete(0, t0 + 10s);
    s.complete(1, t0 + 10s, false);  // ended without teaching (e.g. cancelled at the cloud)
    s.remove(2);
    EXPECT_EQ(s.histogram(p).running(), 1u);
    std::vector<scheduler::due_task> out;
    s.pop_due(t0 + 20s, 10, out);  // task 3's deadline
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].why, scheduler::due_task::reason::deadline);
    EXPECT_EQ(s.histogram(p).running(), 0u);
    EXPECT_EQ(s.histogram(p).weight(), 1.0);
}

TEST(Learning, ladder_steps_through_quantiles_then_a_fraction_of_the_age) {
    scheduler s(base_options(true), {});
    const auto p = s.profile({"lb", "X"});
    // Teach 1..100 s, uniformly.
    for (std::uint32_t i = 0; i < 1000; ++i) {
        s.add(i, p, t0, t0);
        s.complete(i, t0 + std::chrono::milliseconds(2 * (100 + (i % 100) * 1000)));
    }
    const auto ladder = s.learned_ladder(p);
    ASSERT_EQ(ladder.size(), 5u);
    const double q[] = {0.3, 0.6, 0.85, 0.95, 0.99};
    for (int i = 0; i < 5; ++i) EXPECT_NEAR(seconds(ladder[i]), q[i] * 100, q[i] * 100 * 0.15);
    const time_point sub = t0 + 10h;
    s.add(5000, p, sub, sub);
    time_point now = sub;
    for (int i = 0; i < 5; ++i) {
        EXPECT_EQ(*s.next_due(), sub + ladder[i]) << i;
        now = *s.next_due();
        std::vector<scheduler::due_task> out;
        s.pop_due(now, 10, out);
        s.on_running(5000, now);
    }
    // Past p99 (~99 s of age): the next delay is a quarter of the age.
    EXPECT_NEAR(seconds(*s.next_due() - now), seconds(now - sub) / 4, 0.01);
}

struct run_result {
    double wasted_per_task = 0;  // polls that answered "still running"
    double mean_latency = 0;     // seconds between completion and the poll that saw it
    std::size_t polls = 0;
};

// Tasks submitted one per `spacing`, each finishing after a log-normal time; the poller answers
// every due poll at once (no rate limit), so only the schedule matters.
run_result simulate(bool learn, double median_s, double sigma, std::size_t tasks, duration spacing,
                    unsigned seed) {
    scheduler s(base_options(learn), {});
    const auto p = s.profile({"cvm", "StopInstances"});
    std::mt19937_64 gen(seed);
    std::lognormal_distribution<double> dist(std::log(median_s), sigma);
    std::vector<time_point> done(tasks);
    std::size_t added = 0, finished = 0, wasted = 0, polls = 0;
    double latency = 0;
    time_point now = t0;
    std::vector<scheduler::due_task> out;
    while (finished < tasks) {
        const time_point next_add = t0 + spacing * static_cast<long>(added);
        const auto due = s.next_due();
        if (added < tasks && (!due || next_add <= *due)) {
            now = next_add;
            done[added] = now + from_seconds(dist(gen));
            s.add(static_cast<std::uint32_t>(added), p, now, now);
            ++added;
            continue;
        }
        now = *due;
        out.clear();
        s.pop_due(now, 1000, out);
        for (auto d : out) {
            ++polls;
            if (now >= done[d.handle]) {
                latency += seconds(now - done[d.handle]);
                s.complete(d.handle, now);
                ++finished;
            } else {
                ++wasted;
                s.on_running(d.handle, now);
            }
        }
    }
    return {double(wasted) / tasks, latency / tasks, polls};
}

TEST(Learning, slow_action_wastes_far_fewer_polls_than_the_static_policy) {
    const auto fixed = simulate(false, 30.0, 0.3, 2000, 500ms, 7);
    const auto learned = simulate(true, 30.0, 0.3, 2000, 500ms, 7);
    std::printf(
        "slow (median 30 s): static %.2f wasted/task, latency %.2f s; "
        "learned %.2f wasted/task, latency %.2f s\n",
        fixed.wasted_per_task, fixed.mean_latency, learned.wasted_per_task, learned.mean_latency);
    // Measured (seeds fixed): static 7.25 wasted/task, 7.3 s; learned 2.06, 4.2 s.
    EXPECT_LT(learned.wasted_per_task, fixed.wasted_per_task * 0.4);
    EXPECT_LT(learned.mean_latency, fixed.mean_latency);
}

TEST(Learning, fast_action_is_seen_sooner_than_the_static_initial_delay_allows) {
    const auto fixed = simulate(false, 0.3, 0.3, 2000, 100ms, 11);
    const auto learned = simulate(true, 0.3, 0.3, 2000, 100ms, 11);
    std::printf(
        "fast (median 0.3 s): static %.2f wasted/task, latency %.3f s; "
        "learned %.2f wasted/task, latency %.3f s\n",
        fixed.wasted_per_task, fixed.mean_latency, learned.wasted_per_task, learned.mean_latency);
    // Measured: static 0.69 s (the 1 s initial delay), learned 0.09 s for < 1 wasted poll/task.
    EXPECT_LT(learned.mean_latency, fixed.mean_latency * 0.25);
    EXPECT_LT(learned.wasted_per_task, 1.5);
}

struct wave_result {
    double polls_per_task = 0;
    double p95_delay = 0;  // seconds, nearest rank
};

// bench/api_economy's CLB workload: `tasks` submitted one per `spacing`, durations uniform over
// [lo, hi] s, the shipped polling policy (1 s, then 2 s x 1.5 up to 30 s, full jitter). Due polls
// wait in a queue (oldest due first) for a token of a bucket of `rate` tokens/s (burst: one
// second's worth) as the daemon's rate limiter makes them; rate 0: answered at once.
wave_result simulate_wave(bool censored, std::size_t tasks, duration spacing, double lo, double hi,
                          unsigned seed, double rate = 0) {
    scheduler_options o;
    o.poll = {1s, 2s, 1.5, 30s, jitter_mode::full, 24h};
    o.learning.censored = censored;
    std::mt19937_64 gen(seed);
    std::uniform_real_distribution<double> dist(lo, hi), unit(0.0, 1.0);
    std::mt19937_64 jitter_gen(seed + 1);
    scheduler s(o, [&] { return unit(jitter_gen); });
    const auto p = s.profile({"lb", "RegisterInstancesWithLoadBalancer"});
    std::vector<time_point> done(tasks);
    std::vector<double> delays;
    std::size_t added = 0, polls = 0;
    time_point now = t0, filled = t0;
    double tokens = rate;
    std::deque<std::uint32_t> waiting;
    std::vector<scheduler::due_task> out;
    const auto poll = [&](std::uint32_t h) {
        ++polls;
        if (now >= done[h]) {
            delays.push_back(seconds(now - done[h]));
            s.complete(h, now);
        } else {
            s.on_running(h, now);
        }
    };
    while (delays.size() < tasks) {
        const time_point next_add =
            added < tasks ? t0 + spacing * static_cast<long>(added) : time_point::max();
        const auto due = s.next_due();
        time_point next_token = time_point::max();
        if (!waiting.empty())
            next_token = filled + from_seconds(std::max(0.0, 1.0 - tokens) / rate);
        const time_point next = std::min({next_add, due.value_or(time_point::max()), next_token});
        now = next;
        if (rate > 0) {
            tokens = std::min(rate, tokens + seconds(now - filled) * rate);
            filled = now;
        }
        if (next == next_add) {
            done[added] = now + from_seconds(dist(gen));
            s.add(static_cast<std::uint32_t>(added), p, now, now);
            ++added;
        } else if (due && next == *due) {
            out.clear();
            s.pop_due(now, 1000, out);
            for (auto d : out) {
                if (rate > 0)
                    waiting.push_back(d.handle);
                else
                    poll(d.handle);
            }
        }
        while (!waiting.empty() && tokens >= 1.0 - 1e-9) {
            tokens -= 1;
            const auto h = waiting.front();
            waiting.pop_front();
            poll(h);
        }
    }
    std::sort(delays.begin(), delays.end());
    const std::size_t rank = static_cast<std::size_t>(std::ceil(0.95 * double(tasks)));
    return {double(polls) / double(tasks), delays[rank - 1]};
}

TEST(Learning, censored_running_tasks_make_a_wave_cheaper) {
    const auto completions = simulate_wave(false, 1000, 50ms, 1, 30, 3);
    const auto censored = simulate_wave(true, 1000, 50ms, 1, 30, 3);
    std::printf(
        "wave of 1000, U[1, 30] s, 20/s: completions only %.2f polls/task, p95 %.2f s; "
        "censored %.2f polls/task, p95 %.2f s\n",
        completions.polls_per_task, completions.p95_delay, censored.polls_per_task,
        censored.p95_delay);
    // Measured (seeds fixed): completions only 3.95 polls/task, p95 7.36 s; censored 3.00, 9.11 s.
    // bench/poll_bound.py: no schedule needs fewer than 2.33 polls/task at a p95 of 7.36 s, or
    // 1.97 at 9.11 s. Completions only, 7.14 polls/task before each rung was polled once.
    EXPECT_LT(censored.polls_per_task, completions.polls_per_task * 0.85);
    EXPECT_LT(censored.p95_delay, 10.0);
    // With the shipped 20/s limit the token bucket, not the schedule, sets the calls: ~1.62
    // polls/task (20/s over the ~81 s the wave lasts) and a p95 of ~22 s either way
    // (docs/performance.md, API economy).
    const auto limited_c = simulate_wave(false, 1000, 50ms, 1, 30, 3, 20);
    const auto limited = simulate_wave(true, 1000, 50ms, 1, 30, 3, 20);
    std::printf(
        "the same at 20 polls/s: completions only %.2f polls/task, p95 %.2f s; "
        "censored %.2f polls/task, p95 %.2f s\n",
        limited_c.polls_per_task, limited_c.p95_delay, limited.polls_per_task, limited.p95_delay);
}

TEST(Learning, follows_an_action_that_becomes_slower) {
    scheduler s(base_options(true), {});
    const auto p = s.profile({"lb", "X"});
    std::uint32_t h = 0;
    for (int i = 0; i < 500; ++i, ++h) {
        s.add(h, p, t0, t0);
        s.complete(h, t0 + 4s);  // 2 s
    }
    EXPECT_NEAR(seconds(s.learned_ladder(p)[1]), 2, 0.3);
    for (int i = 0; i < 3000; ++i, ++h) {
        s.add(h, p, t0, t0);
        s.complete(h, t0 + 40s);  // 20 s
    }
    EXPECT_NEAR(seconds(s.learned_ladder(p)[1]), 20, 3);
}

TEST(Learning, learned_polls_never_pass_the_deadline) {
    scheduler s(base_options(true), {});
    const auto p = s.profile({"lb", "X"});
    for (std::uint32_t h = 0; h < 50; ++h) {
        s.add(h, p, t0, t0);
        s.complete(h, t0 + 120s);  // ~60 s
    }
    s.add(1000, p, t0, t0, t0 + 20s);
    EXPECT_EQ(*s.next_due(), t0 + 20s);
    std::vector<scheduler::due_task> out;
    s.pop_due(t0 + 20s, 10, out);
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].why, scheduler::due_task::reason::deadline);
}

TEST(Learning, disabled_learning_keeps_the_static_policy) {
    scheduler s(base_options(false), {});
    const auto p = s.profile({"lb", "X"});
    for (std::uint32_t h = 0; h < 100; ++h) {
        s.add(h, p, t0, t0);
        s.complete(h, t0 + 60s);
    }
    EXPECT_TRUE(s.learned_ladder(p).empty());
    s.add(1000, p, t0, t0);
    EXPECT_EQ(*s.next_due(), t0 + 1s);
}

}  // namespace
}  // namespace taskpoller::engine
