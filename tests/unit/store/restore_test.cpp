// The journal hook: replaying every observed change rebuilds an identical store.
#include <gtest/gtest.h>

#include <variant>

#include "helpers.hpp"

namespace core = taskpoller::core;
using namespace taskpoller::store;
using namespace taskpoller::store::test;
using core::task_state;
using namespace std::chrono_literals;

namespace {

struct recorder : store_observer {
    struct event {
        change c;
        std::variant<core::batch, core::task> object;
    };
    std::vector<event> events;
    void on_batch_change(const change& c, const core::batch& b) override {
        events.push_back({c, b});
    }
    void on_task_change(const change& c, const core::task& t) override { events.push_back({c, t}); }
};

void replay(const std::vector<recorder::event>& events, store& into) {
    for (const auto& e : events) {
        switch (e.c.kind) {
            case change_kind::batch_created:
            case change_kind::batch_changed:
                ASSERT_TRUE(into.restore_batch(std::get<core::batch>(e.object)));
                break;
            case change_kind::task_created:
            case change_kind::task_changed:
                ASSERT_TRUE(into.restore_task(std::get<core::task>(e.object)));
                break;
            case change_kind::batch_expired:
                into.restore_expired_batch(std::get<core::batch>(e.object).id, e.c.seq);
                break;
            case change_kind::task_expired:
                into.restore_expired_task(std::get<core::task>(e.object).key(), e.c.seq);
                break;
        }
    }
    into.finish_restore();
}

std::vector<core::task> all_tasks(const store& s) {
    std::vector<core::task> out;
    page_request p{max_page_limit, ""};
    do {
        auto page = s.list_tasks({}, p);
        out.insert(out.end(), page->items.begin(), page->items.end());
        p.page_token = page->next_page_token;
    } while (!p.page_token.empty());
    return out;
}

std::vector<core::batch> all_batches(const store& s) {
    auto page = s.list_batches({}, {max_page_limit, ""});
    return page->items;
}

void expect_identical(const store& a, const store& b) {
    EXPECT_EQ(a.seq(), b.seq());
    EXPECT_EQ(a.task_count(), b.task_count());
    EXPECT_EQ(a.batch_count(), b.batch_count());
    EXPECT_EQ(a.task_counts(), b.task_counts());
    EXPECT_EQ(a.batch_counts(), b.batch_counts());
    EXPECT_EQ(a.next_expiry(), b.next_expiry());
    auto ta = all_tasks(a), tb = all_tasks(b);
    ASSERT_EQ(ta.size(), tb.size());
    for (std::size_t i = 0; i < ta.size(); ++i) EXPECT_EQ(ta[i], tb[i]) << ta[i].request_id;
    auto ba = all_batches(a), bb = all_batches(b);
    ASSERT_EQ(ba.size(), bb.size());
    for (std::size_t i = 0; i < ba.size(); ++i) EXPECT_EQ(ba[i], bb[i]) << ba[i].id;
}

// A history with every kind of change.
void build_history(store& s, core::manual_clock& clock) {
    auto b1 = submit(s, "cvm", "StopInstances", {"r1", "r2", "r3"}, {{"env", "prod"}});
    core::poll_settings own;  // the batch's own poll settings, inherited by its tasks
    own.interval = 3s;
    own.max_interval = 10s;
    auto b2 =
        s.create_batch({"lb", "DeleteLoadBalancers", "ap-shanghai", {}, "token-2", {}, {}, own});
    ASSERT_EQ(b2->poll, own);
    batch_outcome o;
    o.code = 5100;
    o.message = "partly";
    o.entries = {accepted("lb-1", "L1"), accepted("lb-2", "L1"), rejected("lb-3", 4001, "no")};
    o.deadline = clock.system_now() + 10min;
    s.record_batch_outcome(b2->id, o);
    auto b3 = s.create_batch({"lb", "X", "", {}, ""});
    s.mark_batch_unknown(b3->id, "reset after send");
    s.adopt_task({"bmlb", "A1", "CreateL7", {"res"}, {{"team", "x"}}, clock.system_now() + 1h});
    clock.advance(1s);
    task_update u;
    u.state = task_state::running;
    u.last_status = "RUNNING";
    u.count_poll = true;
    s.update_task({"cvm", "r1"}, u);
    set_state(s, "cvm", "r2", task_state::succeeded);
    set_state(s, "cvm", "r3", task_state::failed);
    s.cancel_task({"bmlb", "A1"});
    set_state(s, "lb", "L1", task_state::running);
    core::poll_settings adopted_own;
    adopted_own.initial_delay = 5s;
    auto a2 = s.adopt_task({"bmlb", "A2", "CreateL7", {}, {}, {}, "", adopted_own});
    ASSERT_EQ(a2->poll, adopted_own);
    ASSERT_EQ(s.get_task({"lb", "L1"})->poll, own);
    set_state(s, "bmlb", "A2", task_state::not_found);
    clock.advance(2h);
    s.expire(clock.system_now());  // the unknown batch and the adopted terminal tasks go
    s.adopt_task({"bmlb", "A1", "CreateL7", {}, {}, {}});  // re-tracked after expiry
    set_state(s, "cvm", "r1", task_state::succeeded);      // b1 done
}

TEST(Restore, replaying_observed_changes_rebuilds_an_identical_store) {
    core::manual_clock clock;
    auto opts = seeded_options();
    opts.retention.ttl = 1h;
    store original{clock, opts};
    recorder rec;
    original.set_observer(&rec);
    build_history(original, clock);
    ASSERT_GT(rec.events.size(), 20u);
    EXPECT_EQ(rec.events.back().c.seq, original.seq());

    store copy{clock, opts};
    replay(rec.events, copy);
    expect_identical(original, copy);
    EXPECT_EQ(copy.find_batch_by_token("token-2")->id, original.find_batch_by_token("token-2")->id);
    EXPECT_TRUE(copy.changes_since(1, 10).gap);  // history before the restore is not held

    // Both continue identically.
    for (store* s : {&original, &copy}) {
        set_state(*s, "lb", "L1", task_state::succeeded);
        set_state(*s, "bmlb", "A1", task_state::failed);
        s->adopt_task({"lb", "new", "A", {}, {}, {}});
    }
    original.set_observer(nullptr);
    expect_identical(original, copy);
    clock.advance(2h);
    EXPECT_EQ(original.expire(clock.system_now()), copy.expire(clock.system_now()));
    expect_identical(original, copy);
}

TEST(Restore, snapshot_order_does_not_matter) {
    core::manual_clock clock;
    store original{clock, seeded_options()};
    for (int i = 0; i < 50; ++i) original.adopt_task({"lb", std::to_string(i), "A", {}, {}, {}});
    for (int i = 0; i < 50; i += 3)
        set_state(original, "lb", std::to_string(i), task_state::failed);
    auto tasks = all_tasks(original);
    store copy{clock, seeded_options()};
    for (auto it = tasks.rbegin(); it != tasks.rend(); ++it) ASSERT_TRUE(copy.restore_task(*it));
    copy.finish_restore();
    expect_identical(original, copy);
    auto p1 = copy.list_tasks({}, {10, ""});
    EXPECT_EQ(p1->items.front().request_id, "0");
    EXPECT_EQ(copy.list_tasks({}, {10, p1->next_page_token})->items.front().request_id, "10");
}

TEST(Restore, malformed_objects_are_refused) {
    core::manual_clock clock;
    store s{clock, seeded_options()};
    core::task t;
    t.service = "lb";
    t.request_id = "1";
    t.created_seq = 5;
    t.batch_id = "b-000000000001";
    auto r = s.restore_task(t);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find("unknown batch"), std::string::npos);
    t.batch_id.clear();
    t.created_seq = 0;
    EXPECT_FALSE(s.restore_task(t));
    t.created_seq = 5;
    t.service = "Bad Service";
    EXPECT_FALSE(s.restore_task(t));
    core::batch b;
    b.id = "not-an-id";
    b.service = "lb";
    b.created_seq = 1;
    EXPECT_FALSE(s.restore_batch(b));
}

