// The poller's dispatch decisions, I/O-free (engine/dispatcher.hpp): due tasks, rate-limit
// tokens, call slots, shared instance-state calls and deadlines, driven by a manual clock.
#include "engine/dispatcher.hpp"

#include <gtest/gtest.h>

#include <string>

#include "core/clock.hpp"
#include "engine/registry.hpp"

namespace taskpoller::engine::detail {
namespace {

using namespace std::chrono_literals;

struct Dispatch : ::testing::Test {
    core::manual_clock clock;
    registry reg;
    rate_limiter limiter;
    poll_state ps{reg, limiter, clock, options(), core::logger{}};
    dispatcher d{ps};
    std::vector<poll_call> calls;
    std::vector<task_write> writes;

    static poller_options options() {
        poller_options o;
        o.schedule.poll = {1s, 1s, 2.0, 8s, jitter_mode::none, 1h};
        o.schedule.learning.enabled = false;
        o.max_inflight = 3;
        o.default_rate = 2;  // the poll actions' limit, 2 tokens a second, burst 2
        return o;
    }
    std::uint32_t add(const std::string& service, int n, core::steady_time deadline = {},
                      const std::string& region = "ap-guangzhou") {
        track_request r;
        r.key = {service, std::to_string(n)};
        r.action = service == "cvm" ? "StopInstances" : "DeleteLoadBalancers";
        r.region = region;
        if (service == "cvm") r.resources = {"ins-" + std::to_string(n)};
        r.submitted = clock.steady_now();
        r.deadline = deadline == core::steady_time{} ? r.submitted + 1h : deadline;
        EXPECT_TRUE(ps.add(r));
        return *ps.handle_of(r.key);
    }
    void step() {
        calls.clear();
        writes.clear();
        d.step(clock.steady_now(), calls, writes);
    }
};

TEST_F(Dispatch, nothing_is_due_before_the_first_poll) {
    add("lb", 1);
    step();
    EXPECT_TRUE(calls.empty());
    EXPECT_EQ(d.next_wake(clock.steady_now()), clock.steady_now() + 1s);  // initial_delay
}

TEST_F(Dispatch, task_result_calls_wait_for_their_actions_tokens_oldest_first) {
    auto a = add("lb", 1), b = add("lb", 2), c = add("lb", 3);
    clock.advance(1s);
    step();
    // Burst 2: two calls now; the third waits in the ready queue, not in a call slot.
    ASSERT_EQ(calls.size(), 2u);
    EXPECT_EQ(calls[0].handles, std::vector<std::uint32_t>{a});
    EXPECT_EQ(calls[1].handles, std::vector<std::uint32_t>{b});
    EXPECT_FALSE(calls[0].instances);
    EXPECT_EQ(d.inflight(), 2u);
    EXPECT_EQ(d.waiting(), 1u);
    // The loop wakes when the next token comes (2/s: half a second), not earlier.
    auto wake = d.next_wake(clock.steady_now());
    ASSERT_TRUE(wake);
    EXPECT_GT(*wake, clock.steady_now());
    EXPECT_LE(*wake, clock.steady_now() + 500ms);
    clock.advance(500ms);
    step();
    ASSERT_EQ(calls.size(), 1u);
    EXPECT_EQ(calls[0].handles, std::vector<std::uint32_t>{c});
    EXPECT_EQ(d.waiting(), 0u);
}

TEST_F(Dispatch, call_slots_bound_the_calls_in_flight_and_a_freed_slot_wakes_the_loop) {
    limiter.configure({"lb", "DescribeLoadBalancersTaskResult"}, 1000, clock.steady_now());
    for (int i = 0; i < 5; ++i) add("lb", i);
    clock.advance(1s);
    step();
    EXPECT_EQ(calls.size(), 3u);                               // max_inflight
    EXPECT_EQ(d.next_wake(clock.steady_now()), std::nullopt);  // only a finished call can help
    EXPECT_TRUE(d.finished());                                 // was full: wake the loop
    step();
    EXPECT_EQ(calls.size(), 1u);
    EXPECT_TRUE(d.finished());
    EXPECT_TRUE(d.finished() == false);  // 1 in flight of 3: not full before this one ended
    step();
    EXPECT_EQ(calls.size(), 1u);
    EXPECT_EQ(d.inflight(), 2u);
}

TEST_F(Dispatch, a_task_cancelled_while_waiting_for_a_token_is_never_polled) {
    add("lb", 1);
    add("lb", 2);
    add("lb", 3);
    clock.advance(1s);
    step();
    ASSERT_EQ(d.waiting(), 1u);
    ASSERT_TRUE(ps.remove_key({"lb", "3"}));
    clock.advance(1s);
    step();
    EXPECT_TRUE(calls.empty());
    EXPECT_EQ(d.waiting(), 0u);
}

TEST_F(Dispatch, due_instance_tasks_of_a_region_share_one_call_with_riders) {
    auto a = add("cvm", 1), b = add("cvm", 2);
    auto other = add("cvm", 3, {}, "ap-shanghai");
    clock.advance(1s);
    auto late = add("cvm", 4);  // not due yet: rides along
    step();
    ASSERT_EQ(calls.size(), 2u);  // one call per region
    const auto& gz = calls[0].region == ps.find(a)->region ? calls[0] : calls[1];
    const auto& sh = calls[0].region == ps.find(a)->region ? calls[1] : calls[0];
    EXPECT_TRUE(gz.instances);
    EXPECT_EQ(gz.handles, (std::vector<std::uint32_t>{a, b, late}));
    EXPECT_EQ(sh.handles, std::vector<std::uint32_t>{other});
    EXPECT_EQ(ps.service_name(gz.service), "cvm");
    EXPECT_TRUE(ps.find(late)->polling);
    // While the call is in flight, a rider that comes due is not polled again.
    clock.advance(1s);
    step();
    EXPECT_TRUE(calls.empty());
}

TEST_F(Dispatch, a_task_past_its_deadline_is_expired_not_polled) {
    auto h = add("lb", 1, clock.steady_now() + 500ms);
    clock.advance(600ms);
    step();
    EXPECT_TRUE(calls.empty());
    ASSERT_EQ(writes.size(), 1u);
    EXPECT_EQ(writes[0].what, task_write::kind::timed_out);
    EXPECT_EQ(writes[0].key, (core::task_key{"lb", "1"}));
    EXPECT_EQ(ps.find(h), nullptr);
}

}  // namespace
}  // namespace taskpoller::engine::detail
