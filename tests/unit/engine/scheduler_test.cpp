#include "engine/scheduler.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <memory>
#include <random>
#include <set>

namespace taskpoller::engine {
namespace {

using namespace std::chrono_literals;
using due_task = scheduler::due_task;
const time_point t0 = time_point(std::chrono::hours(100));

scheduler_options static_options(jitter_mode j = jitter_mode::none) {
    scheduler_options o;
    o.poll = {1s, 1s, 2.0, 8s, j, 1h};
    o.retry = {500ms, 2.0, 4s, jitter_mode::none};
    o.learning.enabled = false;
    return o;
}

random_source seeded(unsigned seed) {
    auto gen = std::make_shared<std::mt19937_64>(seed);
    return [gen] { return std::uniform_real_distribution<double>(0, 1)(*gen); };
}

std::vector<due_task> pop(scheduler& s, time_point now, std::size_t max = 1000) {
    std::vector<due_task> out;
    s.pop_due(now, max, out);
    return out;
}

// Records live in a vector indexed by handle: a freed slot must come back clean when the poller
// reuses the handle, and a stale heap entry of the old task must never surface for the new one.
TEST(Scheduler, reused_handles_start_fresh) {
    scheduler s(static_options(), {});
    const auto p = s.profile({"lb", "DeleteLoadBalancers"});
    for (std::uint32_t h = 0; h < 10; ++h) ASSERT_TRUE(s.add(h, p, t0, t0));
    EXPECT_EQ(s.size(), 10u);
    EXPECT_FALSE(s.add(3, p, t0, t0));  // already tracked
    EXPECT_EQ(s.on_missing(4, t0), 1u);
    EXPECT_TRUE(s.on_resign_retry(4, t0));
    EXPECT_TRUE(s.remove(4));
    EXPECT_FALSE(s.contains(4));
    EXPECT_FALSE(s.remove(4));
    EXPECT_EQ(s.history(4).consecutive_missing, 0u);
    EXPECT_FALSE(s.last_seen(4).has_value());
    EXPECT_TRUE(s.complete(5, t0 + 500ms, false) == std::nullopt);
    EXPECT_FALSE(s.contains(5));
    EXPECT_EQ(s.size(), 8u);
    // Reused, submitted later: due 1 s after its own submission, with a clean history.
    ASSERT_TRUE(s.add(4, p, t0 + 10s, t0 + 10s));
    EXPECT_EQ(s.history(4).consecutive_missing, 0u);
    EXPECT_FALSE(s.history(4).last_was_resign);
    EXPECT_EQ(s.last_seen(4), t0 + 10s);
    auto first = pop(s, t0 + 1s);
    std::set<std::uint32_t> seen;
    for (auto d : first) {
        EXPECT_EQ(d.why, due_task::reason::poll);
        EXPECT_TRUE(seen.insert(d.handle).second) << "handle " << d.handle << " twice";
    }
    EXPECT_EQ(seen, (std::set<std::uint32_t>{0, 1, 2, 3, 6, 7, 8, 9}));
    auto later = pop(s, t0 + 11s);
    std::set<std::uint32_t> later_handles;
    for (auto d : later) later_handles.insert(d.handle);
    EXPECT_TRUE(later_handles.contains(4));
    EXPECT_FALSE(later_handles.contains(5));
    // A handle far beyond the others grows the table; the ones below stay untracked.
    ASSERT_TRUE(s.add(1000, p, t0, t0));
    EXPECT_TRUE(s.contains(1000));
    EXPECT_FALSE(s.contains(999));
    EXPECT_FALSE(s.remove(500));
    EXPECT_EQ(s.size(), 10u);
}

TEST(Scheduler, static_backoff_sequence_without_jitter) {
    scheduler s(static_options(), {});
    const auto p = s.profile({"lb", "DeleteLoadBalancers"});
    ASSERT_TRUE(s.add(7, p, t0, t0));
    time_point now = t0;
    const double gaps[] = {1, 1, 2, 4, 8, 8, 8};  // initial delay, then 1·2^n capped at 8
    for (double g : gaps) {
        auto due = s.next_due();
        ASSERT_TRUE(due.has_value());
        EXPECT_NEAR(seconds(*due - now), g, 1e-9);
        now = *due;
        EXPECT_TRUE(pop(s, now - 1ms).empty());  // not due a moment before
        auto got = pop(s, now);
        ASSERT_EQ(got.size(), 1u);
        EXPECT_EQ(got[0].handle, 7u);
        EXPECT_EQ(got[0].why, due_task::reason::poll);
        EXPECT_FALSE(s.next_due().has_value());  // in flight: no due time until answered
        s.on_running(7, now);
    }
}

TEST(Scheduler, full_jitter_stays_within_bounds_over_many_seeds) {
    for (unsigned seed = 1; seed <= 200; ++seed) {
        scheduler s(static_options(jitter_mode::full), seeded(seed));
        const auto p = s.profile({"lb", "X"});
        s.add(1, p, t0, t0);
        time_point now = *s.next_due();
        EXPECT_EQ(now, t0 + 1s);  // the initial delay is not jittered
        pop(s, now);
        std::set<std::int64_t> distinct;
        for (std::uint32_t n = 0; n < 10; ++n) {
            s.on_running(1, now);
            const time_point due = *s.next_due();
            const double ceiling = std::min(8.0, std::pow(2.0, n));
            ASSERT_GE(due, now + 100ms) << "seed " << seed;  // min_gap
            ASSERT_LE(seconds(due - now), ceiling + 1e-9) << "seed " << seed << " step " << n;
            distinct.insert((due - now).count());
            now = due;
            pop(s, now);
        }
        EXPECT_GT(distinct.size(), 5u) << "jitter does not vary, seed " << seed;
    }
}

TEST(Scheduler, full_jitter_near_zero_still_keeps_the_minimum_gap) {
    scheduler s(static_options(jitter_mode::full), [] { return 0.0; });
    const auto p = s.profile({"lb", "X"});
    s.add(1, p, t0, t0);
    pop(s, t0 + 1s);
    s.on_running(1, t0 + 1s);
    EXPECT_EQ(*s.next_due(), t0 + 1100ms);
}

TEST(Scheduler, deadline_hands_the_task_out_once_as_timed_out) {
    scheduler s(static_options(), {});
    const auto p = s.profile({"lb", "X"});
    s.add(1, p, t0, t0, t0 + 2500ms);
    time_point now = t0;
    std::vector<due_task> seen;
    while (auto due = s.next_due()) {
        now = *due;
        for (auto d : pop(s, now)) {
            seen.push_back(d);
            if (d.why == due_task::reason::poll) s.on_running(d.handle, now);
        }
    }
    // Polls at 1 s and 2 s; the next (3 s) is capped at the 2.5 s deadline.
    ASSERT_EQ(seen.size(), 3u);
    EXPECT_EQ(seen[2].why, due_task::reason::deadline);
    EXPECT_EQ(now, t0 + 2500ms);
    EXPECT_FALSE(s.contains(1));
    EXPECT_EQ(s.size(), 0u);
}

TEST(Scheduler, default_deadline_is_submission_plus_timeout_and_late_pops_expire) {
    auto o = static_options();
    o.poll.timeout = 10s;
    scheduler s(o, {});
    const auto p = s.profile({"lb", "X"});
    s.add(1, p, t0, t0);
    // The poller was busy: it pops the 1 s poll only after the deadline.
    auto got = pop(s, t0 + 11s);
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0].why, due_task::reason::deadline);
    // A task in flight when its deadline passes is handed out as expired next.
    s.add(2, p, t0, t0);
    ASSERT_EQ(pop(s, t0 + 9s).size(), 1u);
    s.on_running(2, t0 + 10500ms);
    got = pop(s, t0 + 10500ms);
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0].why, due_task::reason::deadline);
}