TEST(Restore, restored_live_tasks_resume_and_ids_do_not_collide) {
    core::manual_clock clock;
    store original{clock, seeded_options()};
    recorder rec;
    original.set_observer(&rec);
    auto id = submit(original, "lb", "A", {"1"});
    store copy{clock, seeded_options()};  // same id seed: would generate the same id next
    replay(rec.events, copy);
    std::vector<std::string> live;
    copy.for_each_live_task(
        [&](const core::task_key& k, task_state, core::sys_time) { live.push_back(k.request_id); });
    EXPECT_EQ(live, (std::vector<std::string>{"1"}));
    auto fresh = copy.create_batch({"lb", "A", "", {}, ""});
    ASSERT_TRUE(fresh);
    EXPECT_NE(fresh->id, id);
    EXPECT_GT(fresh->created_seq, original.seq());
    int fired = 0;
    auto h = copy.watch_batch_terminal(id, [&] { ++fired; });
    set_state(copy, "lb", "1", task_state::succeeded);
    EXPECT_EQ(fired, 1);
}

}  // namespace

// restore_task remembers the last batch it looked up and label_sets the last set: an expired
// batch must not be found through that memory, and alternating label sets keep their own ids.
TEST(Restore, remembered_batch_and_labels_do_not_outlive_an_expiry) {
    core::manual_clock clock;
    store s{clock, seeded_options()};
    core::batch b;
    b.id = "b-000000000001";
    b.service = "lb";
    b.action = "DeleteLoadBalancers";
    b.state = core::batch_state::done;
    b.created_seq = 1;
    b.labels = {{"owner", "a"}};
    ASSERT_TRUE(s.restore_batch(b));
    core::task t;
    t.service = "lb";
    t.action = "DeleteLoadBalancers";
    t.request_id = "1";
    t.resources = {"lb-1"};
    t.created_seq = 2;
    t.batch_id = b.id;
    t.labels = {{"owner", "a"}};
    t.state = task_state::succeeded;  // a batch expires once finished, its tasks with it
    ASSERT_TRUE(s.restore_task(t));
    t.request_id = "2";
    t.created_seq = 3;
    t.labels = {{"owner", "b"}};
    ASSERT_TRUE(s.restore_task(t));
    t.request_id = "3";
    t.created_seq = 4;
    t.labels = {{"owner", "a"}};
    ASSERT_TRUE(s.restore_task(t));
    s.restore_expired_batch(b.id, 5);
    t.request_id = "4";
    t.created_seq = 6;
    t.state = task_state::pending;
    auto r = s.restore_task(t);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find("unknown batch"), std::string::npos);
    // A new batch at another position is found, not the remembered one.
    b.id = "b-000000000002";
    b.state = core::batch_state::submitted;
    b.created_seq = 7;
    ASSERT_TRUE(s.restore_batch(b));
    t.batch_id = b.id;
    t.created_seq = 8;
    ASSERT_TRUE(s.restore_task(t));
    s.finish_restore();
    auto got = s.get_task({"lb", "4"});
    ASSERT_TRUE(got);
    EXPECT_EQ(got->batch_id, "b-000000000002");
    EXPECT_EQ(got->labels, (core::labels{{"owner", "a"}}));
    EXPECT_FALSE(s.get_task({"lb", "1"}));  // forgotten with its batch
    auto a = s.list_tasks({.labels = {{"owner", "a"}}}, {});
    ASSERT_TRUE(a);
    ASSERT_EQ(a->items.size(), 1u);
    EXPECT_EQ(a->items[0].request_id, "4");
}

