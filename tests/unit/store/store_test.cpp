#include <gtest/gtest.h>

#include "helpers.hpp"

namespace core = taskpoller::core;
using namespace taskpoller::store;
using namespace taskpoller::store::test;
using core::task_state;

namespace {

struct StoreFixture : ::testing::Test {
    core::manual_clock clock;
    store s{clock, seeded_options()};
};

TEST_F(StoreFixture, batch_lifecycle_creates_tasks_and_finishes) {
    auto b = s.create_batch({"cvm", "StopInstances", "ap-guangzhou", {{"team", "a"}}, "tok-1"});
    ASSERT_TRUE(b);
    EXPECT_EQ(b->state, core::batch_state::submitting);
    EXPECT_EQ(b->created_at, clock.system_now());
    batch_outcome o;
    o.code = 5100;
    o.message = "partial";
    o.entries = {accepted("ins-1", "r1"), accepted("ins-2", "r1"), accepted("ins-3", "r2"),
                 rejected("ins-4", 9003, "no such instance")};
    auto done = s.record_batch_outcome(b->id, o);
    ASSERT_TRUE(done) << done.error().message;
    EXPECT_EQ(done->state, core::batch_state::submitted);
    EXPECT_EQ(done->code, 5100);
    ASSERT_EQ(done->entries.size(), 4u);
    EXPECT_EQ(done->entries[0].state, task_state::pending);
    EXPECT_FALSE(done->entries[3].state.has_value());
    EXPECT_EQ(done->entries[3].request_id, "");
    EXPECT_EQ(done->entries[3].message, "no such instance");
    EXPECT_EQ(done->counts[0], 2u);  // two tasks: r1 (two instances) and r2
    EXPECT_EQ(s.task_count(), 2u);

    auto r1 = s.get_task({"cvm", "r1"});
    ASSERT_TRUE(r1);
    EXPECT_EQ(r1->resources, (std::vector<std::string>{"ins-1", "ins-2"}));
    EXPECT_EQ(r1->batch_id, b->id);
    EXPECT_EQ(r1->action, "StopInstances");
    EXPECT_EQ(r1->labels, (core::labels{{"team", "a"}}));

    ASSERT_TRUE(set_state(s, "cvm", "r1", task_state::running));
    ASSERT_TRUE(set_state(s, "cvm", "r1", task_state::succeeded));
    EXPECT_EQ(s.get_batch(b->id)->state, core::batch_state::submitted);
    clock.advance(std::chrono::seconds(3));
    ASSERT_TRUE(set_state(s, "cvm", "r2", task_state::failed));
    auto fin = s.get_batch(b->id);
    EXPECT_EQ(fin->state, core::batch_state::done);
    EXPECT_EQ(fin->finished_at, clock.system_now());
    EXPECT_EQ(fin->counts[static_cast<int>(task_state::succeeded)], 1u);
    EXPECT_EQ(fin->counts[static_cast<int>(task_state::failed)], 1u);
    EXPECT_EQ(s.get_task({"cvm", "r2"})->finished_at, clock.system_now());
    EXPECT_EQ(s.batch_counts()[static_cast<int>(core::batch_state::done)], 1u);
}

TEST_F(StoreFixture, outcome_without_tasks_is_rejected_or_unknown) {
    auto a = s.create_batch({"lb", "DeleteLoadBalancers", "", {}, ""});
    batch_outcome o;
    o.code = 5100;
    o.entries = {rejected("lb-1", 4000, "bad")};
    EXPECT_EQ(s.record_batch_outcome(a->id, o)->state, core::batch_state::rejected);
    auto b = s.create_batch({"lb", "DeleteLoadBalancers", "", {}, ""});
    o.entries.push_back(core::entry{"lb-2", core::entry_outcome::unknown, 0, "", "", {}});
    EXPECT_EQ(s.record_batch_outcome(b->id, o)->state, core::batch_state::unknown);
    auto c = s.create_batch({"lb", "DeleteLoadBalancers", "", {}, "", {"lb-3", "lb-4"}});
    ASSERT_EQ(c->entries.size(), 2u);  // the named resources, outcome not known yet
    EXPECT_EQ(c->entries[0].resource_id, "lb-3");
    EXPECT_EQ(c->entries[0].outcome, core::entry_outcome::unknown);
    auto u = s.mark_batch_unknown(c->id, "connection reset after send");
    ASSERT_TRUE(u);
    EXPECT_EQ(u->state, core::batch_state::unknown);
    EXPECT_EQ(u->message, "connection reset after send");
    ASSERT_EQ(u->entries.size(), 2u);
    EXPECT_EQ(u->entries[1].resource_id, "lb-4");
    EXPECT_EQ(u->entries[1].outcome, core::entry_outcome::unknown);
    EXPECT_EQ(u->entries[1].message, "connection reset after send");
    // An answer replaces the entries named at creation (no duplicates).
    auto d = s.create_batch({"lb", "DeleteLoadBalancers", "", {}, "", {"lb-2"}});
    auto answered = s.record_batch_outcome(d->id, o);
    ASSERT_TRUE(answered);
    ASSERT_EQ(answered->entries.size(), 2u);  // o's two entries, not lb-2 a second time
    EXPECT_EQ(answered->entries[0].resource_id, "lb-1");
    EXPECT_EQ(answered->entries[1].resource_id, "lb-2");
    // A malformed resource is refused like any other malformed input.
    auto bad = s.create_batch({"lb", "DeleteLoadBalancers", "", {}, "", {std::string("x\0y", 3)}});
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.error().kind, core::error_kind::invalid);
    // Terminal batches take no second outcome.
    auto again = s.record_batch_outcome(c->id, o);
    ASSERT_FALSE(again);
    EXPECT_EQ(again.error().kind, core::error_kind::conflict);
    EXPECT_EQ(s.task_count(), 0u);
}