TEST(Scheduler, request_retries_use_their_own_backoff_and_keep_the_poll_step) {
    scheduler s(static_options(), {});
    const auto p = s.profile({"lb", "X"});
    s.add(1, p, t0, t0);
    time_point now = t0 + 1s;
    pop(s, now);
    s.on_running(1, now);  // poll step 0 → next in 1 s
    now = *s.next_due();
    pop(s, now);
    for (double expected : {0.5, 1.0, 2.0, 4.0, 4.0}) {  // retry backoff, capped at 4 s
        s.on_retry(1, now);
        EXPECT_NEAR(seconds(*s.next_due() - now), expected, 1e-9);
        now = *s.next_due();
        pop(s, now);
    }
    s.on_running(1, now);  // poll step 1 → 2 s, unaffected by the retries
    EXPECT_NEAR(seconds(*s.next_due() - now), 2.0, 1e-9);
    now = *s.next_due();
    pop(s, now);
    s.on_retry(1, now);  // a success reset the retry count
    EXPECT_NEAR(seconds(*s.next_due() - now), 0.5, 1e-9);
}

// A reload or re-read credentials fix what stalled tasks (an account-wide error): they are
// polled at once, and only they.
TEST(Scheduler, wake_stalled_makes_only_the_stalled_tasks_due_now) {
    scheduler s(static_options(), {});
    const auto p = s.profile({"lb", "X"});
    s.add(1, p, t0, t0);
    s.add(2, p, t0, t0);
    s.add(3, p, t0, t0);
    time_point now = t0 + 1s;
    ASSERT_EQ(pop(s, now).size(), 3u);
    s.on_stall(1, now);
    s.on_stall(2, now);
    s.on_running(3, now);
    s.on_retry(2, now);            // no longer stalled: a later failure was an ordinary one
    const auto later = now + 1ms;  // before any of them is due by its own schedule
    EXPECT_EQ(s.wake_stalled(later), 1u);
    auto due = pop(s, later);
    ASSERT_EQ(due.size(), 1u);
    EXPECT_EQ(due[0].handle, 1u);
    EXPECT_EQ(s.wake_stalled(later), 0u);  // woken once: due, no longer stalled
    s.remove(1);
    EXPECT_EQ(s.wake_stalled(later), 0u);
}

