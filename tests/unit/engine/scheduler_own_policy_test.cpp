// A submission's own poll settings (core::poll_settings): the scheduler polls its tasks on the
// configured policy with those fields replaced, never on the learned ladder, and shares each
// distinct schedule by reference count.
#include <gtest/gtest.h>

#include <vector>

#include "engine/scheduler.hpp"

namespace taskpoller::engine {
namespace {

using namespace std::chrono_literals;
using due_task = scheduler::due_task;
const time_point t0 = time_point(std::chrono::hours(100));

scheduler_options options() {
    scheduler_options o;
    o.poll = {2s, 2s, 2.0, 16s, jitter_mode::none, 1h};
    o.retry = {500ms, 2.0, 4s, jitter_mode::none};
    o.learning.enabled = false;
    return o;
}

// Polls `h` (always "running") and returns the times it came due, until `until`.
std::vector<time_point> due_times(scheduler& s, scheduler::task_handle h, time_point until) {
    std::vector<time_point> out;
    while (auto next = s.next_due()) {
        if (*next > until) break;
        std::vector<due_task> popped;
        s.pop_due(*next, 100, popped);
        for (const auto& d : popped) {
            if (d.handle == h) out.push_back(*next);
            s.on_running(d.handle, *next);
        }
    }
    return out;
}

TEST(SchedulerOwnPolicy, own_fields_replace_the_configured_ones_the_rest_follow_it) {
    scheduler s(options(), {});
    const auto p = s.profile({"lb", "DeleteLoadBalancers"});
    core::poll_settings own;
    own.initial_delay = 500ms;
    own.interval = 1s;  // max_interval stays the configured 16 s, multiplier 2
    const auto pol = s.acquire_policy(own);
    ASSERT_TRUE(pol.has_value());
    EXPECT_NE(*pol, 0);
    EXPECT_EQ(s.policy(*pol).interval, 1s);
    EXPECT_EQ(s.policy(*pol).initial_delay, 500ms);
    EXPECT_EQ(s.policy(*pol).max_interval, 16s);
    ASSERT_TRUE(s.add(1, p, t0, t0, std::nullopt, 1, *pol));
    ASSERT_TRUE(s.add(2, p, t0, t0));  // the configured policy
    const auto own_times = due_times(s, 1, t0 + 40s);
    ASSERT_GE(own_times.size(), 5u);
    // 0.5 s, then 1, 2, 4, 8, 16, 16 s apart.
    EXPECT_EQ(own_times[0], t0 + 500ms);
    EXPECT_EQ(own_times[1], t0 + 1500ms);
    EXPECT_EQ(own_times[2], t0 + 3500ms);
    EXPECT_EQ(own_times[3], t0 + 7500ms);
    EXPECT_EQ(own_times[4], t0 + 15500ms);
}

TEST(SchedulerOwnPolicy, the_configured_policy_is_unchanged_for_other_tasks) {
    scheduler s(options(), {});
    const auto p = s.profile({"lb", "DeleteLoadBalancers"});
    core::poll_settings own;
    own.interval = 1s;
    ASSERT_TRUE(s.add(1, p, t0, t0, std::nullopt, 1, *s.acquire_policy(own)));
    ASSERT_TRUE(s.add(2, p, t0, t0));
    const auto times = due_times(s, 2, t0 + 20s);
    ASSERT_GE(times.size(), 3u);
    EXPECT_EQ(times[0], t0 + 2s);
    EXPECT_EQ(times[1], t0 + 4s);
    EXPECT_EQ(times[2], t0 + 8s);
}

TEST(SchedulerOwnPolicy, an_own_interval_above_the_configured_cap_raises_the_cap) {
    scheduler s(options(), {});
    core::poll_settings own;
    own.interval = 60s;
    const auto pol = s.acquire_policy(own);
    EXPECT_EQ(s.policy(*pol).interval, 60s);
    EXPECT_EQ(s.policy(*pol).max_interval, 60s);
    core::poll_settings low_cap;
    low_cap.max_interval = 1s;
    const auto capped = s.acquire_policy(low_cap);
    EXPECT_EQ(s.policy(*capped).max_interval, 1s);
    EXPECT_EQ(s.policy(*capped).interval, 1s);
}

TEST(SchedulerOwnPolicy, learning_does_not_place_own_schedules_but_learns_from_them) {
    auto o = options();
    o.learning.enabled = true;
    o.learning.min_samples = 5;
    scheduler s(o, {});
    const auto p = s.profile({"lb", "DeleteLoadBalancers"});
    // Teach the profile that tasks finish after ~30 s.
    for (std::uint32_t h = 0; h < 10; ++h) {
        ASSERT_TRUE(s.add(h, p, t0, t0));
        s.complete(h, t0 + 30s);
    }
    ASSERT_FALSE(s.learned_ladder(p).empty());
    const time_point t1 = t0 + 1min;
    ASSERT_TRUE(s.add(20, p, t1, t1));  // learned: first poll near the p30 of ~30 s
    core::poll_settings own;
    own.initial_delay = 1s;
    ASSERT_TRUE(s.add(21, p, t1, t1, std::nullopt, 1, *s.acquire_policy(own)));
    std::vector<due_task> popped;
    s.pop_due(t1 + 1s, 10, popped);
    ASSERT_EQ(popped.size(), 1u);  // only the own schedule is due after 1 s
    EXPECT_EQ(popped[0].handle, 21u);
    const double before = s.histogram(p).weight();
    s.complete(21, t1 + 2s);
    EXPECT_GT(s.histogram(p).weight(), before);  // its completion still teaches the profile
}

TEST(SchedulerOwnPolicy, distinct_schedules_are_shared_and_freed_with_their_last_task) {
    scheduler s(options(), {});
    const auto p = s.profile({"lb", "DeleteLoadBalancers"});
    core::poll_settings a;
    a.interval = 1s;
    core::poll_settings b;
    b.interval = 3s;
    const auto a1 = *s.acquire_policy(a);
    const auto a2 = *s.acquire_policy(a);
    const auto b1 = *s.acquire_policy(b);
    EXPECT_EQ(a1, a2);
    EXPECT_NE(a1, b1);
    EXPECT_EQ(*s.acquire_policy(core::poll_settings{}), 0);  // empty: the configured policy
    ASSERT_TRUE(s.add(1, p, t0, t0, std::nullopt, 1, a1));
    ASSERT_TRUE(s.add(2, p, t0, t0, std::nullopt, 1, a2));
    s.release_policy(b1);                                    // never added: returned
    EXPECT_FALSE(s.add(3, p, t0, t0, std::nullopt, 1, b1));  // a freed id is refused
    EXPECT_TRUE(s.remove(1));
    EXPECT_EQ(s.policy(a1).interval, 1s);  // task 2 still holds it
    EXPECT_TRUE(s.complete(2, t0 + 1s, false) == std::nullopt);
    // Both references gone: the id is free and comes back for the next distinct schedule.
    const auto again = *s.acquire_policy(b);
    EXPECT_TRUE(again == a1 || again == b1);
    EXPECT_EQ(s.policy(again).interval, 3s);
}

TEST(SchedulerOwnPolicy, deadline_expiry_returns_the_reference) {
    scheduler s(options(), {});
    const auto p = s.profile({"lb", "DeleteLoadBalancers"});
    core::poll_settings a;
    a.interval = 5s;
    const auto id = *s.acquire_policy(a);
    ASSERT_TRUE(s.add(1, p, t0, t0, t0 + 1s, 1, id));
    std::vector<due_task> popped;
    s.pop_due(t0 + 1s, 10, popped);
    ASSERT_EQ(popped.size(), 1u);
    EXPECT_EQ(popped[0].why, due_task::reason::deadline);
    core::poll_settings other;
    other.interval = 7s;
    EXPECT_EQ(*s.acquire_policy(other), id);  // the freed slot is reused
}

TEST(SchedulerOwnPolicy, a_reload_keeps_own_fields_and_takes_the_rest) {
    scheduler s(options(), {});
    core::poll_settings own;
    own.interval = 1s;
    const auto id = *s.acquire_policy(own);
    poll_policy reloaded{3s, 4s, 3.0, 60s, jitter_mode::none, 1h};
    s.set_policy(reloaded, {500ms, 2.0, 4s, jitter_mode::none});
    EXPECT_EQ(s.policy(id).interval, 1s);
    EXPECT_EQ(s.policy(id).initial_delay, 3s);
    EXPECT_EQ(s.policy(id).max_interval, 60s);
    EXPECT_EQ(s.policy(id).multiplier, 3.0);
    EXPECT_EQ(s.policy(0).interval, 4s);
}

TEST(SchedulerOwnPolicy, shared_cvm_calls_round_to_the_own_interval) {
    scheduler s(options(), {});
    const auto p = s.profile({"cvm", "StopInstances"});
    core::poll_settings own;
    own.initial_delay = 1s;
    own.interval = 1s;
    const auto id = *s.acquire_policy(own);
    ASSERT_TRUE(s.add(1, p, t0, t0, std::nullopt, 10, id));
    std::vector<due_task> popped;
    s.pop_due(t0 + 1s, 10, popped);
    ASSERT_EQ(popped.size(), 1u);
    s.on_running(1, t0 + 1s, 10);
    // The step is 1 s (its own interval), not the configured 2 s: due 1 s later.
    EXPECT_EQ(s.next_due(), t0 + 2s);
}

// A shared call may bring a configured task's first poll forward, never an own initial_delay.
TEST(SchedulerOwnPolicy, a_shared_call_keeps_the_own_initial_delay) {
    scheduler s(options(), {});
    const auto p = s.profile({"cvm", "StopInstances"});
    core::poll_settings own;
    own.initial_delay = 10s;
    own.interval = 1s;
    ASSERT_TRUE(s.add(1, p, t0, t0, std::nullopt, 10, *s.acquire_policy(own)));
    EXPECT_EQ(s.next_due(), t0 + 10s);
}

}  // namespace
}  // namespace taskpoller::engine

