// Journal replay: round trips, client tokens, intents, torn tails, corruption, compaction.
#include <gtest/gtest.h>

#include "journal_helpers.hpp"
#include "store/journal_record.hpp"

namespace core = taskpoller::core;
using namespace taskpoller::store;
using namespace taskpoller::store::test;
using core::task_state;
using namespace std::chrono_literals;

namespace {

struct JournalReplay : ::testing::Test {
    temp_dir dir;
    std::string path = dir.file("journal");
    core::manual_clock clock;
    int syncs = 0;
    log_capture logs;

    journal_options options(bool recover = false) {
        auto o = counting_options(syncs);
        o.recover = recover;
        o.log = logs.logger();
        return o;
    }
    std::unique_ptr<journal> open_into(store& s, bool recover = false) {
        auto j = journal::open(path, options(recover));
        EXPECT_TRUE(j) << (j ? "" : j.error().message);
        auto r = (*j)->replay(s);
        EXPECT_TRUE(r) << (r ? "" : r.error().message);
        return std::move(*j);
    }
    core::result<replay_stats> replay_fresh(store& s, bool recover = false) {
        auto j = journal::open(path, options(recover));
        if (!j) return j.error();
        return (*j)->replay(s);
    }
    store_options store_opts() {
        auto o = seeded_options();
        o.retention.ttl = 1h;
        return o;
    }
};

// Every kind of change, ending with nothing in `submitting`.
void build_history(store& s, core::manual_clock& clock) {
    submit(s, "cvm", "StopInstances", {"r1", "r2", "r3"}, {{"env", "prod"}});
    auto b2 = s.create_batch({"lb", "DeleteLoadBalancers", "ap-shanghai", {}, "token-2"});
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
    s.adopt_task({"bmlb", "A2", "CreateL7", {}, {}, {}});
    set_state(s, "bmlb", "A2", task_state::not_found);
    clock.advance(2h);
    s.expire(clock.system_now());
    s.adopt_task({"bmlb", "A1", "CreateL7", {}, {}, {}, "ap-chengdu"});
    set_state(s, "cvm", "r1", task_state::succeeded);
}

TEST_F(JournalReplay, replay_rebuilds_an_identical_store_and_tokens_still_deduplicate) {
    store original{clock, store_opts()};
    auto j = open_into(original);
    build_history(original, clock);
    EXPECT_EQ(j->counters().records, original.seq());
    j.reset();

    store copy{clock, store_opts()};
    auto cj = journal::open(path, options());
    ASSERT_TRUE(cj);
    auto st = (*cj)->replay(copy);
    ASSERT_TRUE(st) << st.error().message;
    EXPECT_EQ(st->log_records, original.seq());
    EXPECT_EQ(st->marked_unknown, 0u);
    EXPECT_EQ(st->truncated_bytes, 0u);
    expect_same_store(original, copy);
    // Where each live task is polled survives: an adoption's own region, a batch's.
    EXPECT_EQ(copy.get_task({"bmlb", "A1"})->region, "ap-chengdu");
    EXPECT_EQ(copy.get_task({"lb", "L1"})->region, "ap-shanghai");
    auto tok = copy.find_batch_by_token("token-2");
    ASSERT_TRUE(tok);
    EXPECT_EQ(tok->id, original.find_batch_by_token("token-2")->id);
    auto dup = copy.create_batch({"lb", "DeleteLoadBalancers", "ap-shanghai", {}, "token-2"});
    ASSERT_FALSE(dup);
    EXPECT_EQ(dup.error().kind, core::error_kind::conflict);
}

// Issue 16 item 4: tasks that share a service and requestId (the cloud reused it, or two regions
// issued it) are journaled, replayed and forgotten each as itself.
TEST_F(JournalReplay, tasks_sharing_a_request_id_replay_apart_and_expire_apart) {
    store s{clock, store_opts()};  // finished units are kept 1 h
    auto j = open_into(s);
    auto first = submit(s, "lb", "A", {"7"});
    ASSERT_TRUE(set_state(s, "lb", "7", task_state::failed));
    ASSERT_TRUE(s.adopt_task({"lb", "7", "A", {}, {}, {}, "ap-shanghai"}));
    ASSERT_TRUE(s.adopt_task({"lb", "7", "A", {}, {}, {}, "ap-chengdu"}));
    ASSERT_TRUE(s.cancel_task({"lb", "7", "ap-shanghai"}));
    clock.advance(30min);
    auto second = submit(s, "lb", "A", {"7"});
    EXPECT_EQ(s.task_key_collisions(), 3u);
    clock.advance(40min);  // the first batch and the ap-shanghai task finished 70 min ago
    EXPECT_EQ(s.expire(clock.system_now()), 3u);  // the batch, its task, the adopted task
    EXPECT_EQ(s.task_count(), 2u);
    j.reset();

    store again{clock, store_opts()};
    ASSERT_TRUE(replay_fresh(again));
    expect_same_store(s, again);
    EXPECT_EQ(again.task_count(), 2u);
    EXPECT_FALSE(again.get_batch(first));
    EXPECT_EQ(again.task_state_of({"lb", "7", "", second}), task_state::pending);
    EXPECT_EQ(again.task_state_of({"lb", "7", "ap-chengdu"}), task_state::pending);
    EXPECT_FALSE(again.get_task({"lb", "7", "ap-shanghai"}));
    EXPECT_FALSE(again.get_task({"lb", "7"}));  // two left: ambiguous, never a guess
}

TEST_F(JournalReplay, changes_after_a_restart_are_journaled_too) {
    {
        store s{clock, store_opts()};
        auto j = open_into(s);
        submit(s, "lb", "A", {"1", "2"});
    }
    {
        store s{clock, store_opts()};
        auto j = open_into(s);
        set_state(s, "lb", "1", task_state::succeeded);
        s.adopt_task({"lb", "3", "A", {}, {}, {}});
        j.reset();
        store again{clock, store_opts()};
        ASSERT_TRUE(replay_fresh(again));
        expect_same_store(s, again);
        EXPECT_EQ(again.task_state_of({"lb", "1"}), task_state::succeeded);
        EXPECT_EQ(again.task_count(), 3u);
    }
}

TEST_F(JournalReplay, a_submitting_batch_becomes_unknown_and_is_not_resent) {
    std::string id;
    {
        store s{clock, store_opts()};
        auto j = open_into(s);
        // The intent names its resources; then "kill -9".
        id = s.create_batch({"lb", "A", "", {}, "tok", {"lb-1", "lb-2"}})->id;
    }
    store s{clock, store_opts()};
    auto j = journal::open(path, options());
    auto st = (*j)->replay(s);
    ASSERT_TRUE(st);
    EXPECT_EQ(st->marked_unknown, 1u);
    auto b = s.get_batch(id);
    ASSERT_TRUE(b);
    EXPECT_EQ(b->state, core::batch_state::unknown);
    EXPECT_EQ(b->message, "the daemon stopped before the outcome was recorded; not re-sent");
    // The resources the lost call named are still listed: the operator knows what to check.
    ASSERT_EQ(b->entries.size(), 2u);
    for (const auto& e : b->entries) {
        EXPECT_EQ(e.outcome, core::entry_outcome::unknown);
        EXPECT_EQ(e.request_id, "");
        EXPECT_EQ(e.message, b->message);
    }
    EXPECT_EQ(b->entries[0].resource_id, "lb-1");
    EXPECT_EQ(b->entries[1].resource_id, "lb-2");
    EXPECT_EQ(s.find_batch_by_token("tok")->id, id);
    EXPECT_TRUE(logs.has(core::log_level::warn, id));
    j->reset();
    store again{clock, store_opts()};  // the marking itself was journaled
    auto st2 = replay_fresh(again);
    ASSERT_TRUE(st2);
    EXPECT_EQ(st2->marked_unknown, 0u);
    expect_same_store(s, again);
}

TEST_F(JournalReplay, torn_tail_at_every_byte_is_truncated_to_the_prefix) {
    std::uint64_t before = 0, after = 0;
    {
        store s{clock, store_opts()};
        auto j = open_into(s);
        build_history(s, clock);
        before = j->counters().log_bytes;
        set_state(s, "lb", "L1", task_state::succeeded);  // the last records (task + batch done)
        after = j->counters().log_bytes;
    }
    auto full = read_bytes(path);
    ASSERT_EQ(full.size(), after);
    write_bytes(path, full.substr(0, before));
    store expected{clock, store_opts()};
    ASSERT_TRUE(replay_fresh(expected));
    for (auto cut = before + 1; cut < after; ++cut) {
        write_bytes(path, full.substr(0, cut));
        store s{clock, store_opts()};
        logs.lines.clear();
        auto st = replay_fresh(s);
        ASSERT_TRUE(st) << "cut " << cut << ": " << st.error().message;
        // The task record may be whole while the batch one is torn.
        // Then the batch's end is derived and journaled again.
        auto last_complete = cut - st->truncated_bytes;
        if (st->batches_finished == 0) {
            EXPECT_EQ(read_bytes(path).size(), last_complete) << cut;
        }
        if (last_complete == before) {
            expect_same_store(expected, s);
            EXPECT_TRUE(logs.has(core::log_level::warn, "torn or corrupt tail")) << cut;
        } else {
            EXPECT_EQ(s.task_state_of({"lb", "L1"}), task_state::succeeded) << cut;
            auto task = s.get_task({"lb", "L1"});
            EXPECT_EQ(s.get_batch(task->batch_id)->state, core::batch_state::done) << cut;
        }
    }
}

TEST_F(JournalReplay, corruption_in_the_middle_refuses_unless_recover) {
    std::uint64_t middle = 0;
    {
        store s{clock, store_opts()};
        auto j = open_into(s);
        s.adopt_task({"lb", "1", "A", {}, {}, {}});
        middle = j->counters().log_bytes;
        s.adopt_task({"lb", "2", "A", {}, {}, {}});
        s.adopt_task({"lb", "3", "A", {}, {}, {}});
    }
    auto bytes = read_bytes(path);
    bytes[middle + journal_header_size + 3] ^= 0x40;  // inside task 2's payload
    write_bytes(path, bytes);
    {
        store s{clock, store_opts()};
        auto r = replay_fresh(s);
        ASSERT_FALSE(r);
        EXPECT_NE(r.error().message.find("offset " + std::to_string(middle)), std::string::npos)
            << r.error().message;
        EXPECT_NE(r.error().message.find("--recover"), std::string::npos);
        EXPECT_EQ(read_bytes(path), bytes);  // nothing was changed on refusal
    }
    store s{clock, store_opts()};
    auto st = replay_fresh(s, true);
    ASSERT_TRUE(st) << st.error().message;
    EXPECT_EQ(st->skipped_records, 1u);
    EXPECT_TRUE(s.get_task({"lb", "1"}));
    EXPECT_FALSE(s.get_task({"lb", "2"}));
    EXPECT_TRUE(s.get_task({"lb", "3"}));
    EXPECT_TRUE(logs.has(core::log_level::error, "RECOVER"));
    // The damaged log was compacted away: a normal start works again.
    store again{clock, store_opts()};
    auto st2 = replay_fresh(again);
    ASSERT_TRUE(st2) << st2.error().message;
    expect_same_store(s, again);
}

TEST_F(JournalReplay, a_file_that_is_not_a_journal_is_refused) {
    write_bytes(path, "hello, this is not a journal");
    auto j = journal::open(path, options());
    ASSERT_FALSE(j);
    EXPECT_NE(j.error().message.find("not a taskpoller journal"), std::string::npos);
    write_bytes(path, std::string("TPJL\x09\0\0\0", 8));
    j = journal::open(path, options());
    ASSERT_FALSE(j);
    EXPECT_NE(j.error().message.find("format version 9"), std::string::npos);
}

TEST_F(JournalReplay, a_non_empty_store_is_refused) {
    store s{clock, store_opts()};
    s.adopt_task({"lb", "1", "A", {}, {}, {}});
    auto r = replay_fresh(s);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find("not empty"), std::string::npos);
}

}  // namespace

