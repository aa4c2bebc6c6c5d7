// Issue 20: a batch entry reads its requestId from its task (linked by the task's slot in the
// batch's task list) and a batch task reads its service, action, labels, region and poll settings
// from its batch. Every view must read back as it was written, through task changes, expiry,
// compaction (which rebuilds the task lists), a journal restore and a detached task.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <optional>

#include "helpers.hpp"

namespace core = taskpoller::core;
using namespace taskpoller::store;
using namespace taskpoller::store::test;
using core::task_state;
using namespace std::chrono_literals;

namespace {

core::entry with_message(core::entry e, std::string message) {
    e.message = std::move(message);
    return e;
}

core::poll_settings every(std::chrono::milliseconds interval) {
    core::poll_settings p;
    p.interval = interval;
    return p;
}

std::vector<core::batch> all_batches(const store& s) {
    return all_pages<core::batch>(s, batch_filter{}, 500, &store::list_batches);
}
std::vector<core::task> all_tasks(const store& s) {
    return all_pages<core::task>(s, task_filter{}, 500, &store::list_tasks);
}

/// A store with every kind of batch: one requestId per entry (CLB), one requestId for several
/// entries (CVM), rejected entries before accepted ones, messages with newlines, a requestId
/// reused by another batch, and adopted tasks in between.
struct workload {
    core::manual_clock clock;
    store s{clock, [] {
                auto o = seeded_options();
                o.retention = {1s, 1'000'000, 1'000'000};
                return o;
            }()};
    std::map<std::string, core::batch> batches;  // as recorded, before any task changed
    std::map<std::string, core::task> tasks;     // identity → as created
    int next_rid = 1000;

    std::string rid() { return std::to_string(next_rid++); }

    void add(int i) {
        if (i % 5 == 4) {
            adopt_spec a{"cvm",
                         "a" + std::to_string(i),
                         "RebootInstances",
                         {"ins-" + std::to_string(i), "ins-x"},
                         {{"kind", "adopted"}},
                         {},
                         i % 2 ? "ap-beijing" : "ap-shanghai",
                         every(std::chrono::milliseconds(700 + i))};
            auto t = s.adopt_task(a);
            ASSERT_TRUE(t) << t.error().message;
            tasks[core::format_task_identity(t->key())] = *t;
            return;
        }
        batch_spec spec{i % 2 ? "lb" : "cvm",
                        "Act" + std::to_string(i % 3),
                        "ap-guangzhou",
                        {{"n", std::to_string(i % 3)}},
                        "",
                        {},
                        "target-" + std::to_string(i),
                        every(std::chrono::milliseconds(1000 + i))};
        auto b = s.create_batch(spec);
        ASSERT_TRUE(b) << b.error().message;
        batch_outcome o;
        o.deadline = clock.system_now() + 1h;
        switch (i % 5) {
            case 0:  // one requestId per entry
                for (int j = 0; j < 5; ++j) o.entries.push_back(accepted("lb-" + rid(), rid()));
                break;
            case 1: {  // one requestId for three entries, a rejected one
                auto shared = rid();
                for (int j = 0; j < 3; ++j) o.entries.push_back(accepted("ins-" + rid(), shared));
                o.entries.push_back(rejected("ins-bad", 4, "no such\ninstance"));
                break;
            }
            case 2:  // rejected first, an accepted entry with a message
                o.entries.push_back(rejected("lb-gone", 7, "gone"));
                o.entries.push_back(with_message(accepted("lb-" + rid(), rid()), "queued\nbehind"));
                o.entries.push_back(accepted("lb-" + rid(), rid()));
                break;
            case 3:  // a requestId another batch's task has (the cloud reused it)
                o.entries.push_back(accepted("lb-reuse", "1000"));
                o.entries.push_back(accepted("lb-" + rid(), rid()));
                break;
        }
        auto r = s.record_batch_outcome(b->id, o);
        ASSERT_TRUE(r) << r.error().message;
        batches[r->id] = *r;
        for (const auto& t : all_tasks_of(r->id)) tasks[core::format_task_identity(t.key())] = t;
    }

    std::vector<core::task> all_tasks_of(const std::string& batch_id) {
        task_filter f;
        f.batch_id = batch_id;
        auto p = s.list_tasks(f, {1000, ""});
        EXPECT_TRUE(p);
        return p ? p->items : std::vector<core::task>{};
    }