// Found by review: polling.min_interval is the floor of an own schedule's gaps, also with the
// (default) full jitter, which would otherwise draw gaps anywhere in [min_gap, interval].
namespace taskpoller::engine {
namespace {
TEST(SchedulerOwnPolicy, full_jitter_never_brings_an_own_schedule_below_its_floor) {
    auto o = options();
    o.poll.jitter = jitter_mode::full;   // the configured default
    scheduler s(o, [] { return 0.0; });  // a draw near zero (full jitter allows it)
    const auto p = s.profile({"lb", "DeleteLoadBalancers"});
    core::poll_settings own;  // all three at polling.min_interval's default, 1 s
    own.initial_delay = 1s;
    own.interval = 1s;
    own.max_interval = 1s;
    const auto id = *s.acquire_policy(own);
    ASSERT_TRUE(s.add(1, p, t0, t0, std::nullopt, 1, id));
    std::vector<due_task> popped;
    s.pop_due(t0 + 1s, 10, popped);
    ASSERT_EQ(popped.size(), 1u);
    s.on_running(1, t0 + 1s);
    // The next poll should not come sooner than the 1 s the caller was allowed to ask for.
    EXPECT_GE(*s.next_due(), t0 + 2s)
        << "next poll after " << (*s.next_due() - (t0 + 1s)).count() / 1'000'000 << " ms";
}
}  // namespace
}  // namespace taskpoller::engine