// A kill anywhere while a batch's outcome is being appended (its batch record, then one record
// per task): the batch comes back either `unknown` (the outcome record did not make it) or
// `submitted` with every one of its tasks, never `submitted` with tasks missing.
TEST_F(JournalReplay, a_cut_inside_an_outcome_never_leaves_a_batch_without_its_tasks) {
    std::uint64_t before = 0, after = 0;
    std::string id;
    {
        store s{clock, store_opts()};
        auto j = open_into(s);
        id = s.create_batch(
                  {"cvm", "StopInstances", "ap-guangzhou", {}, "tok", {"i-1", "i-2", "i-3"}})
                 ->id;
        before = j->counters().log_bytes;
        batch_outcome o;
        o.entries = {accepted("i-1", "R1"), accepted("i-2", "R2"), accepted("i-3", "R3")};
        o.deadline = clock.system_now() + 10min;
        ASSERT_TRUE(s.record_batch_outcome(id, o));
        after = j->counters().log_bytes;
    }
    auto full = read_bytes(path);
    // The control file as the killed daemon left it (each replay below rewrites it).
    auto control = read_bytes(path + ".control");
    ASSERT_EQ(full.size(), after);
    int unknown = 0, repaired = 0, whole = 0;
    for (auto cut = before; cut <= after; ++cut) {
        write_bytes(path, full.substr(0, cut));
        write_bytes(path + ".control", control);
        store s{clock, store_opts()};
        logs.lines.clear();
        auto st = replay_fresh(s);
        ASSERT_TRUE(st) << "cut " << cut << ": " << st.error().message;
        auto b = s.get_batch(id);
        ASSERT_TRUE(b) << cut;
        if (b->state == core::batch_state::unknown) {
            EXPECT_EQ(s.task_count(), 0u) << cut;
            ++unknown;
            continue;
        }
        ASSERT_EQ(b->state, core::batch_state::submitted) << cut;
        for (const auto* rid : {"R1", "R2", "R3"}) {
            auto t = s.get_task({"cvm", rid});
            ASSERT_TRUE(t) << "cut " << cut << ": " << rid << " missing";
            EXPECT_EQ(t->batch_id, id);
            EXPECT_EQ(t->state, task_state::pending);
        }
        if (st->lost_tasks_tracked > 0) {
            ++repaired;
            EXPECT_LE(st->lost_tasks_tracked, 3u) << cut;
            EXPECT_TRUE(logs.has(core::log_level::warn, "tracking them again")) << cut;
            // The recreated tasks were journaled: the next start has nothing to repair.
            store again{clock, store_opts()};
            auto st2 = replay_fresh(again);
            ASSERT_TRUE(st2) << cut;
            EXPECT_EQ(st2->lost_tasks_tracked, 0u) << cut;
            EXPECT_EQ(again.task_count(), 3u) << cut;
        } else {
            ++whole;
        }
    }
    EXPECT_GT(unknown, 0);
    EXPECT_GT(repaired, 0);  // cuts between the outcome record and the last task record
    EXPECT_EQ(whole, 1);     // only the uncut log holds every record
}

