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

poller_options options() {
    poller_options o;
    o.schedule.poll = {1s, 1s, 2.0, 8s, jitter_mode::none, 1h};
    o.schedule.learning.enabled = false;
    o.max_inflight = 3;
    o.default_rate = 2;  // the poll actions' limit, 2 tokens a second, burst 2
    return o;
}

struct DispatchFixture : ::testing::Test {
    explicit DispatchFixture(const poller_options& o)
        : ps{reg, limiter, clock, o, core::logger{}} {}
    core::manual_clock clock;
    registry reg;
    rate_limiter limiter;
    poll_state ps;
    dispatcher d{ps};
    std::vector<poll_call> calls;
    std::vector<task_write> writes;

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

struct Dispatch : DispatchFixture {
    Dispatch() : DispatchFixture(options()) {}
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
    EXPECT_TRUE(ps.polling(late));
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

// The loop is woken for a batch of tokens, not one at a time (poller_options::token_batch), and
// never twice within a tick (poller_options::wake_tick).
poller_options batch_options(std::size_t max_inflight) {
    auto o = options();
    o.max_inflight = max_inflight;
    o.default_rate = 20;  // burst 20
    return o;
}

struct DispatchBatches : DispatchFixture {
    DispatchBatches() : DispatchFixture(batch_options(64)) {}
};
struct DispatchFewSlots : DispatchFixture {
    DispatchFewSlots() : DispatchFixture(batch_options(22)) {}
};

TEST_F(DispatchBatches, a_waiting_queue_wakes_the_loop_for_a_batch_of_tokens) {
    for (int i = 0; i < 40; ++i) add("lb", i);
    clock.advance(1s);
    step();
    ASSERT_EQ(calls.size(), 20u);  // the burst
    for (int i = 0; i < 20; ++i) d.finished();
    // 20 left waiting: wake when 250 ms of the rate (5 tokens) is there, not after 50 ms.
    auto wake = d.next_wake(clock.steady_now());
    ASSERT_TRUE(wake);
    EXPECT_NEAR(seconds(*wake - clock.steady_now()), 0.25, 1e-6);
    clock.advance(250ms);
    step();
    EXPECT_EQ(calls.size(), 5u);
    for (int i = 0; i < 5; ++i) d.finished();
    // 750 ms later the 15 left go at once.
    clock.advance(750ms);
    step();
    ASSERT_EQ(calls.size(), 15u);
    for (int i = 0; i < 15; ++i) d.finished();
    EXPECT_EQ(d.waiting(), 0u);
}

TEST_F(DispatchFewSlots, the_batch_is_capped_by_the_free_call_slots) {
    for (int i = 0; i < 40; ++i) add("lb", i);
    clock.advance(1s);
    step();
    ASSERT_EQ(calls.size(), 20u);
    // 2 slots free: a batch of 5 could not be sent at once; wake for 2 tokens (100 ms).
    auto wake = d.next_wake(clock.steady_now());
    ASSERT_TRUE(wake);
    EXPECT_NEAR(seconds(*wake - clock.steady_now()), 0.10, 1e-6);
}

TEST_F(DispatchBatches, the_loop_wakes_at_most_once_a_tick_for_due_tasks) {
    add("lb", 1);
    clock.advance(1s);
    step();
    ASSERT_EQ(calls.size(), 1u);
    d.finished();
    ps.apply(calls[0].handles[0], task_poll_answer{});  // running: due again in 1 s
    clock.advance(999500us);
    step();
    EXPECT_TRUE(calls.empty());
    auto wake = d.next_wake(clock.steady_now());
    ASSERT_TRUE(wake);
    EXPECT_EQ(*wake, clock.steady_now() + 2ms);  // not 0.5 ms: the tick
}

}  // namespace
}  // namespace taskpoller::engine::detail