// A kill between a batch's outcome record and its tasks' records: the replayed batch is
// `submitted` without (some of) its tasks; they are tracked again from its entries.
TEST(Restore, tasks_lost_after_an_outcome_are_tracked_again_from_the_batch) {
    core::manual_clock clock;
    store original{clock, seeded_options()};
    recorder rec;
    original.set_observer(&rec);
    auto b = original.create_batch({"cvm", "StopInstances", "ap-guangzhou", {{"env", "prod"}}, ""});
    ASSERT_TRUE(b);
    batch_outcome o;
    o.entries = {accepted("ins-1", "R1"), accepted("ins-2", "R2"), accepted("ins-3", "R2"),
                 rejected("ins-4", 5100, "wrong state")};
    o.deadline = clock.system_now() + 10min;
    ASSERT_TRUE(original.record_batch_outcome(b->id, o));
    // The log as a kill after the outcome and the first task record left it.
    std::vector<recorder::event> cut;
    int tasks_kept = 0;
    for (const auto& e : rec.events) {
        if (e.c.kind == change_kind::task_created && tasks_kept++ >= 1) continue;
        cut.push_back(e);
    }
    ASSERT_EQ(tasks_kept, 2);  // R1 and R2 (ins-2 + ins-3) were created; R2's record is cut

    store copy{clock, seeded_options()};
    replay(cut, copy);
    ASSERT_TRUE(copy.get_task({"cvm", "R1"}));
    ASSERT_FALSE(copy.get_task({"cvm", "R2"}));
    recorder journaled;
    copy.set_observer(&journaled);
    EXPECT_EQ(copy.track_lost_outcome_tasks(), 1u);
    auto r2 = copy.get_task({"cvm", "R2"});
    ASSERT_TRUE(r2);
    EXPECT_EQ(r2->state, task_state::pending);
    EXPECT_EQ(r2->batch_id, b->id);
    EXPECT_EQ(r2->resources, (std::vector<std::string>{"ins-2", "ins-3"}));
    EXPECT_EQ(r2->labels, (core::labels{{"env", "prod"}}));
    EXPECT_EQ(r2->region, "ap-guangzhou");
    EXPECT_EQ(r2->deadline, o.deadline);  // the surviving sibling's
    EXPECT_GT(r2->created_seq, copy.get_task({"cvm", "R1"})->created_seq);
    // The new task is a normal change, so the journal records it.
    ASSERT_EQ(journaled.events.size(), 1u);
    EXPECT_EQ(journaled.events[0].c.kind, change_kind::task_created);
    // Nothing more to do, and the batch finishes when both tasks do.
    EXPECT_EQ(copy.track_lost_outcome_tasks(), 0u);
    set_state(copy, "cvm", "R1", task_state::succeeded);
    set_state(copy, "cvm", "R2", task_state::succeeded);
    EXPECT_EQ(copy.get_batch(b->id)->state, core::batch_state::done);
}