// REVIEW: random adds, removes, completions, deadline expiries and handle reuse keep every
// live task's schedule intact and leak no reference (all 65535 ids free again at the end).
#include <map>
#include <random>
namespace taskpoller::engine {
namespace {
TEST(SchedulerOwnPolicy, random_lifecycles_neither_leak_nor_reuse_a_live_policy) {
    scheduler s(options(), {});
    const auto p = s.profile({"lb", "DeleteLoadBalancers"});
    std::mt19937 rng(7);
    struct live_t {
        scheduler::policy_id id;
        std::chrono::milliseconds iv;
    };
    std::map<scheduler::task_handle, live_t> live;
    auto now = t0;
    for (int step = 0; step < 200000; ++step) {
        const auto h = static_cast<scheduler::task_handle>(rng() % 64);
        const int op = static_cast<int>(rng() % 5);
        if (op <= 1 && !live.count(h)) {
            core::poll_settings own;
            const auto iv = std::chrono::milliseconds{1000 + (rng() % 8) * 1000};
            if (rng() % 4) own.interval = iv;
            const auto id = *s.acquire_policy(own);
            const auto dl = now + std::chrono::seconds{1 + rng() % 5};
            ASSERT_TRUE(s.add(h, p, now, now, dl, 1, id));
            live[h] = {id, own.interval ? iv : std::chrono::milliseconds{0}};
        } else if (op == 2 && live.count(h)) {
            ASSERT_TRUE(s.remove(h));
            live.erase(h);
        } else if (op == 3 && live.count(h)) {
            s.complete(h, now, rng() % 2);
            live.erase(h);
        } else {
            now += std::chrono::milliseconds{rng() % 700};
            std::vector<due_task> popped;
            s.pop_due(now, 1000, popped);
            for (const auto& d : popped) {
                if (d.why == due_task::reason::deadline) {
                    live.erase(d.handle);
                } else {
                    s.on_running(d.handle, now);
                }
            }
        }
        for (const auto& [lh, l] : live) {
            ASSERT_TRUE(s.contains(lh));
            if (l.id != 0) {
                ASSERT_EQ(s.policy(l.id).interval, l.iv) << "step " << step;
            }
        }
    }
    for (const auto& [lh, l] : live) ASSERT_TRUE(s.remove(lh));
    for (int i = 0; i < 65535; ++i) {
        core::poll_settings own;
        own.initial_delay = std::chrono::milliseconds{100000 + i};
        ASSERT_TRUE(s.acquire_policy(own).has_value()) << "leaked references: only " << i;
    }
    core::poll_settings last;
    last.initial_delay = std::chrono::hours{30};
    EXPECT_FALSE(s.acquire_policy(last).has_value());
}
}  // namespace
}  // namespace taskpoller::engine
