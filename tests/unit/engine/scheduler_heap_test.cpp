// The scheduler's queue (an indexed 4-ary heap: each record knows its entry's position) against a
// reference: a std::set of (due, handle). Random adds, removals, completions, re-queues of queued
// and popped tasks to earlier and later times, stalls, wake-ups and pops of random sizes must give
// the same next_due() and the same pops, in the same order, with the same reasons.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <utility>
#include <vector>

#include "engine/scheduler.hpp"

namespace taskpoller::engine {
namespace {

using namespace std::chrono_literals;
using due_task = scheduler::due_task;
const time_point t0 = time_point(std::chrono::hours(100));

scheduler_options options() {
    scheduler_options o;
    o.poll = {1s, 1s, 2.0, 8s, jitter_mode::none, 1h};
    o.retry = {500ms, 2.0, 4s, jitter_mode::none};
    o.learning.enabled = false;
    o.learning.censored = false;
    return o;
}

// What the scheduler should hold: each tracked task's due time (nullopt while popped), its
// deadline, and whether it is stalled.
struct reference {
    struct task {
        std::optional<time_point> due;
        time_point deadline;
        bool stalled = false;
    };
    std::map<std::uint32_t, task> tasks;
    std::set<std::pair<time_point, std::uint32_t>> queue;