TEST(Scheduler, stall_resign_and_missing_bookkeeping) {
    scheduler s(static_options(), {});
    const auto p = s.profile({"lb", "X"});
    s.add(1, p, t0, t0);
    time_point now = t0 + 1s;
    pop(s, now);
    s.on_stall(1, now);
    EXPECT_EQ(*s.next_due(), now + 4s);
    pop(s, now + 4s);
    now += 4s;
    s.on_resign_retry(1, now);
    EXPECT_EQ(*s.next_due(), now);
    EXPECT_TRUE(s.history(1).last_was_resign);
    pop(s, now);
    EXPECT_EQ(s.on_missing(1, now), 1u);
    EXPECT_FALSE(s.history(1).last_was_resign);
    pop(s, *s.next_due());
    EXPECT_EQ(s.on_missing(1, now), 2u);
    EXPECT_EQ(s.history(1).consecutive_missing, 2u);
    pop(s, *s.next_due());
    s.on_running(1, now);
    EXPECT_EQ(s.history(1).consecutive_missing, 0u);
    EXPECT_EQ(s.history(99).consecutive_missing, 0u);
}

TEST(Scheduler, remove_and_reuse_of_a_handle) {
    scheduler s(static_options(), {});
    const auto p = s.profile({"lb", "X"});
    EXPECT_FALSE(s.add(1, p + 1, t0, t0));  // unknown profile
    ASSERT_TRUE(s.add(1, p, t0, t0));
    EXPECT_FALSE(s.add(1, p, t0, t0));  // already tracked
    ASSERT_TRUE(s.add(2, p, t0, t0 + 500ms));
    EXPECT_TRUE(s.remove(1));
    EXPECT_FALSE(s.remove(1));
    EXPECT_FALSE(s.on_running(1, t0));
    EXPECT_FALSE(s.on_retry(1, t0));
    EXPECT_EQ(s.on_missing(1, t0), 0u);
    EXPECT_FALSE(s.complete(1, t0).has_value());
    ASSERT_TRUE(s.add(1, p, t0 + 200ms, t0 + 200ms));  // handle reused: one entry only
    auto got = pop(s, t0 + 10s);
    ASSERT_EQ(got.size(), 2u);
    EXPECT_EQ(got[0].handle, 2u);  // due 1 s
    EXPECT_EQ(got[1].handle, 1u);  // due 1.2 s
    EXPECT_FALSE(s.next_due().has_value());
}