TEST_F(StoreFixture, illegal_transitions_are_errors_not_crashes) {
    submit(s, "lb", "DeleteLoadBalancers", {"1"});
    ASSERT_TRUE(set_state(s, "lb", "1", task_state::running));
    auto back = set_state(s, "lb", "1", task_state::pending);
    ASSERT_FALSE(back);
    EXPECT_EQ(back.error().kind, core::error_kind::conflict);
    ASSERT_TRUE(set_state(s, "lb", "1", task_state::timed_out));
    for (auto st : {task_state::succeeded, task_state::running, task_state::timed_out}) {
        auto r = set_state(s, "lb", "1", st);
        ASSERT_FALSE(r);
        EXPECT_EQ(r.error().kind, core::error_kind::conflict);
    }
    EXPECT_EQ(s.get_task({"lb", "1"})->state, task_state::timed_out);
    auto c = s.cancel_task({"lb", "1"});
    ASSERT_FALSE(c);
    auto missing = set_state(s, "lb", "2", task_state::running);
    ASSERT_FALSE(missing);
    EXPECT_EQ(missing.error().kind, core::error_kind::not_found);
    EXPECT_FALSE(s.get_task({"nosuch", "1"}));
    EXPECT_FALSE(s.get_batch("b-zzzzzzzzzzzz"));
    EXPECT_FALSE(s.get_batch("garbage"));
}

TEST_F(StoreFixture, invalid_input_is_refused) {
    EXPECT_FALSE(s.create_batch({"LB", "A", "", {}, ""}));
    EXPECT_FALSE(s.create_batch({"lb", "", "", {}, ""}));
    EXPECT_FALSE(s.create_batch({"lb", "A", "", {{"bad key", "v"}}, ""}));
    EXPECT_FALSE(s.adopt_task({"lb", "has/slash", "A", {}, {}, {}}));
    EXPECT_FALSE(s.adopt_task({"lb", "1", "A", {"bad\nresource"}, {}, {}}));
    auto b = s.create_batch({"lb", "A", "", {}, ""});
    batch_outcome o;
    o.entries = {accepted("r", "")};
    EXPECT_FALSE(s.record_batch_outcome(b->id, o));
    EXPECT_EQ(s.get_batch(b->id)->state, core::batch_state::submitting);  // unchanged
    EXPECT_EQ(s.seq(), 1u);
}

TEST_F(StoreFixture, client_token_is_unique) {
    auto a = s.create_batch({"lb", "A", "", {}, "tok"});
    ASSERT_TRUE(a);
    auto b = s.create_batch({"lb", "A", "", {}, "tok"});
    ASSERT_FALSE(b);
    EXPECT_EQ(b.error().kind, core::error_kind::conflict);
    EXPECT_NE(b.error().message.find(a->id), std::string::npos);
    EXPECT_EQ(s.find_batch_by_token("tok")->id, a->id);
    EXPECT_FALSE(s.find_batch_by_token("other"));
}

TEST_F(StoreFixture, adopt_update_cancel) {
    auto t = s.adopt_task({"cvm",
                           "r-9",
                           "StartInstances",
                           {"ins-a", "ins-b"},
                           {{"k", "v"}},
                           clock.system_now() + std::chrono::minutes(5)});
    ASSERT_TRUE(t);
    EXPECT_EQ(t->batch_id, "");
    EXPECT_EQ(t->deadline, clock.system_now() + std::chrono::minutes(5));
    EXPECT_FALSE(s.adopt_task({"cvm", "r-9", "StartInstances", {}, {}, {}}));
    task_update u;
    u.last_status = "PENDING";
    u.count_poll = true;
    EXPECT_EQ(s.update_task({"cvm", "r-9"}, u).value(), task_state::pending);
    u.state = task_state::running;
    u.last_error = "timeout";
    ASSERT_TRUE(s.update_task({"cvm", "r-9"}, u));
    auto got = s.get_task({"cvm", "r-9"});
    EXPECT_EQ(got->polls, 2u);
    EXPECT_EQ(got->last_status, "PENDING");
    EXPECT_EQ(got->last_error, "timeout");
    auto c = s.cancel_task({"cvm", "r-9"});
    ASSERT_TRUE(c);
    EXPECT_EQ(c->state, task_state::cancelled);
    EXPECT_EQ(s.task_counts()[static_cast<int>(task_state::cancelled)], 1u);
}

