// The poller's I/O-free half: which CVM tasks ride along in a shared DescribeInstances call, and
// how many tasks the scheduler is told share a call.
#include "engine/poll_state.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <limits>
#include <set>
#include <stdexcept>
#include <string>

#include "core/batch_id.hpp"
#include "core/clock.hpp"
#include "engine/registry.hpp"

namespace taskpoller::engine::detail {
namespace {

using namespace std::chrono_literals;

struct fixture {
    core::manual_clock clock;
    registry reg;
    rate_limiter limiter;
    poll_state ps{reg, limiter, clock, options(), core::logger{}};

    static poller_options options() {
        poller_options o;
        o.schedule.poll = {1s, 1s, 2.0, 8s, jitter_mode::none, 1h};
        o.schedule.learning.enabled = false;
        return o;
    }

    std::uint32_t add_cvm(int n, const std::string& region = "ap-guangzhou") {
        track_request r;
        r.key = {"cvm", std::to_string(1000 + n)};
        r.action = "StopInstances";
        r.region = region;
        r.resources = {"ins-" + std::to_string(n)};
        r.submitted = clock.steady_now();
        r.deadline = r.submitted + 1h;
        EXPECT_TRUE(ps.add(r));
        return *ps.handle_of(r.key);
    }
    track_request lb_request(std::string request_id, std::string region = "ap-guangzhou") {
        track_request r;
        r.key = {"lb", std::move(request_id)};
        r.action = "RegisterInstancesWithLoadBalancer";
        r.region = std::move(region);
        r.submitted = clock.steady_now();
        r.deadline = r.submitted + 1h;
        return r;
    }
    std::uint32_t add_lb(int n) {
        auto r = lb_request(std::to_string(5000 + n));
        EXPECT_TRUE(ps.add(r));
        return *ps.handle_of(r.key);
    }
};

TEST(PollState, riders_are_the_tasks_seen_longest_ago) {
    fixture f;
    std::vector<std::uint32_t> hs;
    for (int i = 0; i < 250; ++i) hs.push_back(f.add_cvm(i));
    // Tasks 0..199 are seen running one after another, 10 ms apart; 200..249 never.
    f.clock.advance(5s);
    for (int i = 0; i < 200; ++i) {
        f.clock.advance(10ms);
        ASSERT_TRUE(f.ps.schedule().on_running(hs[i], f.clock.steady_now()));
    }
    // Task 199 is due and calls; it is in a call, so never its own rider.
    f.ps.set_polling(hs[199], true);
    std::vector<std::uint32_t> group{hs[199]};
    EXPECT_EQ(f.ps.add_riders(group, f.ps.find(hs[199])->service, f.ps.find(hs[199])->region), 99u);
    ASSERT_EQ(group.size(), 100u);
    std::set<std::uint32_t> got(group.begin() + 1, group.end());
    std::set<std::uint32_t> want;
    for (int i = 200; i < 250; ++i) want.insert(hs[i]);  // never seen: first
    for (int i = 0; i < 49; ++i) want.insert(hs[i]);     // then the earliest seen
    EXPECT_EQ(got, want);
}

TEST(PollState, riders_skip_tasks_in_a_call_and_other_regions_and_services) {
    fixture f;
    auto a = f.add_cvm(1), b = f.add_cvm(2), c = f.add_cvm(3, "ap-shanghai");
    auto d = f.add_cvm(4);
    // A CBS disk task (another instance-state service) of the same region: never a rider of a
    // CVM call (it would be asked for with DescribeInstances and come back not_found).
    track_request disk;
    disk.key = {"cbs", "R-disk"};
    disk.action = "AttachDisks";
    disk.region = "ap-guangzhou";
    disk.resources = {"disk-1"};
    disk.submitted = f.clock.steady_now();
    disk.deadline = disk.submitted + 1h;
    ASSERT_TRUE(f.ps.add(disk));
    f.ps.set_polling(b, true);  // already riding in another call
    f.ps.set_polling(a, true);
    std::vector<std::uint32_t> group{a};
    EXPECT_EQ(f.ps.add_riders(group, f.ps.find(a)->service, f.ps.find(a)->region), 1u);
    EXPECT_EQ(group, (std::vector<std::uint32_t>{a, d}));
    (void)c;
}

TEST(PollState, share_counts_live_cvm_tasks_of_the_region_up_to_a_call) {
    fixture f;
    auto lb = f.add_lb(1);
    EXPECT_EQ(f.ps.share_of(lb), 1u);  // task-result polls are one task per call
    std::vector<std::uint32_t> hs;
    for (int i = 0; i < 3; ++i) hs.push_back(f.add_cvm(i));
    auto other = f.add_cvm(999, "ap-shanghai");
    EXPECT_EQ(f.ps.share_of(hs[0]), 3u);
    EXPECT_EQ(f.ps.share_of(other), 1u);
    for (int i = 3; i < 150; ++i) hs.push_back(f.add_cvm(i));
    EXPECT_EQ(f.ps.share_of(hs[0]), 100u);  // one call holds 100 instances
    for (int i = 0; i < 148; ++i) ASSERT_TRUE(f.ps.remove_key({"cvm", std::to_string(1000 + i)}));
    EXPECT_EQ(f.ps.share_of(hs[149]), 2u);
}

TEST(PollState, a_shared_cvm_task_is_polled_more_often_than_a_lone_one) {
    fixture f;
    auto lone = f.add_cvm(1, "ap-shanghai");
    std::vector<std::uint32_t> hs;
    for (int i = 0; i < 100; ++i) hs.push_back(f.add_cvm(10 + i));
    // Both answer "running" six times: the lone one's gap has grown to max_interval (8 s), the
    // shared one's is max_interval / 100, i.e. `interval` (1 s).
    const auto& poll = f.ps.options().schedule.poll;
    f.clock.advance(poll.initial_delay + poll.max_interval);
    std::vector<scheduler::due_task> due;
    f.ps.schedule().pop_due(f.clock.steady_now(), 1000, due);
    ASSERT_EQ(due.size(), 101u);
    const auto now = f.clock.steady_now();
    for (int round = 0; round < 6; ++round) {
        f.ps.schedule().on_running(lone, now, f.ps.share_of(lone));
        f.ps.schedule().on_running(hs[0], now, f.ps.share_of(hs[0]));
    }
    due.clear();
    f.clock.advance(poll.interval);
    f.ps.schedule().pop_due(f.clock.steady_now(), 1000, due);
    ASSERT_EQ(due.size(), 1u);  // the shared task, at the interval; the lone one has backed off
    EXPECT_EQ(due[0].handle, hs[0]);
}

// Answers become task writes for the poller to apply; the store is never touched here.
TEST(PollStateWrites, answers_become_writes_and_terminal_ones_release_the_task) {
    fixture f;
    auto h = f.add_lb(1);
    auto w = f.ps.apply(h, task_poll_answer{std::nullopt, remote_status::running});
    EXPECT_EQ(w.what, task_write::kind::running);
    EXPECT_EQ(w.key, (core::task_key{"lb", "5001"}));
    EXPECT_EQ(w.update.state, core::task_state::running);
    EXPECT_EQ(w.update.last_error, std::string());  // a running answer clears the last error
    EXPECT_TRUE(w.update.count_poll);
    EXPECT_NE(f.ps.find(h), nullptr);
    w = f.ps.apply(h, task_poll_answer{std::nullopt, remote_status::failed});
    EXPECT_EQ(w.what, task_write::kind::terminal);
    EXPECT_EQ(w.update.state, core::task_state::failed);
    EXPECT_EQ(f.ps.find(h), nullptr);
    EXPECT_FALSE(f.ps.handle_of({"lb", "5001"}));
}

TEST(PollStateWrites, failures_follow_the_retry_policy_by_class) {
    fixture f;
    auto h = f.add_lb(1);
    const call_failure transient{call_failure::kind::api, failure_class::transient, "6000",
                                 "code 6000: internal error"};
    auto w = f.ps.apply_failure(h, transient);
    EXPECT_EQ(w.what, task_write::kind::error);
    EXPECT_EQ(w.update.last_error, "code 6000: internal error");
    EXPECT_FALSE(w.update.state);
    const call_failure missing{call_failure::kind::api, failure_class::missing, "5000", "gone"};
    EXPECT_EQ(f.ps.apply_failure(h, missing).what, task_write::kind::error);
    EXPECT_EQ(f.ps.apply_failure(h, missing).what, task_write::kind::error);
    w = f.ps.apply_failure(h, missing);  // the third in a row (not_found_checks 3)
    EXPECT_EQ(w.what, task_write::kind::terminal);
    EXPECT_EQ(w.update.state, core::task_state::not_found);

    auto g = f.add_lb(2);
    const call_failure final_error{call_failure::kind::api, failure_class::final, "4000", "bad"};
    w = f.ps.apply_failure(g, final_error);
    EXPECT_EQ(w.update.state, core::task_state::failed);
    EXPECT_EQ(w.update.last_error, "bad");
}

TEST(PollStateWrites, a_throttled_poll_slows_its_action_down) {
    fixture f;
    auto h = f.add_lb(1);
    const action_key poll{"lb", "DescribeLoadBalancersTaskResult"};
    const auto now = f.clock.steady_now();
    const auto bucket = f.limiter.bucket(poll, now);
    const double before = f.limiter.stats(bucket, now).rate;
    f.ps.apply_failure(h, {call_failure::kind::api, failure_class::throttled, "4400", "slow"});
    EXPECT_LT(f.limiter.stats(bucket, now).rate, before);
}

TEST(PollStateWrites, instance_states_decide_instance_tasks) {
    fixture f;
    auto h = f.add_cvm(1);
    // Stopping (9), then stopped (4): StopInstances succeeded.
    std::vector<instance_observation> seen{{.instance_id = "ins-1", .status = 9}};
    EXPECT_EQ(f.ps.apply_instances(h, seen).what, task_write::kind::running);
    seen[0].status = 4;
    auto w = f.ps.apply_instances(h, seen);
    EXPECT_EQ(w.what, task_write::kind::terminal);
    EXPECT_EQ(w.update.state, core::task_state::succeeded);
}

// A describe's answer may come long after its send; the cloud read the instances no sooner than
// the send. The target status, seen without the transitional one, counts only from a read sent
// past the settle delay (until then it may be a stale read of where the instance started).
TEST(PollStateWrites, a_target_status_counts_only_from_a_read_sent_after_the_settle_delay) {
    fixture f;
    const auto t0 = f.clock.steady_now();
    auto h = f.add_cvm(1);
    auto action = f.reg.find_action("cvm", "StopInstances");
    ASSERT_TRUE(action && (*action)->cvm);
    const auto settle = (*action)->cvm->settle_delay;
    ASSERT_GT(settle.count(), 0);
    f.clock.advance(settle + 1s);  // the answer comes after the settle delay...
    std::vector<instance_observation> seen{{.instance_id = "ins-1", .status = 4}};
    auto early = t0 + settle / 2;  // ...to a describe sent before it
    EXPECT_EQ(f.ps.apply_instances(h, seen, early).what, task_write::kind::running);
    auto w = f.ps.apply_instances(h, seen, f.clock.steady_now());
    EXPECT_EQ(w.what, task_write::kind::terminal);
    EXPECT_EQ(w.update.state, core::task_state::succeeded);
}

// A configuration reload's polling settings apply from each task's next poll (tracker::
// reconfigure → poller::set_options); due times already set stay.
TEST(PollStateWrites, new_polling_options_apply_from_each_tasks_next_poll) {
    fixture f;
    const auto t0 = f.clock.steady_now();
    auto h = f.add_lb(1);  // due at t0 + 1 s
    auto o = fixture::options();
    o.schedule.poll.initial_delay = 5s;
    o.schedule.poll.interval = 7s;
    o.schedule.poll.multiplier = 1.0;
    o.schedule.poll.max_interval = 7s;
    f.ps.set_options(o);
    auto g = f.add_lb(2);  // due at t0 + 5 s
    auto due_at = [&](std::chrono::milliseconds since_t0) {
        f.clock.advance(t0 + since_t0 - f.clock.steady_now());
        std::vector<scheduler::due_task> due;
        f.ps.schedule().pop_due(f.clock.steady_now(), 10, due);
        std::vector<std::uint32_t> hs;
        for (const auto& d : due) hs.push_back(d.handle);
        return hs;
    };
    EXPECT_EQ(due_at(1000ms), std::vector<std::uint32_t>{h});
    f.ps.apply(h, task_poll_answer{std::nullopt, remote_status::running});  // next: +7 s
    EXPECT_EQ(due_at(5000ms), std::vector<std::uint32_t>{g});
    EXPECT_TRUE(due_at(7900ms).empty());
    EXPECT_EQ(due_at(8000ms), std::vector<std::uint32_t>{h});
}

// What the API's "expected_finish_at" rests on: a tracked task's learned completion time, only
// once its (service, action) has min_samples completions; none for an untracked key.
TEST(PollStateLearning, learned_completion_needs_min_samples_of_the_profile) {
    fixture f;
    const auto min = static_cast<int>(fixture::options().schedule.learning.min_samples);
    auto complete_one = [&](int n) {
        auto h = f.add_lb(n);
        f.clock.advance(9s);
        f.ps.apply(h, task_poll_answer{std::nullopt, remote_status::running});
        f.clock.advance(1s);  // finished between 9 s and 10 s: learned as ~9.5 s
        f.ps.apply(h, task_poll_answer{std::nullopt, remote_status::succeeded});
    };
    for (int i = 0; i < min - 1; ++i) complete_one(i);
    ASSERT_NE(f.ps.find(f.add_lb(1000)), nullptr);  // lb/6000, live, same action
    const core::task_key key{"lb", "6000"};
    EXPECT_FALSE(f.ps.learned_completion(key, 0.9));  // one sample short
    complete_one(min - 1);
    const auto p90 = f.ps.learned_completion(key, 0.9);
    ASSERT_TRUE(p90);
    EXPECT_GE(*p90, 8s);
    EXPECT_LE(*p90, 11s);
    // Another action of the same service has learned nothing; an unknown key gives nothing.
    track_request other;
    other.key = {"lb", "other-1"};
    other.action = "DeregisterInstancesFromLoadBalancer";
    other.region = "ap-guangzhou";
    other.submitted = f.clock.steady_now();
    other.deadline = other.submitted + 1h;
    ASSERT_TRUE(f.ps.add(other));
    EXPECT_FALSE(f.ps.learned_completion(other.key, 0.9));
    EXPECT_FALSE(f.ps.learned_completion({"lb", "nope"}, 0.9));
}

// Issue 18: a track request's own poll settings reach the scheduler; the other tasks keep the
// configured schedule, and a reload keeps the own fields.
TEST(PollStateWrites, a_task_with_its_own_poll_settings_is_polled_on_them) {
    fixture f;
    const auto t0 = f.clock.steady_now();
    track_request r;
    r.key = {"lb", "own-1"};
    r.action = "RegisterInstancesWithLoadBalancer";
    r.region = "ap-guangzhou";
    r.submitted = t0;
    r.deadline = t0 + 1h;
    r.poll.initial_delay = 3s;
    r.poll.interval = 3s;
    ASSERT_TRUE(f.ps.add(r));
    const auto own = *f.ps.handle_of(r.key);
    const auto plain = f.add_lb(1);  // configured: due at t0 + 1 s, then every 1, 2, 4 s
    auto due_at = [&](std::chrono::milliseconds since_t0) {
        f.clock.advance(t0 + since_t0 - f.clock.steady_now());
        std::vector<scheduler::due_task> due;
        f.ps.schedule().pop_due(f.clock.steady_now(), 10, due);
        std::vector<std::uint32_t> hs;
        for (const auto& d : due) {
            hs.push_back(d.handle);
            f.ps.apply(d.handle, task_poll_answer{std::nullopt, remote_status::running});
        }
        return hs;
    };
    EXPECT_EQ(due_at(1000ms), std::vector<std::uint32_t>{plain});
    EXPECT_EQ(due_at(2000ms), std::vector<std::uint32_t>{plain});
    EXPECT_EQ(due_at(3000ms), std::vector<std::uint32_t>{own});  // its own first poll
    auto o = fixture::options();
    // A reload: the configured interval becomes 10 s, the multiplier 1; the own interval
    // stays 3 s and takes the new multiplier.
    o.schedule.poll.interval = 10s;
    o.schedule.poll.max_interval = 10s;
    o.schedule.poll.multiplier = 1.0;
    f.ps.set_options(o);
    EXPECT_EQ(due_at(4000ms), std::vector<std::uint32_t>{plain});
    EXPECT_EQ(due_at(6000ms), std::vector<std::uint32_t>{own});  // 3 s after its first
    EXPECT_EQ(due_at(9000ms), std::vector<std::uint32_t>{own});  // and again 3 s later
}

// The key index keeps each identity in its live_task only (compact forms for the usual key and
// text for the rest): every form is found, told apart from the others, and given back whole.
TEST(PollStateKeys, every_identity_form_is_found_and_given_back_whole) {
    fixture f;
    const std::string batch = core::format_batch_id(0x0123456789abcdefull);
    const std::string long_id = "4f6e2a1c-8b3d-4e5f-9a7b-1c2d3e4f5a6b";  // API 3.0-style
    const std::vector<core::task_key> keys{
        {"lb", "6356081"},                                    // adopted: no region, no batch
        {"lb", "6356081", "ap-guangzhou", batch},             // the call's region, a batch
        {"lb", "6356081", "ap-guangzhou"},                    // the call's region, no batch
        {"lb", "6356081", "ap-shanghai", batch},              // another region than the call's
        {"lb", "6356081", "", "b-NOT-CANONICAL"},             // a batch id kept as text
        {"lb", "6356081", "ap-beijing", "B-0123456789AB"},    // both as text
        {"lb", "6356081", "ap-guangzhou", "b-0123456789ab"},  // another canonical batch
        {"lb", long_id, "ap-guangzhou", batch},               // a requestId past 15 characters
        {"cvm", "6356081", "ap-guangzhou", batch},            // another service
    };
    std::vector<std::uint32_t> hs;
    for (const auto& k : keys) {
        track_request r;
        r.key = k;
        r.action = k.service == "cvm" ? "StopInstances" : "RegisterInstancesWithLoadBalancer";
        r.region = "ap-guangzhou";
        if (k.service == "cvm") r.resources = {"ins-1"};
        r.submitted = f.clock.steady_now();
        r.deadline = r.submitted + 1h;
        ASSERT_TRUE(f.ps.add(r)) << core::format_task_identity(k);
        auto again = f.ps.add(r);
        ASSERT_FALSE(again) << core::format_task_identity(k);
        EXPECT_EQ(again.error().kind, core::error_kind::conflict);
        hs.push_back(*f.ps.handle_of(k));
    }
    EXPECT_EQ(f.ps.tracked(), keys.size());
    for (std::size_t i = 0; i < keys.size(); ++i) {
        EXPECT_EQ(f.ps.handle_of(keys[i]), hs[i]) << i;
        EXPECT_EQ(f.ps.key_of(hs[i]), keys[i]) << i;
        EXPECT_EQ(f.ps.request_id_of(hs[i]), keys[i].request_id) << i;
    }
    // Near misses are not tracked.
    EXPECT_FALSE(f.ps.handle_of({"lb", "6356082"}));
    EXPECT_FALSE(f.ps.handle_of({"lb", "6356081", "ap-shanghai"}));
    EXPECT_FALSE(f.ps.handle_of({"lb", "6356081", "", batch}));
    EXPECT_FALSE(f.ps.handle_of({"lb", "6356081", "ap-guangzhou", "b-not-canonical"}));
    EXPECT_FALSE(f.ps.handle_of({"lb", "6356081", "ap-beijing", "b-0123456789ab"}));
    EXPECT_FALSE(f.ps.handle_of({"vpc", "6356081"}));
    EXPECT_FALSE(f.ps.handle_of({"nosuch", "6356081"}));
    // Releasing one leaves the others; its slot is reused by the next task.
    EXPECT_TRUE(f.ps.remove_key(keys[3]));
    EXPECT_FALSE(f.ps.remove_key(keys[3]));
    EXPECT_FALSE(f.ps.handle_of(keys[3]));
    EXPECT_EQ(f.ps.find(hs[3]), nullptr);
    for (std::size_t i = 0; i < keys.size(); ++i) {
        if (i != 3) {
            EXPECT_EQ(f.ps.handle_of(keys[i]), hs[i]) << i;
        }
    }
    const auto gen = f.ps.gen_of(hs[3]);
    auto h = f.add_lb(7);
    EXPECT_EQ(h, hs[3]);
    EXPECT_NE(f.ps.gen_of(h), gen);
    EXPECT_TRUE(f.ps.alive(h, f.ps.gen_of(h)));
    EXPECT_EQ(f.ps.key_of(h), (core::task_key{"lb", "5007"}));
}

// An instance-state task's cvm_task_state lives in a side table keyed by handle (issue 20:
// live_task is 40 bytes without the pointer); a reused slot never sees its former task's state.
TEST(PollState, instance_state_side_table_follows_slot_reuse) {
    static_assert(sizeof(live_task) <= 32, "live_task grew: a million of them are live");
    fixture f;
    const auto c = f.add_cvm(1);
    const auto lb = f.add_lb(1);
    ASSERT_NE(f.ps.find(c), nullptr);
    EXPECT_TRUE(f.ps.find(c)->instance_state);
    EXPECT_FALSE(f.ps.find(lb)->instance_state);
    EXPECT_EQ(f.ps.cvm_of(c).pending_instances(), std::vector<std::string>{"ins-1"});
    EXPECT_EQ(f.ps.pending_instances({c}), std::vector<std::string>{"ins-1"});
    // "In a call in flight" is kept for instance-state tasks only.
    f.ps.set_polling(c, true);
    f.ps.set_polling(lb, true);
    EXPECT_TRUE(f.ps.polling(c));
    EXPECT_FALSE(f.ps.polling(lb));
    // The cvm task's slot goes to a task-result task, the lb task's to another cvm task.
    EXPECT_TRUE(f.ps.remove_key({"cvm", "1001"}));
    EXPECT_EQ(f.add_lb(2), c);
    EXPECT_FALSE(f.ps.find(c)->instance_state);
    EXPECT_FALSE(f.ps.polling(c));
    EXPECT_THROW((void)f.ps.cvm_of(c), std::out_of_range);
    EXPECT_EQ(f.ps.share_of(c), 1u);
    EXPECT_TRUE(f.ps.remove_key({"lb", "5001"}));
    EXPECT_EQ(f.add_cvm(2), lb);
    EXPECT_TRUE(f.ps.find(lb)->instance_state);
    EXPECT_FALSE(f.ps.polling(lb));  // a new task is in no call
    EXPECT_EQ(f.ps.cvm_of(lb).pending_instances(), std::vector<std::string>{"ins-2"});
    // The riders' pool holds the live cvm tasks only.
    const auto other = f.add_cvm(3);
    f.ps.set_polling(other, true);  // due: the dispatcher marks it before it adds riders
    std::vector<std::uint32_t> group{other};
    EXPECT_EQ(f.ps.add_riders(group, f.ps.find(other)->service, f.ps.find(other)->region), 1u);
    EXPECT_EQ(group, (std::vector<std::uint32_t>{other, lb}));
}

// A task's poll bucket is its service's (its result action's), kept per service, not per task.
TEST(PollState, the_poll_bucket_is_the_services) {
    fixture f;
    const auto a = f.add_lb(1);
    const auto b = f.add_lb(2);
    const auto c = f.add_cvm(1);
    const auto d = f.add_cvm(2, "ap-shanghai");
    const auto lb_bucket = f.ps.bucket_of(f.ps.find(a)->service);
    EXPECT_EQ(f.ps.bucket_of(f.ps.find(b)->service), lb_bucket);
    const auto cvm_bucket = f.ps.bucket_of(f.ps.find(c)->service);
    EXPECT_NE(cvm_bucket, lb_bucket);
    EXPECT_EQ(f.ps.bucket_of(f.ps.find(d)->service), cvm_bucket);
    EXPECT_EQ(f.limiter.bucket({"lb", "DescribeLoadBalancersTaskResult"}, f.clock.steady_now()),
              lb_bucket);
    EXPECT_EQ(f.limiter.bucket({"cvm", "DescribeInstances"}, f.clock.steady_now()), cvm_bucket);
}

TEST(PollStateKeys, churned_keys_stay_findable_and_the_index_stays_small) {
    fixture f;
    std::vector<std::uint32_t> hs;
    for (int i = 0; i < 20'000; ++i) hs.push_back(f.add_lb(i));
    for (int i = 0; i < 20'000; i += 2)
        ASSERT_TRUE(f.ps.remove_key({"lb", std::to_string(5000 + i)}));
    for (int i = 20'000; i < 30'000; ++i) f.add_lb(i);
    EXPECT_EQ(f.ps.tracked(), 20'000u);
    for (int i = 0; i < 30'000; ++i) {
        const bool live = i >= 20'000 || i % 2 == 1;
        EXPECT_EQ(f.ps.handle_of({"lb", std::to_string(5000 + i)}).has_value(), live) << i;
    }
    EXPECT_LE(f.ps.index_capacity(), 65'536u);
}

// reserve(n) before a bulk load (resuming the live tasks): the key index is sized once.
TEST(PollStateKeys, reserve_sizes_the_key_index_once) {
    fixture f;
    f.add_lb(0);
    f.ps.reserve(20'000);
    const std::size_t cap = f.ps.index_capacity();
    EXPECT_GE(cap * 3, 20'000u * 4);
    for (int i = 1; i < 20'000; ++i) {
        f.add_lb(i);
        ASSERT_EQ(f.ps.index_capacity(), cap) << i;
    }
    EXPECT_EQ(f.ps.tracked(), 20'000u);
    EXPECT_EQ(f.ps.schedule().size(), 20'000u);
    for (int i = 0; i < 20'000; ++i) ASSERT_TRUE(f.ps.handle_of({"lb", std::to_string(5000 + i)}));
}

// Region names come from clients (an adopted task names its own): the poller's 16-bit region
// ids must not wrap, or the 65,537th region's tasks would be polled in the first one's.
TEST(PollState, a_region_past_the_last_id_is_refused_not_wrapped) {
    fixture f;
    const std::size_t regions = std::size_t{std::numeric_limits<std::uint16_t>::max()} + 1;
    for (std::size_t i = 0; i < regions; ++i) {
        ASSERT_TRUE(
            f.ps.add(f.lb_request(std::to_string(100000 + i), "region-" + std::to_string(i))))
            << i;
    }
    auto r = f.lb_request("one-more", "region-one-more");
    auto added = f.ps.add(r);
    ASSERT_FALSE(added);
    EXPECT_NE(added.error().message.find("too many regions"), std::string::npos)
        << added.error().message;
    EXPECT_FALSE(f.ps.handle_of(r.key));
    // A region already known is still accepted.
    r.region = "region-7";
    EXPECT_TRUE(f.ps.add(r));
}

}  // namespace
}  // namespace taskpoller::engine::detail