// Without a surviving sibling the recreated task has no deadline; rejected entries and
// batches that are not `submitted` are left alone.
TEST(Restore, lost_outcome_tasks_without_a_sibling_have_no_deadline) {
    core::manual_clock clock;
    store original{clock, seeded_options()};
    recorder rec;
    original.set_observer(&rec);
    auto b = original.create_batch({"lb", "RegisterInstancesWithLoadBalancer", "", {}, "tok"});
    batch_outcome o;
    o.entries = {accepted("lb-1", "77")};
    o.deadline = clock.system_now() + 10min;
    ASSERT_TRUE(original.record_batch_outcome(b->id, o));
    auto rejected_batch = original.create_batch({"lb", "X", "", {}, ""});
    batch_outcome no;
    no.code = 4000;
    no.entries = {rejected("lb-2", 4000, "bad")};
    ASSERT_TRUE(original.record_batch_outcome(rejected_batch->id, no));
    std::vector<recorder::event> cut;
    for (const auto& e : rec.events) {
        if (e.c.kind != change_kind::task_created) cut.push_back(e);
    }
    store copy{clock, seeded_options()};
    replay(cut, copy);
    EXPECT_EQ(copy.track_lost_outcome_tasks(), 1u);
    auto t = copy.get_task({"lb", "77"});
    ASSERT_TRUE(t);
    EXPECT_EQ(t->deadline, core::sys_time{});
    EXPECT_EQ(t->batch_id, b->id);
    EXPECT_EQ(copy.task_count(), 1u);
    EXPECT_EQ(copy.get_batch(rejected_batch->id)->state, core::batch_state::rejected);
}