    void set_due(std::uint32_t h, time_point due) {
        auto& t = tasks.at(h);
        if (t.due) queue.erase({*t.due, h});
        t.due = std::min(due, t.deadline);
        t.stalled = false;
        queue.insert({*t.due, h});
    }
    void forget(std::uint32_t h) {
        auto& t = tasks.at(h);
        if (t.due) queue.erase({*t.due, h});
        tasks.erase(h);
    }
    std::optional<time_point> next_due() const {
        if (queue.empty()) return std::nullopt;
        return queue.begin()->first;
    }
    std::vector<due_task> pop(time_point now, std::size_t max) {
        std::vector<due_task> out;
        while (out.size() < max && !queue.empty() && queue.begin()->first <= now) {
            const auto h = queue.begin()->second;
            queue.erase(queue.begin());
            auto& t = tasks.at(h);
            t.due.reset();
            if (now >= t.deadline) {
                out.push_back({h, due_task::reason::deadline});
                tasks.erase(h);
            } else {
                out.push_back({h, due_task::reason::poll});
            }
        }
        return out;
    }
};

void run_against_reference(unsigned seed, std::uint32_t handles, int steps) {
    scheduler s(options(), {});
    const auto p = s.profile({"lb", "X"});
    reference ref;
    std::mt19937 gen(seed);
    auto pick = [&](std::uint32_t n) { return static_cast<std::uint32_t>(gen() % n); };
    time_point now = t0;
    std::size_t pops = 0, requeued_while_queued = 0, max_queued = 0;
    for (int step = 0; step < steps; ++step) {
        const auto op = pick(100);
        std::uint32_t h = pick(handles);
        if (op >= 30 && pick(4) != 0 && !ref.tasks.empty()) {
            // Mostly a tracked task (the next one from h on): with many handles, a random one
            // is seldom tracked.
            auto it = ref.tasks.lower_bound(h);
            h = (it == ref.tasks.end() ? ref.tasks.begin() : it)->first;
        }
        const bool tracked = ref.tasks.contains(h);
        if (op < 30) {
            // add: due 1 s after submission (initial_delay), the deadline 2 s to 10 min after
            // it; submitted up to 5 s ago (some are due at once).
            const auto submitted = now - std::chrono::milliseconds(pick(5000));
            const auto deadline = submitted + std::chrono::milliseconds(2000 + pick(598'000));
            ASSERT_EQ(s.add(h, p, submitted, now, deadline), !tracked) << step;
            if (!tracked) {
                ref.tasks[h] = {std::nullopt, deadline, false};
                ref.set_due(h, submitted + 1s);
            }
        } else if (op < 45) {
            // a re-sign retry: due exactly at the given time, earlier or later than before;
            // queued tasks move in the heap, popped ones go back in.
            const auto at = now + std::chrono::milliseconds(pick(20'000)) - 5s;
            if (tracked && ref.tasks[h].due) ++requeued_while_queued;
            ASSERT_EQ(s.on_resign_retry(h, at), tracked) << step;
            if (tracked) ref.set_due(h, at);
        } else if (op < 50) {
            ASSERT_EQ(s.on_stall(h, now), tracked) << step;  // due after retry.max
            if (tracked) {
                ref.set_due(h, now + 4s);
                ref.tasks[h].stalled = true;
            }
        } else if (op < 52) {
            std::size_t stalled = 0;
            for (auto& [x, t] : ref.tasks) {
                if (!t.stalled) continue;
                ref.set_due(x, now);
                ++stalled;
            }
            ASSERT_EQ(s.wake_stalled(now), stalled) << step;
        } else if (op < 56) {
            ASSERT_EQ(s.remove(h), tracked) << step;
            if (tracked) ref.forget(h);
        } else if (op < 59) {
            ASSERT_EQ(s.complete(h, now, false).has_value(), false) << step;
            ASSERT_EQ(s.contains(h), false) << step;
            if (tracked) ref.forget(h);
        } else if (op < 80) {
            now += std::chrono::milliseconds(pick(400));
        } else {
            const std::size_t max = 1 + pick(8);
            std::vector<due_task> got;
            s.pop_due(now, max, got);
            const auto want = ref.pop(now, max);
            ASSERT_EQ(got.size(), want.size()) << step;
            for (std::size_t i = 0; i < got.size(); ++i) {
                ASSERT_EQ(got[i].handle, want[i].handle) << step << " #" << i;
                ASSERT_EQ(got[i].why, want[i].why) << step << " #" << i;
            }
            pops += got.size();
            // Most popped tasks are answered at once (the rest stay out until a later op).
            for (const auto& d : got) {
                if (d.why != due_task::reason::poll || pick(4) == 0) continue;
                const auto at = now + std::chrono::milliseconds(pick(30'000));
                ASSERT_TRUE(s.on_resign_retry(d.handle, at)) << step;
                ref.set_due(d.handle, at);
            }
        }
        ASSERT_EQ(s.size(), ref.tasks.size()) << step;
        max_queued = std::max(max_queued, ref.queue.size());
        ASSERT_EQ(s.next_due(), ref.next_due()) << step;
    }
    // The run exercised what it is for.
    EXPECT_GT(pops, static_cast<std::size_t>(steps) / 20);
    EXPECT_GT(requeued_while_queued, static_cast<std::size_t>(steps) / 40);
    EXPECT_GT(max_queued, handles / 8);  // a heap several levels deep
    // Drained at the end: everything comes out in order.
    now += 2h;
    std::vector<due_task> got;
    s.pop_due(now, 1'000'000, got);
    const auto want = ref.pop(now, 1'000'000);
    ASSERT_EQ(got.size(), want.size());
    for (std::size_t i = 0; i < got.size(); ++i) ASSERT_EQ(got[i].handle, want[i].handle) << i;
    EXPECT_FALSE(s.next_due().has_value());
    // Left: the tasks popped and not answered yet (no due time until then).
    ASSERT_EQ(s.size(), ref.tasks.size());
    for (const auto& [h, t] : ref.tasks) {
        EXPECT_FALSE(t.due.has_value());
        EXPECT_TRUE(s.remove(h)) << h;
    }
    EXPECT_EQ(s.size(), 0u);
}

TEST(SchedulerHeap, matches_a_reference_queue_with_few_handles) {
    for (unsigned seed = 1; seed <= 20; ++seed) {
        SCOPED_TRACE(seed);
        run_against_reference(seed, 12, 5'000);
    }
}

TEST(SchedulerHeap, matches_a_reference_queue_with_many_handles) {
    for (unsigned seed = 100; seed < 103; ++seed) {
        SCOPED_TRACE(seed);
        run_against_reference(seed, 2'000, 60'000);
    }
}

}  // namespace
}  // namespace taskpoller::engine