TEST(Scheduler, many_removals_compact_the_heap_without_losing_tasks) {
    scheduler s(static_options(), {});
    const auto p = s.profile({"lb", "X"});
    for (std::uint32_t h = 0; h < 20000; ++h) s.add(h, p, t0, t0 + std::chrono::milliseconds(h));
    for (std::uint32_t h = 0; h < 20000; ++h)
        if (h % 10 != 0) s.remove(h);
    EXPECT_EQ(s.size(), 2000u);
    std::vector<due_task> out;
    EXPECT_EQ(s.pop_due(t0 + 1h, 100000, out), 2000u);
    for (std::size_t i = 0; i < out.size(); ++i) EXPECT_EQ(out[i].handle, i * 10);
}

TEST(Scheduler, oldest_due_first_with_10k_tasks_nobody_starves) {
    // 10 000 tasks polled every second but only 5 000 polls/s of capacity: overloaded twice.
    auto o = static_options();
    o.poll = {0s, 1s, 1.0, 1s, jitter_mode::none, 24h};
    scheduler s(o, {});
    const auto p = s.profile({"lb", "X"});
    constexpr std::uint32_t n = 10000;
    for (std::uint32_t h = 0; h < n; ++h)
        s.add(h, p, t0 + std::chrono::microseconds(h * 97 % 1000000), t0);
    std::vector<int> polls(n, 0);
    std::vector<due_task> out;
    time_point now = t0;
    for (int tick = 0; tick < 6000; ++tick) {  // 60 s in 10 ms ticks, 50 polls per tick
        now += 10ms;
        out.clear();
        s.pop_due(now, 50, out);
        for (auto d : out) {
            ++polls[d.handle];
            s.on_running(d.handle, now);
        }
    }
    const auto [mn, mx] = std::minmax_element(polls.begin(), polls.end());
    EXPECT_GE(*mn, 29);       // 300 000 polls shared by 10 000 tasks: 30 each
    EXPECT_LE(*mx - *mn, 1);  // and shared evenly
}

TEST(Scheduler, pops_come_out_in_due_order_then_handle_order) {
    scheduler s(static_options(), {});
    const auto p = s.profile({"lb", "X"});
    std::mt19937 gen(42);
    std::map<std::uint32_t, time_point> due;
    for (std::uint32_t h = 0; h < 10000; ++h) {
        const auto sub = t0 + std::chrono::milliseconds(gen() % 5000);
        s.add(h, p, sub, t0);
        due[h] = sub + 1s;
    }
    std::vector<due_task> out;
    s.pop_due(t0 + 1h, 100000, out);
    ASSERT_EQ(out.size(), 10000u);
    for (std::size_t i = 1; i < out.size(); ++i) {
        const auto a = out[i - 1].handle, b = out[i].handle;
        ASSERT_TRUE(due[a] < due[b] || (due[a] == due[b] && a < b)) << i;
    }
}