// A kill anywhere while the last task of a batch ends (its task record, then the batch's `done`
// record): the batch comes back `done` once its last task is terminal, never `submitted` with
// nothing left to poll (seen once in CI's crash test: a batch stuck `submitted` forever).
TEST_F(JournalReplay, a_cut_between_the_last_task_and_its_batch_still_finishes_the_batch) {
    std::uint64_t before = 0, after = 0;
    std::string id;
    {
        store s{clock, store_opts()};
        auto j = open_into(s);
        id =
            s.create_batch({"cvm", "StopInstances", "ap-guangzhou", {}, "tok", {"i-1", "i-2"}})->id;
        batch_outcome o;
        o.entries = {accepted("i-1", "R1"), accepted("i-2", "R2")};
        o.deadline = clock.system_now() + 10min;
        ASSERT_TRUE(s.record_batch_outcome(id, o));
        set_state(s, "cvm", "R1", task_state::succeeded);
        before = j->counters().log_bytes;
        set_state(s, "cvm", "R2", task_state::failed);
        after = j->counters().log_bytes;
        ASSERT_EQ(s.get_batch(id)->state, core::batch_state::done);
    }
    auto full = read_bytes(path);
    auto control = read_bytes(path + ".control");
    ASSERT_EQ(full.size(), after);
    int live = 0, repaired = 0, whole = 0;
    for (auto cut = before; cut <= after; ++cut) {
        write_bytes(path, full.substr(0, cut));
        write_bytes(path + ".control", control);
        store s{clock, store_opts()};
        logs.lines.clear();
        auto st = replay_fresh(s);
        ASSERT_TRUE(st) << "cut " << cut << ": " << st.error().message;
        auto b = s.get_batch(id);
        ASSERT_TRUE(b) << cut;
        auto r2 = s.get_task({"cvm", "R2"});
        ASSERT_TRUE(r2) << cut;
        if (r2->state == task_state::pending) {  // R2's end was cut: polled again, batch waits
            EXPECT_EQ(b->state, core::batch_state::submitted) << cut;
            EXPECT_EQ(st->batches_finished, 0u) << cut;
            ++live;
            continue;
        }
        ASSERT_EQ(r2->state, task_state::failed) << cut;
        ASSERT_EQ(b->state, core::batch_state::done) << cut;
        if (st->batches_finished > 0) {
            ++repaired;
            EXPECT_EQ(st->batches_finished, 1u) << cut;
            EXPECT_TRUE(logs.has(core::log_level::warn, "now done")) << cut;
            // The repair was journaled: the next start has nothing to repair.
            store again{clock, store_opts()};
            auto st2 = replay_fresh(again);
            ASSERT_TRUE(st2) << cut;
            EXPECT_EQ(st2->batches_finished, 0u) << cut;
            EXPECT_EQ(again.get_batch(id)->state, core::batch_state::done) << cut;
        } else {
            ++whole;
        }
    }
    EXPECT_GT(live, 0);
    EXPECT_GT(repaired, 0);  // cuts between R2's record and the batch's
    EXPECT_EQ(whole, 1);     // only the uncut log holds both
}
