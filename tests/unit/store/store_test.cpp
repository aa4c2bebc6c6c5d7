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

// Issue 16 item 4: the cloud reused a requestId (a reset test environment) for a new batch. The
// old task's outcome must not become the new batch's: a task of its own, the collision counted.
TEST(StoreIdentity, a_reused_request_id_is_a_new_task_of_the_new_batch_never_merged) {
    core::manual_clock clock;
    std::vector<std::string> warnings;
    core::logger log(
        [&](core::log_level l, std::string_view m) {
            if (l == core::log_level::warn) warnings.emplace_back(m);
        },
        core::log_level::debug);
    store s{clock, seeded_options(), log};
    auto first = submit(s, "lb", "A", {"7"});
    ASSERT_TRUE(s.update_task({"lb", "7"}, task_update{task_state::failed, {}, {}, false}));
    ASSERT_EQ(s.get_batch(first)->state, core::batch_state::done);
    EXPECT_EQ(s.task_key_collisions(), 0u);

    auto b = s.create_batch({"lb", "A", "ap-guangzhou", {}, ""});
    batch_outcome o;
    o.entries = {accepted("x", "7")};
    auto r = s.record_batch_outcome(b->id, o);
    ASSERT_TRUE(r);
    EXPECT_EQ(s.task_count(), 2u);
    EXPECT_EQ(s.task_key_collisions(), 1u);
    ASSERT_EQ(warnings.size(), 1u);
    EXPECT_NE(warnings[0].find("requestId collision"), std::string::npos) << warnings[0];
    EXPECT_NE(warnings[0].find("batch " + first), std::string::npos) << warnings[0];
    EXPECT_EQ(r->state, core::batch_state::submitted);  // its task is pending, not the old failed
    ASSERT_TRUE(r->entries[0].state);
    EXPECT_EQ(*r->entries[0].state, task_state::pending);

    // Named by service/requestId alone the two are ambiguous: a conflict naming both.
    auto any = s.resolve_task({"lb", "7"});
    ASSERT_FALSE(any);
    EXPECT_EQ(any.error().kind, core::error_kind::conflict);
    EXPECT_NE(any.error().message.find("batch " + first), std::string::npos) << any.error().message;
    EXPECT_NE(any.error().message.find("batch " + b->id), std::string::npos) << any.error().message;
    EXPECT_FALSE(s.get_task({"lb", "7"}));
    auto upd = s.update_task({"lb", "7"}, task_update{task_state::running, {}, {}, false});
    ASSERT_FALSE(upd);
    EXPECT_EQ(upd.error().kind, core::error_kind::conflict);

    // Qualified by batch, each is its own.
    auto mine = s.resolve_task({"lb", "7", "", b->id});
    ASSERT_TRUE(mine);
    EXPECT_EQ(*mine, (core::task_key{"lb", "7", "ap-guangzhou", b->id}));
    EXPECT_EQ(s.get_task({"lb", "7", "", first})->state, task_state::failed);
    ASSERT_TRUE(s.update_task(*mine, task_update{task_state::succeeded, {}, {}, false}));
    EXPECT_EQ(s.get_task({"lb", "7", "", first})->state, task_state::failed);
    EXPECT_EQ(s.get_batch(b->id)->state, core::batch_state::done);
    EXPECT_EQ(*s.get_batch(b->id)->entries[0].state, task_state::succeeded);
    EXPECT_EQ(*s.get_batch(first)->entries[0].state, task_state::failed);
}

TEST_F(StoreFixture, an_adopted_request_id_is_one_task_per_region) {
    ASSERT_TRUE(s.adopt_task({"lb", "9", "A", {}, {}, {}, "ap-guangzhou"}));
    // The same requestId in the same region is the same cloud task: refused.
    auto again = s.adopt_task({"lb", "9", "A", {}, {}, {}, "ap-guangzhou"});
    ASSERT_FALSE(again);
    EXPECT_EQ(again.error().kind, core::error_kind::conflict);
    EXPECT_EQ(s.task_key_collisions(), 0u);
    // Another region issued the same number: another task, the collision counted.
    auto other = s.adopt_task({"lb", "9", "A", {}, {}, {}, "ap-shanghai"});
    ASSERT_TRUE(other) << other.error().message;
    EXPECT_EQ(s.task_count(), 2u);
    EXPECT_EQ(s.task_key_collisions(), 1u);
    EXPECT_FALSE(s.resolve_task({"lb", "9"}));
    ASSERT_TRUE(s.cancel_task({"lb", "9", "ap-shanghai"}));
    EXPECT_EQ(s.get_task({"lb", "9", "ap-guangzhou"})->state, task_state::pending);
    EXPECT_EQ(s.get_task({"lb", "9", "ap-shanghai"})->state, task_state::cancelled);
    // A batch task in the region of an adopted one: both tracked; the exact identity (no batch)
    // still names the adopted one.
    auto b = s.create_batch({"lb", "A", "ap-guangzhou", {}, ""});
    batch_outcome o;
    o.entries = {accepted("x", "9")};
    ASSERT_TRUE(s.record_batch_outcome(b->id, o));
    EXPECT_EQ(s.task_key_collisions(), 2u);
    auto adopted = s.get_task({"lb", "9", "ap-guangzhou", ""});
    ASSERT_TRUE(adopted);
    EXPECT_TRUE(adopted->batch_id.empty());
    EXPECT_EQ(s.get_task({"lb", "9", "ap-guangzhou", b->id})->batch_id, b->id);
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

// Issue 18: the store keeps a submission's own poll settings, refusing nonsense (the tracker
// applies the configuration's bounds before this).
TEST(StorePoll, negative_or_inverted_own_poll_settings_are_refused) {
    core::manual_clock clock;
    store s{clock, seeded_options()};
    core::poll_settings negative;
    negative.interval = std::chrono::milliseconds{-1};
    auto b = s.create_batch({"lb", "DeleteLoadBalancers", "", {}, "", {}, {}, negative});
    ASSERT_FALSE(b);
    EXPECT_NE(b.error().message.find("negative"), std::string::npos);
    core::poll_settings inverted;
    inverted.interval = std::chrono::seconds{5};
    inverted.max_interval = std::chrono::seconds{2};
    auto t = s.adopt_task({"lb", "7", "A", {}, {}, {}, "", inverted});
    ASSERT_FALSE(t);
    EXPECT_NE(t.error().message.find("max_interval"), std::string::npos);
    EXPECT_EQ(s.task_count(), 0u);
    EXPECT_EQ(s.batch_count(), 0u);
}