TEST(Scheduler, complete_estimates_the_finishing_time) {
    scheduler s(static_options(), {});
    const auto p = s.profile({"lb", "X"});
    s.add(1, p, t0, t0);
    pop(s, t0 + 1s);
    auto est = s.complete(1, t0 + 1s);  // never seen running: half its age
    ASSERT_TRUE(est.has_value());
    EXPECT_NEAR(seconds(*est), 0.5, 1e-6);
    s.add(2, p, t0, t0);
    pop(s, t0 + 4s);
    s.on_running(2, t0 + 4s);
    est = s.complete(2, t0 + 9s);  // finished between 4 s and 9 s: geometric middle 6 s
    EXPECT_NEAR(seconds(*est), 6.0, 1e-3);
    EXPECT_EQ(s.histogram(p).observations(), 2u);
    s.add(3, p, t0, t0);
    EXPECT_FALSE(s.complete(3, t0 + 2s, false).has_value());
    EXPECT_EQ(s.histogram(p).observations(), 2u);
    EXPECT_FALSE(s.next_due().has_value());
}

// Shared calls (CVM riders): the gap is divided by the number of tasks sharing a call, down to
// `interval`, never later than the task's own schedule.
TEST(Scheduler, shared_calls_divide_the_gap_down_to_the_interval) {
    scheduler s(static_options(), {});  // initial 1 s, then 1, 2, 4, 8, 8 s
    const auto p = s.profile({"cvm", "StopInstances"});
    ASSERT_TRUE(s.add(1, p, t0, t0, std::nullopt, 4));
    time_point now = t0;
    // Own gaps 1, 1, 2, 4, 8, 8 → /4 = .25, .25, .5, 1, 2, 2 → at least interval (1 s).
    const double gaps[] = {1, 1, 1, 1, 2, 2};
    for (double g : gaps) {
        auto due = s.next_due();
        ASSERT_TRUE(due.has_value());
        EXPECT_NEAR(seconds(*due - now), g, 1e-9);
        now = *due;
        ASSERT_EQ(pop(s, now).size(), 1u);
        s.on_running(1, now, 4);
    }
}

TEST(Scheduler, a_share_of_one_keeps_the_own_schedule_and_a_share_polls_as_often_or_more) {
    scheduler solo(static_options(), {}), shared(static_options(), {});
    const auto p1 = solo.profile({"cvm", "StopInstances"});
    const auto p2 = shared.profile({"cvm", "StopInstances"});
    ASSERT_TRUE(solo.add(1, p1, t0, t0));
    ASSERT_TRUE(shared.add(1, p2, t0, t0, std::nullopt, 1000));
    time_point now = t0;
    for (int i = 0; i < 8; ++i) {
        auto a = solo.next_due(), b = shared.next_due();
        ASSERT_TRUE(a && b);
        EXPECT_LE(*b - now, *a - now);
        EXPECT_GE(*b - now, std::min<duration>(*a - now, 1s));  // never below the interval
        now = *a;
        pop(solo, now);
        pop(shared, now);
        solo.on_running(1, now, 1);
        shared.on_running(1, now, 1000);
    }
}

TEST(Scheduler, shared_learned_ladder_polls_every_interval) {
    scheduler_options o = static_options();
    o.learning.enabled = true;
    scheduler s(o, {});
    const auto p = s.profile({"cvm", "StopInstances"});
    for (std::uint32_t h = 100; h < 140; ++h) {  // learn: about 40 s
        s.add(h, p, t0, t0);
        s.complete(h, t0 + 80s);
    }
    ASSERT_FALSE(s.learned_ladder(p).empty());
    const auto first_rung = s.learned_ladder(p).front();
    ASSERT_GT(first_rung, 20s);
    ASSERT_TRUE(s.add(1, p, t0, t0));
    ASSERT_TRUE(s.add(2, p, t0, t0, std::nullopt, 100));
    EXPECT_EQ(*s.next_due(), t0 + 1s);  // the shared one: interval, not the first rung
    ASSERT_EQ(pop(s, t0 + 1s).size(), 1u);
    s.on_running(2, t0 + 1s, 100);
    EXPECT_EQ(*s.next_due(), t0 + 2s);
    ASSERT_EQ(pop(s, t0 + 2s).size(), 1u);
    s.on_running(2, t0 + 2s, 100);
    ASSERT_EQ(pop(s, t0 + 3s).size(), 1u);
    EXPECT_EQ(*s.next_due(), t0 + first_rung);  // the solo one: the first rung
}