// Two adopted tasks with one requestId, one in a region and one without: a replay must not take
// the region-less one's records for the other's (an exact identity, not a qualified lookup).
TEST(Restore, a_region_less_task_does_not_replace_a_regional_one_with_its_request_id) {
    core::manual_clock clock;
    store original{clock, seeded_options()};
    recorder rec;
    original.set_observer(&rec);
    ASSERT_TRUE(original.adopt_task({"lb", "1", "A", {}, {}, {}, "ap-x"}));
    ASSERT_TRUE(original.adopt_task({"lb", "1", "B", {}, {}, {}, ""}));
    ASSERT_TRUE(set_state(original, "lb", "1", task_state::failed));  // the exact match: ""
    ASSERT_EQ(original.task_count(), 2u);
    store copy{clock, seeded_options()};
    replay(rec.events, copy);
    expect_identical(original, copy);
    EXPECT_EQ(copy.get_task({"lb", "1", "ap-x", ""})->action, "A");
    EXPECT_EQ(copy.get_task({"lb", "1", "", ""})->action, "B");
}

// The same for a restored batch (journal replay, a ledger node loading the current state): an
// accepted entry's requestId with a newline would be split into another requestId and message
// by the entry's one-string layout (records.hpp).
TEST(Restore, an_accepted_entry_with_a_malformed_request_id_is_refused) {
    core::manual_clock clock;
    store s{clock, seeded_options()};
    core::batch b;
    b.id = "b-000000000001";
    b.service = "lb";
    b.created_seq = 1;
    b.updated_seq = 1;
    b.state = core::batch_state::submitted;
    core::entry e;
    e.resource_id = "res-1";
    e.outcome = core::entry_outcome::accepted;
    e.request_id = "r1\nforged";
    b.entries.push_back(e);
    auto r = s.restore_batch(b);
    EXPECT_FALSE(r) << "kept as requestId " << s.get_batch(b.id)->entries.at(0).request_id;
    b.entries[0].request_id = "r1";
    EXPECT_TRUE(s.restore_batch(b));
}

// A batch task keeps no service, action or labels of its own when they are its batch's (issue
// 20): they are read from the batch record. A journal whose later record of a batch names
// another service, action or labels than the one its tasks were restored under (no store writes
// that: a damaged or edited journal) changed every such task with it: the task was listed under
// the new service but indexed under the old one, so no lookup by key found it and its poller's
// updates failed. Before issue 20 each task kept its own; it must still read back as recorded.
TEST(Restore, a_batch_record_naming_another_service_does_not_change_its_restored_tasks) {
    core::manual_clock clock;
    store original{clock, seeded_options()};
    auto id = submit(original, "lb", "DeleteLoadBalancers", {"r1", "r2"}, {{"env", "prod"}});
    auto b = *original.get_batch(id);
    auto t1 = *original.get_task({"lb", "r1"});
    auto t2 = *original.get_task({"lb", "r2"});

    store copy{clock, seeded_options()};
    ASSERT_TRUE(copy.restore_batch(b));
    ASSERT_TRUE(copy.restore_task(t1));
    ASSERT_TRUE(copy.restore_task(t2));
    auto odd = b;
    odd.service = "cvm";
    odd.action = "StopInstances";
    odd.labels = {{"env", "dev"}};
    odd.updated_seq = t2.updated_seq + 1;
    ASSERT_TRUE(copy.restore_batch(odd));
    copy.finish_restore();

    EXPECT_EQ(copy.get_batch(id)->service, "cvm");
    for (const auto& t : {t1, t2}) {
        auto got = copy.get_task(t.key());
        ASSERT_TRUE(got) << core::format_task_identity(t.key());
        EXPECT_EQ(*got, t);
        EXPECT_TRUE(set_state(copy, "lb", t.request_id, task_state::running));
    }
    task_filter f;
    f.service = "lb";
    EXPECT_EQ(copy.list_tasks(f, {})->items.size(), 2u);
}