    /// Every retained batch's entries as recorded (and each accepted entry's state its task's);
    /// every retained task's identity, resources, labels, region and poll settings as created.
    void check(const store& st) const {
        for (const auto& b : all_batches(st)) {
            auto want = batches.find(b.id);
            ASSERT_NE(want, batches.end()) << b.id;
            ASSERT_EQ(b.entries.size(), want->second.entries.size()) << b.id;
            EXPECT_EQ(b.service, want->second.service);
            EXPECT_EQ(b.labels, want->second.labels);
            for (std::size_t i = 0; i < b.entries.size(); ++i) {
                const auto& e = b.entries[i];
                const auto& w = want->second.entries[i];
                EXPECT_EQ(e.resource_id, w.resource_id) << b.id << " #" << i;
                EXPECT_EQ(e.request_id, w.request_id) << b.id << " #" << i;
                EXPECT_EQ(e.message, w.message) << b.id << " #" << i;
                EXPECT_EQ(e.code, w.code) << b.id << " #" << i;
                EXPECT_EQ(e.outcome, w.outcome) << b.id << " #" << i;
                if (e.outcome != core::entry_outcome::accepted) continue;
                auto t = st.get_task({b.service, e.request_id, b.region, b.id});
                ASSERT_TRUE(t) << b.id << " #" << i;
                EXPECT_EQ(e.state, t->state) << b.id << " #" << i;
            }
        }
        for (const auto& t : all_tasks(st)) {
            auto want = tasks.find(core::format_task_identity(t.key()));
            ASSERT_NE(want, tasks.end()) << core::format_task_identity(t.key());
            EXPECT_EQ(t.action, want->second.action);
            EXPECT_EQ(t.labels, want->second.labels);
            EXPECT_EQ(t.resources, want->second.resources);
            EXPECT_EQ(t.poll, want->second.poll);
            EXPECT_EQ(t.target, want->second.target);
            EXPECT_EQ(t.deadline, want->second.deadline);
            EXPECT_EQ(t.created_at, want->second.created_at);
        }
    }
};

TEST(EntryLink, views_read_back_through_changes_expiry_and_compaction) {
    workload w;
    for (int i = 0; i < 3000; ++i) {
        w.add(i);
        if (HasFatalFailure()) return;
    }
    w.check(w.s);
    // Finish all but every seventh task (status and error in one string: both kept).
    int n = 0;
    for (const auto& t : all_tasks(w.s)) {
        task_update u;
        u.last_status = "STEP_" + std::to_string(n);
        u.last_error = n % 3 ? "" : "timed out\ntwice";
        if (n++ % 7 != 0) u.state = task_state::succeeded;
        ASSERT_TRUE(w.s.update_task(t.key(), u)) << core::format_task_identity(t.key());
    }
    n = 0;
    for (const auto& t : all_tasks(w.s)) {
        EXPECT_EQ(t.last_status, "STEP_" + std::to_string(n));
        EXPECT_EQ(t.last_error, n % 3 ? "" : "timed out\ntwice");
        ++n;
    }
    w.check(w.s);
    w.clock.advance(2s);
    auto before = w.s.compactions();
    EXPECT_GT(w.s.expire(w.clock.system_now()), 5000u);
    EXPECT_GT(w.s.compactions(), before);  // the task lists were rebuilt
    EXPECT_GT(all_batches(w.s).size(), 100u);
    w.check(w.s);
    // New work after compaction links and reads back too.
    for (int i = 3000; i < 3050; ++i) w.add(i);
    w.check(w.s);
}

// A batch whose answer accepted every resource, one task each or one for several, keeps no
// entries (they are its tasks'); one with a rejected entry, a code or a message keeps them.
TEST(EntryLink, a_batch_whose_entries_are_its_tasks_keeps_none_until_they_differ) {
    workload w;
    for (int i = 0; i < 5; ++i) w.add(i);  // kinds 0 and 3 collapse; 1 and 2 do not; 4 adopted
    EXPECT_EQ(w.s.collapsed_batches(), 2u);
    w.check(w.s);
    // A CVM-style answer: one requestId for three resources, all accepted.
    auto b = w.s.create_batch({"cvm", "StopInstances", "ap-guangzhou", {}, ""});
    ASSERT_TRUE(b);
    batch_outcome o;
    for (auto res : {"ins-1", "ins-2", "ins-3"}) o.entries.push_back(accepted(res, "shared-1"));
    o.entries.push_back(accepted("ins-4", "own-4"));
    auto r = w.s.record_batch_outcome(b->id, o);
    ASSERT_TRUE(r);
    w.batches[r->id] = *r;
    for (const auto& t : w.all_tasks_of(r->id)) w.tasks[core::format_task_identity(t.key())] = t;
    EXPECT_EQ(w.s.collapsed_batches(), 3u);
    auto view = w.s.get_batch(r->id);
    ASSERT_TRUE(view);
    EXPECT_EQ(view->entries.size(), 4u);
    w.check(w.s);
    // Task changes show in the entries' states; a cancelled batch still reads back.
    ASSERT_TRUE(set_state(w.s, "cvm", "shared-1", task_state::running));
    view = w.s.get_batch(r->id);
    for (int i = 0; i < 3; ++i) EXPECT_EQ(view->entries[i].state, task_state::running) << i;
    EXPECT_EQ(view->entries[3].state, task_state::pending);
    ASSERT_TRUE(w.s.cancel_batch(r->id));
    w.check(w.s);
    EXPECT_EQ(w.s.get_batch(r->id)->entries[3].state, task_state::cancelled);
}

TEST(EntryLink, a_restored_store_reads_back_as_the_original) {
    workload w;
    for (int i = 0; i < 400; ++i) w.add(i);
    core::manual_clock clock;
    store copy{clock, seeded_options()};
    for (auto& b : all_batches(w.s)) ASSERT_TRUE(copy.restore_batch(b, true));
    for (auto& t : all_tasks(w.s)) ASSERT_TRUE(copy.restore_task(t, true));
    copy.finish_restore(0);
    w.check(copy);
    EXPECT_EQ(all_batches(copy), all_batches(w.s));
    EXPECT_EQ(all_tasks(copy), all_tasks(w.s));
    EXPECT_GT(copy.collapsed_batches(), 100u);
    EXPECT_EQ(copy.collapsed_batches(), w.s.collapsed_batches());
    // Restoring a batch's task again, or a new one (a follower reloading), makes its entries
    // again first: they say what the answer said, not what the tasks are now.
    std::optional<core::task> extra;
    for (auto& t : all_tasks(w.s)) {
        if (t.batch_id.empty()) continue;
        t.last_status = "reloaded";
        ASSERT_TRUE(copy.restore_task(t));
        const auto& entries = w.batches.at(t.batch_id).entries;
        bool collapsed = std::all_of(entries.begin(), entries.end(), [](const core::entry& e) {
            return e.outcome == core::entry_outcome::accepted && e.message.empty();
        });
        if (!extra && collapsed) extra = t;  // a collapsed batch's (kind 0 or 3)
    }
    ASSERT_TRUE(extra);
    extra->request_id = "extra-1";
    extra->resources = {"lb-extra"};
    extra->created_seq = extra->updated_seq = copy.seq() + 1;
    ASSERT_TRUE(copy.restore_task(*extra));
    w.tasks[core::format_task_identity(extra->key())] = *extra;
    copy.finish_restore(0);
    w.check(copy);
    EXPECT_EQ(copy.collapsed_batches(), w.s.collapsed_batches() - 1);
}

TEST(EntryLink, an_entry_whose_task_expired_alone_keeps_its_request_id) {
    // A journal may hold a batch task's expiry without its batch's (a crash between the two).
    workload w;
    for (int i = 0; i < 4; ++i) w.add(i);
    core::batch b;
    for (const auto& [id, rb] : w.batches) {
        if (rb.entries.size() == 5) b = rb;  // one requestId per entry
    }
    ASSERT_EQ(b.entries.size(), 5u);
    auto victim = b.entries[1];
    ASSERT_EQ(victim.outcome, core::entry_outcome::accepted);
    core::manual_clock clock;
    store copy{clock, seeded_options()};
    for (auto& rb : all_batches(w.s)) ASSERT_TRUE(copy.restore_batch(rb, true));
    for (auto& t : all_tasks(w.s)) ASSERT_TRUE(copy.restore_task(t, true));
    copy.finish_restore(0);  // links the entries
    copy.restore_expired_task({b.service, victim.request_id, b.region, b.id}, 1000);
    copy.finish_restore(0);
    auto got = copy.get_batch(b.id);
    ASSERT_TRUE(got);
    EXPECT_EQ(got->entries[1].request_id, victim.request_id);
    EXPECT_EQ(got->entries[1].state, std::nullopt);  // no task any more
    for (std::size_t j = 2; j < 5; ++j) {  // linked to tasks whose slots moved down by one
        EXPECT_EQ(got->entries[j].request_id, b.entries[j].request_id) << j;
        EXPECT_TRUE(got->entries[j].state) << j;
    }
}

TEST(EntryLink, a_live_task_whose_batch_expired_keeps_what_it_shared_with_the_batch) {
    workload w;
    w.add(4);  // an adopted task in another region, interned first below
    w.add(0);
    auto b = w.batches.begin()->second;
    auto t = *w.s.get_task({b.service, b.entries[0].request_id, b.region, b.id});
    core::manual_clock clock;
    store copy{clock, seeded_options()};
    for (const auto& [id, adopted] : w.tasks) {
        if (!adopted.batch_id.empty()) continue;
        ASSERT_NE(adopted.region, "ap-guangzhou");
        ASSERT_TRUE(copy.restore_task(adopted, true));
    }
    ASSERT_TRUE(copy.restore_batch(b, true));
    ASSERT_TRUE(copy.restore_task(t, true));
    copy.restore_expired_batch(b.id, 100);
    copy.finish_restore(0);
    auto kept = copy.get_task({t.service, t.request_id});
    ASSERT_TRUE(kept);
    EXPECT_EQ(kept->batch_id, "");  // unattached
    EXPECT_EQ(kept->region, "ap-guangzhou");
    EXPECT_EQ(kept->poll, t.poll);
    EXPECT_EQ(kept->action, t.action);
    EXPECT_EQ(kept->labels, t.labels);
    EXPECT_EQ(kept->created_at, t.created_at);
    EXPECT_EQ(kept->deadline, t.deadline);
}

TEST(EntryLink, a_restored_resource_id_with_a_newline_is_refused) {
    workload w;
    w.add(0);
    auto b = w.batches.begin()->second;
    b.entries[0].resource_id = "lb-1\nlb-2";
    core::manual_clock clock;
    store copy{clock, seeded_options()};
    auto r = copy.restore_batch(b, true);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find("newline"), std::string::npos) << r.error().message;
}

}  // namespace