TEST_F(StoreFixture, poll_without_news_is_not_a_change) {
    submit(s, "lb", "A", {"1"});
    auto before = s.seq();
    task_update u;
    u.count_poll = true;
    u.last_status = "";
    ASSERT_TRUE(s.update_task({"lb", "1"}, u));
    EXPECT_EQ(s.seq(), before);
    EXPECT_EQ(s.get_task({"lb", "1"})->polls, 1u);
    u.last_status = "running";
    ASSERT_TRUE(s.update_task({"lb", "1"}, u));
    EXPECT_EQ(s.seq(), before + 1);
}

TEST_F(StoreFixture, long_status_is_bounded) {
    submit(s, "lb", "A", {"1"});
    task_update u;
    u.last_status = std::string(100000, 'x');
    u.last_error = std::string(100000, 'y');
    ASSERT_TRUE(s.update_task({"lb", "1"}, u));
    auto t = s.get_task({"lb", "1"});
    EXPECT_LE(t->last_status.size(), 256u);
    EXPECT_LE(t->last_error.size(), 1024u);
}

TEST_F(StoreFixture, cancel_batch_cancels_live_tasks_and_finishes_it) {
    auto id = submit(s, "lb", "A", {"1", "2", "3"});
    ASSERT_TRUE(set_state(s, "lb", "1", task_state::succeeded));
    auto b = s.cancel_batch(id);
    ASSERT_TRUE(b);
    EXPECT_EQ(b->state, core::batch_state::done);
    EXPECT_EQ(s.get_task({"lb", "1"})->state, task_state::succeeded);
    EXPECT_EQ(s.get_task({"lb", "3"})->state, task_state::cancelled);
    EXPECT_FALSE(s.cancel_batch(id));
    auto pending = s.create_batch({"lb", "A", "", {}, ""});
    EXPECT_EQ(s.cancel_batch(pending->id).error().kind, core::error_kind::conflict);
}

TEST_F(StoreFixture, shared_request_id_across_batches_is_tracked_once) {
    submit(s, "lb", "A", {"7"});
    auto b = s.create_batch({"lb", "A", "", {}, ""});
    batch_outcome o;
    o.entries = {accepted("x", "7")};
    auto r = s.record_batch_outcome(b->id, o);
    ASSERT_TRUE(r);
    EXPECT_EQ(s.task_count(), 1u);
    EXPECT_EQ(r->entries[0].request_id, "7");
    EXPECT_EQ(r->state, core::batch_state::done);  // started no task of its own
}

TEST_F(StoreFixture, seq_increases_on_every_change) {
    std::uint64_t last = s.seq();
    auto check = [&] {
        EXPECT_GT(s.seq(), last);
        last = s.seq();
    };
    auto b = s.create_batch({"lb", "A", "", {}, ""});
    check();
    EXPECT_EQ(b->created_seq, s.seq());
    batch_outcome o;
    o.entries = {accepted("x", "1"), accepted("y", "2")};
    s.record_batch_outcome(b->id, o);
    EXPECT_EQ(s.seq(), last + 3);  // batch_changed + two task_created
    last = s.seq();
    set_state(s, "lb", "1", task_state::running);
    check();
    s.adopt_task({"lb", "9", "A", {}, {}, {}});
    check();
    EXPECT_EQ(s.get_task({"lb", "9"})->created_seq, s.seq());
    EXPECT_EQ(s.get_task({"lb", "1"})->updated_seq, last - 1);
}

TEST_F(StoreFixture, for_each_live_task_lists_pending_and_running) {
    submit(s, "lb", "A", {"1", "2", "3", "4"});
    set_state(s, "lb", "2", task_state::running);
    set_state(s, "lb", "3", task_state::succeeded);
    std::vector<std::string> seen;
    s.for_each_live_task([&](const core::task_key& k, task_state st, core::sys_time) {
        seen.push_back(k.request_id + ":" + std::string(core::to_string(st)));
    });
    EXPECT_EQ(seen, (std::vector<std::string>{"1:pending", "4:pending", "2:running"}));
}

}  // namespace