TEST(Scheduler, shared_polls_come_due_on_a_grid_of_the_interval) {
    scheduler s(static_options(), {});  // interval 1 s; t0 is a whole number of seconds
    const auto p = s.profile({"cvm", "StopInstances"});
    for (std::uint32_t h = 1; h <= 3; ++h) ASSERT_TRUE(s.add(h, p, t0, t0, std::nullopt, 50));
    pop(s, t0 + 1s);
    // Answers arrive at different moments; the next polls land on whole seconds, together.
    s.on_running(1, t0 + 1100ms, 50);
    s.on_running(2, t0 + 1400ms, 50);
    s.on_running(3, t0 + 1300ms, 50);
    // 1.1 + 1 → 2, 1.4 + 1 → 2, 1.3 + 1 → 2 (the nearest whole second).
    EXPECT_EQ(*s.next_due(), t0 + 2s);
    EXPECT_TRUE(pop(s, t0 + 1999ms).empty());
    EXPECT_EQ(pop(s, t0 + 2s).size(), 3u);
    // An answer late in the step rounds up, but stays at least half an interval away.
    s.on_running(1, t0 + 2600ms, 50);
    EXPECT_EQ(*s.next_due(), t0 + 4s);
}

TEST(Scheduler, shared_polls_are_never_closer_than_the_interval) {
    scheduler_options o = static_options();
    o.learning.enabled = true;
    scheduler s(o, {});
    const auto p = s.profile({"cvm", "StopInstances"});
    for (std::uint32_t h = 100; h < 140; ++h) {  // every sample 10 s: rungs 100 ms apart
        s.add(h, p, t0, t0);
        s.complete(h, t0 + 20s);
    }
    ASSERT_TRUE(s.add(1, p, t0, t0));
    ASSERT_TRUE(s.add(2, p, t0, t0, std::nullopt, 100));
    pop(s, t0 + 9s);
    s.on_running(1, t0 + 9900ms);
    s.on_running(2, t0 + 9900ms, 100);
    auto due = pop(s, t0 + 10500ms);
    ASSERT_EQ(due.size(), 1u);  // the solo task's next rung
    EXPECT_EQ(due[0].handle, 1u);
    EXPECT_EQ(*s.next_due(), t0 + 11s);  // the shared one: 9.9 s + 1 s, on the whole second
}

TEST(Scheduler, jitter_does_not_set_the_pace_of_shared_polls) {
    // A full-jitter draw may be ~0; divided among the tasks of a call it must not make them all
    // poll at once again: shared polls use the undrawn step.
    for (unsigned seed = 1; seed <= 50; ++seed) {
        scheduler s(static_options(jitter_mode::full), seeded(seed));
        const auto p = s.profile({"cvm", "StopInstances"});
        ASSERT_TRUE(s.add(1, p, t0, t0, std::nullopt, 100));
        time_point now = t0 + 1s;
        pop(s, now);
        for (int i = 0; i < 10; ++i) {
            s.on_running(1, now, 100);
            auto due = s.next_due();
            ASSERT_TRUE(due.has_value());
            EXPECT_EQ(*due - now, 1s) << "seed " << seed << " poll " << i;
            now = *due;
            pop(s, now);
        }
    }
}

TEST(Scheduler, last_seen_is_the_submission_then_the_last_running_answer) {
    scheduler s(static_options(), {});
    const auto p = s.profile({"cvm", "StopInstances"});
    EXPECT_FALSE(s.last_seen(1).has_value());
    ASSERT_TRUE(s.add(1, p, t0, t0 + 5s));
    EXPECT_EQ(*s.last_seen(1), t0);
    pop(s, t0 + 6s);
    s.on_running(1, t0 + 6s);
    EXPECT_EQ(*s.last_seen(1), t0 + 6s);
    pop(s, t0 + 7s);
    s.on_retry(1, t0 + 7s);  // a failed call saw nothing
    EXPECT_EQ(*s.last_seen(1), t0 + 6s);
}

}  // namespace
}  // namespace taskpoller::engine
