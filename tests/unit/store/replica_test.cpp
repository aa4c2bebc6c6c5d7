// Follower replication (store::apply_replicated_*): a follower applying every change a leader's
// store made answers exactly as the leader does, after every step of a random workload.
#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <ostream>
#include <random>
#include <set>
#include <variant>

#include "helpers.hpp"

namespace taskpoller::core {
// Readable failures (gtest finds these by argument-dependent lookup).
void PrintTo(const task& t, std::ostream* os) {
    *os << format_task_identity(t.key()) << " " << to_string(t.state) << " polls=" << t.polls
        << " status=" << t.last_status << " error=" << t.last_error
        << " created=" << t.created_at.time_since_epoch().count()
        << " finished=" << t.finished_at.time_since_epoch().count()
        << " deadline=" << t.deadline.time_since_epoch().count() << " seq=" << t.created_seq << "/"
        << t.updated_seq << " resources=" << t.resources.size() << " labels=" << t.labels.size()
        << " target=" << t.target;
}
void PrintTo(const batch& b, std::ostream* os) {
    *os << b.id << " " << to_string(b.state) << " entries=" << b.entries.size()
        << " code=" << b.code << " message=" << b.message << " token=" << b.client_token
        << " created=" << b.created_at.time_since_epoch().count()
        << " finished=" << b.finished_at.time_since_epoch().count() << " seq=" << b.created_seq
        << "/" << b.updated_seq;
    for (std::size_t i = 0; i < b.counts.size(); ++i) *os << (i ? "," : " counts=") << b.counts[i];
}
}  // namespace taskpoller::core

namespace core = taskpoller::core;
using namespace taskpoller::store;
using namespace taskpoller::store::test;
using core::batch_state;
using core::task_state;
using namespace std::chrono_literals;

namespace {

/// What the leader's journal would hold: each change with the object's state after it.
struct capture : store_observer {
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

core::result<void> apply(store& s, const capture::event& e) {
    switch (e.c.kind) {
        case change_kind::batch_created:
        case change_kind::batch_changed:
            return s.apply_replicated_batch(e.c, std::get<core::batch>(e.object));
        case change_kind::task_created:
        case change_kind::task_changed:
            return s.apply_replicated_task(e.c, std::get<core::task>(e.object));
        case change_kind::batch_expired:
            return s.apply_replicated_batch_expiry(e.c, std::get<core::batch>(e.object).id);
        case change_kind::task_expired:
            return s.apply_replicated_task_expiry(e.c, std::get<core::task>(e.object).key());
    }
    return core::error{"unreachable"};
}

std::vector<core::task> tasks_of(const store& s, const task_filter& f, std::size_t limit) {
    return all_pages<core::task>(s, f, limit, &store::list_tasks);
}
std::vector<core::batch> batches_of(const store& s, const batch_filter& f, std::size_t limit) {
    return all_pages<core::batch>(s, f, limit, &store::list_batches);
}

struct seen_set {
    std::set<std::string> batches;
    std::map<core::task_key, core::task> tasks;  // the last state each task was recorded in
    std::set<std::string> tokens;
};

/// A task as a follower holds it: polls that saw nothing new are not changes, so the follower's
/// `polls` is the one of the task's last recorded change; everything else is the leader's.
core::task as_replicated(core::task leader, const seen_set& seen) {
    if (auto it = seen.tasks.find(leader.key()); it != seen.tasks.end()) {
        leader.polls = it->second.polls;
    }
    return leader;
}

std::vector<core::task> as_replicated(std::vector<core::task> ts, const seen_set& seen) {
    for (auto& t : ts) t = as_replicated(std::move(t), seen);
    return ts;
}

/// Everything observable, leader against follower. `since`: the follower's history starts after
/// it (a follower loaded from a snapshot at that seq). `recent`: compare the changes after it
/// (the step's), not the whole history (which every few steps is enough for, and costs O(n)).
void expect_same(const store& leader, const store& follower, const seen_set& seen,
                 std::uint64_t since, std::uint64_t recent) {
    ASSERT_EQ(leader.seq(), follower.seq());
    EXPECT_EQ(leader.task_counts(), follower.task_counts());
    EXPECT_EQ(leader.batch_counts(), follower.batch_counts());
    EXPECT_EQ(leader.task_count(), follower.task_count());
    EXPECT_EQ(leader.batch_count(), follower.batch_count());
    for (const auto& id : seen.batches) {
        EXPECT_EQ(leader.get_batch(id), follower.get_batch(id)) << id;
    }
    for (const auto& [key, last] : seen.tasks) {
        auto l = leader.get_task(key);
        EXPECT_EQ(l ? std::optional(as_replicated(*l, seen)) : std::nullopt, follower.get_task(key))
            << core::format_task_identity(key);
        // Unqualified lookups: the same task, or none on both when ambiguous.
        core::task_key bare{key.service, key.request_id};
        auto lb = leader.get_task(bare);
        EXPECT_EQ(lb ? std::optional(as_replicated(*lb, seen)) : std::nullopt,
                  follower.get_task(bare));
    }
    for (const auto& token : seen.tokens) {
        EXPECT_EQ(leader.find_batch_by_token(token), follower.find_batch_by_token(token)) << token;
    }
    std::vector<batch_filter> bfs{{},
                                  {.state = batch_state::submitted},
                                  {.service = "lb"},
                                  {.labels = {{"env", "prod"}}},
                                  {.state = batch_state::done}};
    for (const auto& f : bfs) {
        EXPECT_EQ(batches_of(leader, f, 7), batches_of(follower, f, 7));
    }
    std::vector<task_filter> tfs{{},
                                 {.state = task_state::running},
                                 {.service = "cvm"},
                                 {.action = "Stop", .labels = {{"env", "prod"}}},
                                 {.state = task_state::succeeded}};
    if (!seen.batches.empty()) tfs.push_back({.batch_id = *seen.batches.rbegin()});
    for (const auto& f : tfs) {
        EXPECT_EQ(as_replicated(tasks_of(leader, f, 5), seen), tasks_of(follower, f, 5));
    }
    // A count of history: a follower loaded from a snapshot only counts what it applied.
    if (since == 0) {
        EXPECT_EQ(leader.task_key_collisions(), follower.task_key_collisions());
    }
    auto lc = leader.changes_since(std::max(since, recent), 1'000'000);
    auto fc = follower.changes_since(std::max(since, recent), 1'000'000);
    EXPECT_EQ(lc.last_seq, fc.last_seq);
    EXPECT_EQ(lc.gap, fc.gap);
    ASSERT_EQ(lc.changes.size(), fc.changes.size());
    for (std::size_t i = 0; i < lc.changes.size(); ++i) {
        const auto& a = lc.changes[i];
        const auto& b = fc.changes[i];
        EXPECT_EQ(a.seq, b.seq);
        EXPECT_EQ(a.kind, b.kind) << a.seq;
        EXPECT_EQ(a.subject, b.subject) << a.seq;
        EXPECT_EQ(a.state, b.state) << a.seq;
    }
}

/// The workload: random mutations of the leader, with a fake clock and small retention limits.
class workload {
  public:
    workload(unsigned seed, core::manual_clock& clock, store& s)
        : rng_(seed), clock_(clock), s_(s) {}

    void step(const seen_set& seen) {
        switch (pick(12)) {
            case 0:
            case 1:
                create();
                break;
            case 2:
            case 3:
                record_outcome(seen);
                break;
            case 4:
            case 5:
            case 6:
                update(seen);
                break;
            case 7:
                adopt();
                break;
            case 8:
                cancel_task(seen);
                break;
            case 9:
                cancel_batch(seen);
                break;
            case 10:
                mark_unknown(seen);
                break;
            case 11:
                clock_.advance(std::chrono::seconds(pick(40)));
                s_.expire(clock_.system_now());
                break;
        }
    }

  private:
    std::size_t pick(std::size_t n) {
        return std::uniform_int_distribution<std::size_t>(0, n - 1)(rng_);
    }
    bool coin() { return pick(2) == 0; }
    template <class C>
    auto any_of(const C& c) {
        auto it = c.begin();
        std::advance(it, static_cast<long>(pick(c.size())));
        return it;
    }
    std::string rid() { return "r" + std::to_string(pick(40)); }
    core::labels labels() {
        switch (pick(3)) {
            case 0:
                return {};
            case 1:
                return {{"env", "prod"}};
            default:
                return {{"env", "dev"}, {"team", "x"}};
        }
    }
    core::poll_settings poll() {
        core::poll_settings p;
        if (coin()) p.interval = std::chrono::milliseconds(1000 * (1 + pick(5)));
        return p;
    }

    void create() {
        batch_spec spec;
        spec.service = coin() ? "lb" : "cvm";
        spec.action = coin() ? "Stop" : "Start";
        spec.region = coin() ? "" : "ap-x";
        spec.labels = labels();
        if (coin()) spec.client_token = "tok-" + std::to_string(pick(60));  // reuse: a conflict
        for (std::size_t i = 0, n = 1 + pick(3); i < n; ++i) {
            spec.resources.push_back("res-" + std::to_string(pick(100)));
        }
        spec.target = coin() ? "" : "endpoint-1";
        spec.poll = poll();
        if (auto b = s_.create_batch(spec)) submitting_.push_back(b->id);
    }

    void record_outcome(const seen_set&) {
        if (submitting_.empty()) return;
        auto it = any_of(submitting_);
        auto id = *it;
        submitting_.erase(it);
        batch_outcome o;
        o.code = static_cast<int>(pick(3));
        o.message = coin() ? "" : "partly";
        for (std::size_t i = 0, n = pick(5); i < n; ++i) {
            auto res = "res-" + std::to_string(pick(100));
            switch (pick(4)) {
                case 0:
                case 1:
                    o.entries.push_back(accepted(res, rid()));
                    break;
                case 2:
                    o.entries.push_back(rejected(res, 4000, "no"));
                    break;
                default:
                    o.entries.push_back({res, core::entry_outcome::unknown, 0, "?", "", {}});
                    break;
            }
        }
        if (coin()) o.deadline = clock_.system_now() + std::chrono::seconds(pick(600));
        s_.record_batch_outcome(id, o);
    }

    void mark_unknown(const seen_set&) {
        if (submitting_.empty()) return;
        auto it = any_of(submitting_);
        s_.mark_batch_unknown(*it, "lost");
        submitting_.erase(it);
    }

    void update(const seen_set& seen) {
        if (seen.tasks.empty()) return;
        auto key = any_of(seen.tasks)->first;
        task_update u;
        static constexpr std::array<task_state, 6> to{task_state::running,   task_state::succeeded,
                                                      task_state::failed,    task_state::timed_out,
                                                      task_state::not_found, task_state::running};
        if (pick(3) != 0) u.state = to[pick(to.size())];
        if (coin()) u.last_status = "S" + std::to_string(pick(3));
        if (pick(4) == 0) u.last_error = "E" + std::to_string(pick(2));
        u.count_poll = coin();
        s_.update_task(key, u);
    }

    void adopt() {
        adopt_spec spec;
        spec.service = coin() ? "lb" : "cvm";
        spec.request_id = rid();
        spec.action = "Stop";
        spec.resources = {"res-a", "res-b"};
        spec.resources.resize(pick(3));
        spec.labels = labels();
        if (coin()) spec.deadline = clock_.system_now() + 1h;
        spec.region = coin() ? "" : "ap-x";
        spec.poll = poll();
        s_.adopt_task(spec);
    }

    void cancel_task(const seen_set& seen) {
        if (!seen.tasks.empty()) s_.cancel_task(any_of(seen.tasks)->first);
    }

    void cancel_batch(const seen_set& seen) {
        if (!seen.batches.empty()) s_.cancel_batch(*any_of(seen.batches));
    }

    std::mt19937 rng_;
    core::manual_clock& clock_;
    store& s_;
    std::vector<std::string> submitting_;
};

store_options leader_options() {
    auto o = seeded_options();
    o.retention.ttl = 60s;
    o.retention.max_finished_tasks = 12;
    o.retention.max_finished_batches = 5;
    o.change_log_capacity = 8192;  // more than a run's changes: the whole history compares
    return o;
}

/// Records what a step's changes name (for the comparisons and the workload's targets).
void note(seen_set& seen, const capture::event& e) {
    if (const auto* b = std::get_if<core::batch>(&e.object)) {
        seen.batches.insert(b->id);
        if (!b->client_token.empty()) seen.tokens.insert(b->client_token);
    } else {
        const auto& t = std::get<core::task>(e.object);
        seen.tasks[t.key()] = t;
    }
}

/// A follower loaded from the leader's current objects at its seq as the ledger's current-state
/// tables hold them (each as of its last change), not from its history.
void load_snapshot(const store& leader, const seen_set& seen, store& follower) {
    for (auto& b : batches_of(leader, {}, max_page_limit)) {
        ASSERT_TRUE(follower.restore_batch(std::move(b), true));
    }
    for (auto& t : tasks_of(leader, {}, max_page_limit)) {
        ASSERT_TRUE(follower.restore_task(as_replicated(std::move(t), seen), true));
    }
    follower.finish_restore(leader.seq());
}

/// `kinds` collects "kind:state" of every change, to check what the seeds covered together.
void run_differential(unsigned seed, int steps, std::set<std::string>& kinds) {
    SCOPED_TRACE(seed);
    const bool failed_before = ::testing::Test::HasFailure();
    core::manual_clock clock;
    // The follower's clock is elsewhere: every timestamp must come from the records.
    core::manual_clock follower_clock{clock.system_now() - 1000h};
    store leader{clock, leader_options()};
    capture cap;
    leader.set_observer(&cap);
    store follower{follower_clock, leader_options()};
    capture follower_observer;  // must never be called
    follower.set_observer(&follower_observer);

    std::unique_ptr<store> late;  // a follower that starts from a snapshot mid-run
    std::uint64_t late_since = 0;
    std::size_t late_from = 0;  // the first event it applies

    // Watchers on both, counted per object: they must fire at the same steps.
    std::vector<watch_handle> handles;
    std::map<std::string, int> fired_leader, fired_follower;
    std::set<std::string> watched;
    auto watch_new = [&](const capture::event& e) {
        std::string name;
        auto add = [&](store& s, std::map<std::string, int>& fired) {
            if (const auto* b = std::get_if<core::batch>(&e.object)) {
                auto h = s.watch_batch_terminal(b->id, [&fired, name] { ++fired[name]; });
                ASSERT_TRUE(h);
                handles.push_back(std::move(*h));
            } else {
                auto h = s.watch_task_terminal(std::get<core::task>(e.object).key(),
                                               [&fired, name] { ++fired[name]; });
                ASSERT_TRUE(h);
                handles.push_back(std::move(*h));
            }
        };
        name = e.c.subject;
        if (!watched.insert(name).second) return;
        add(leader, fired_leader);
        add(follower, fired_follower);
    };

    seen_set seen;
    workload w(seed, clock, leader);
    std::size_t applied = 0;
    std::uint64_t expiries = 0;
    for (int i = 0; i < steps; ++i) {
        auto seq_before = leader.seq();
        // Change watchers on both, for "anything after now".
        int changed_leader = 0, changed_follower = 0;
        auto hl = leader.watch_changes(seq_before, [&] { ++changed_leader; });
        auto hf = follower.watch_changes(follower.seq(), [&] { ++changed_follower; });
        auto events_before = cap.events.size();
        w.step(seen);
        for (; applied < cap.events.size(); ++applied) {
            const auto& e = cap.events[applied];
            auto r = apply(follower, e);
            ASSERT_TRUE(r) << r.error().message;
            note(seen, e);
            kinds.insert(std::string(to_string(e.c.kind)) + ":" + std::string(e.c.state));
            if (e.c.kind == change_kind::batch_expired || e.c.kind == change_kind::task_expired) {
                ++expiries;
            }
            if (late && applied >= late_from) {
                auto lr = apply(*late, e);
                ASSERT_TRUE(lr) << lr.error().message;
            }
        }
        // Terminal watchers on both for the objects this step created and still holds.
        for (std::size_t k = events_before; k < cap.events.size(); ++k) {
            const auto& e = cap.events[k];
            bool held = false;
            if (e.c.kind == change_kind::batch_created)
                held = leader.get_batch(e.c.subject).has_value();
            if (e.c.kind == change_kind::task_created) {
                held = leader.get_task(std::get<core::task>(e.object).key()).has_value();
            }
            if (held) watch_new(e);
        }
        EXPECT_EQ(changed_leader, changed_follower) << "step " << i;
        EXPECT_EQ(changed_leader, leader.seq() > seq_before ? 1 : 0);
        EXPECT_EQ(fired_leader, fired_follower) << "step " << i;
        auto recent = i % 25 == 24 || i == steps - 1 ? 0 : seq_before;
        expect_same(leader, follower, seen, 0, recent);
        if (late) expect_same(leader, *late, seen, late_since, recent);
        if (::testing::Test::HasFailure() && !failed_before) {
            ADD_FAILURE() << "diverged at step " << i;
            return;
        }
        // Start the late follower once, right after a step whose newest change was an expiry
        // (so finish_restore's seq_floor matters), after some history.
        if (!late && i > steps / 3 && !cap.events.empty() &&
            (cap.events.back().c.kind == change_kind::batch_expired ||
             cap.events.back().c.kind == change_kind::task_expired)) {
            late = std::make_unique<store>(follower_clock, leader_options());
            load_snapshot(leader, seen, *late);
            late_since = leader.seq();
            late_from = cap.events.size();
            EXPECT_EQ(late->seq(), leader.seq());
            EXPECT_TRUE(late->changes_since(0, 10).gap);
            EXPECT_TRUE(late->changes_since(late_since - 1, 10).gap);
            EXPECT_FALSE(late->changes_since(late_since, 10).gap);
            expect_same(leader, *late, seen, late_since, 0);
        }
    }
    EXPECT_TRUE(follower_observer.events.empty());
    EXPECT_TRUE(late) << "the workload never ended a step with an expiry";
    // The workload covered what it should have.
    EXPECT_GT(expiries, 20u);
    EXPECT_GT(seen.tasks.size(), 30u);
    EXPECT_GT(leader.task_key_collisions(), 0u);
    EXPECT_LT(leader.seq(), leader_options().change_log_capacity);  // the log holds it all
    EXPECT_GT(std::count_if(fired_leader.begin(), fired_leader.end(),
                            [](const auto& kv) { return kv.second > 0; }),
              10);
    EXPECT_EQ(leader.task_counts()[static_cast<std::size_t>(task_state::pending)] +
                  leader.task_counts()[static_cast<std::size_t>(task_state::running)],
              follower.task_counts()[static_cast<std::size_t>(task_state::pending)] +
                  follower.task_counts()[static_cast<std::size_t>(task_state::running)]);
}

TEST(Replica, a_follower_answers_as_the_leader_after_every_step) {
    std::set<std::string> kinds;
    for (unsigned seed = 1; seed <= 8; ++seed) run_differential(seed, 400, kinds);
    for (const char* k :
         {"batch_changed:submitted", "batch_changed:done", "batch_changed:rejected",
          "batch_changed:unknown", "batch_expired:done", "task_changed:running",
          "task_changed:succeeded", "task_changed:failed", "task_changed:timed_out",
          "task_changed:not_found", "task_changed:cancelled", "task_expired:cancelled"}) {
        EXPECT_TRUE(kinds.count(k)) << "the workload made no " << k;
    }
}

}  // namespace

namespace {

/// A leader and a follower that applies its changes on demand.
struct pair_of_stores {
    core::manual_clock clock;
    core::manual_clock follower_clock{clock.system_now() + 5h};
    store leader{clock, leader_options()};
    store follower{follower_clock, leader_options()};
    capture cap;
    std::size_t applied = 0;

    pair_of_stores() { leader.set_observer(&cap); }
    /// Applies the next captured change; false once none is left.
    bool step() {
        if (applied == cap.events.size()) return false;
        auto r = apply(follower, cap.events[applied++]);
        EXPECT_TRUE(r) << r.error().message;
        return true;
    }
    void catch_up() {
        while (step()) {
        }
    }
    const capture::event& next() const { return cap.events.at(applied); }
};

TEST(Replica, watchers_fire_at_the_change_that_satisfies_them) {
    pair_of_stores p;
    auto id = submit(p.leader, "lb", "A", {"1", "2"});
    p.catch_up();
    int task_done = 0, batch_done = 0, changed = 0;
    auto ht = p.follower.watch_task_terminal({"lb", "1"}, [&] { ++task_done; });
    auto hb = p.follower.watch_batch_terminal(id, [&] { ++batch_done; });
    ASSERT_TRUE(ht && hb);
    auto hc = p.follower.watch_changes(p.follower.seq(), [&] { ++changed; });
    set_state(p.leader, "lb", "1", task_state::running);
    set_state(p.leader, "lb", "1", task_state::succeeded);
    set_state(p.leader, "lb", "2", task_state::failed);  // then the batch is done
    ASSERT_EQ(p.cap.events.size() - p.applied, 4u);
    EXPECT_EQ(p.next().c.state, "running");
    ASSERT_TRUE(p.step());
    EXPECT_EQ((std::array{task_done, batch_done, changed}), (std::array{0, 0, 1}));
    ASSERT_TRUE(p.step());  // lb/1 succeeded
    EXPECT_EQ((std::array{task_done, batch_done, changed}), (std::array{1, 0, 1}));
    ASSERT_TRUE(p.step());  // lb/2 failed
    EXPECT_EQ(batch_done, 0);
    EXPECT_EQ(p.next().c.kind, change_kind::batch_changed);
    ASSERT_TRUE(p.step());  // the batch done
    EXPECT_EQ((std::array{task_done, batch_done, changed}), (std::array{1, 1, 1}));
    EXPECT_EQ(p.follower.watcher_count(), 0u);
    // Timestamps are the leader's, not the follower's clock's.
    EXPECT_EQ(p.follower.get_batch(id)->finished_at, p.clock.system_now());
    EXPECT_EQ(p.follower.get_batch(id), p.leader.get_batch(id));
    // A change watcher for a later seq waits for that one; expiries are changes too.
    int later = 0;
    auto hl = p.follower.watch_changes(p.follower.seq() + 1, [&] { ++later; });
    p.clock.advance(25h);
    ASSERT_EQ(p.leader.expire(p.clock.system_now()), 3u);
    ASSERT_TRUE(p.step());  // lb/1 expired: seq + 1
    EXPECT_EQ(later, 0);
    ASSERT_TRUE(p.step());  // lb/2 expired: seq + 2
    EXPECT_EQ(later, 1);
    p.catch_up();
    EXPECT_FALSE(p.follower.get_batch(id));
    EXPECT_EQ(p.follower.batch_count(), 0u);
}

TEST(Replica, out_of_order_and_duplicate_changes_are_refused_with_nothing_changed) {
    pair_of_stores p;
    submit(p.leader, "lb", "A", {"1"});
    p.leader.adopt_task({"cvm", "x", "A", {}, {}, {}});
    ASSERT_GE(p.cap.events.size(), 4u);
    ASSERT_TRUE(p.step());
    ASSERT_TRUE(p.step());
    auto before = p.follower.changes_since(0, 100);
    // A duplicate of the last change, and a change that skips one.
    for (std::size_t k : {p.applied - 1, p.applied + 1}) {
        const auto& e = p.cap.events[k];
        auto r = apply(p.follower, e);
        ASSERT_FALSE(r);
        EXPECT_EQ(r.error().kind, core::error_kind::invalid);
        EXPECT_NE(r.error().message.find("seq " + std::to_string(p.follower.seq())),
                  std::string::npos)
            << r.error().message;
        EXPECT_NE(r.error().message.find("change " + std::to_string(e.c.seq)), std::string::npos)
            << r.error().message;
    }
    EXPECT_EQ(p.follower.seq(), 2u);
    EXPECT_EQ(p.follower.changes_since(0, 100).changes.size(), before.changes.size());
    EXPECT_EQ(p.follower.task_count(), 0u);
    // The right one still applies, and the rest after it.
    p.catch_up();
    EXPECT_EQ(p.follower.seq(), p.leader.seq());
    EXPECT_EQ(p.follower.get_task({"cvm", "x"}), p.leader.get_task({"cvm", "x"}));
}

TEST(Replica, malformed_or_mismatched_objects_are_refused) {
    pair_of_stores p;
    auto id = submit(p.leader, "lb", "A", {"1"}, {{"env", "prod"}});
    p.catch_up();
    set_state(p.leader, "lb", "1", task_state::running);
    const auto good = p.next();
    auto task = std::get<core::task>(good.object);
    auto refused = [&](const change& c, core::task t, std::string_view why) {
        auto r = p.follower.apply_replicated_task(c, std::move(t));
        EXPECT_FALSE(r) << why;
        if (!r) {
            EXPECT_EQ(r.error().kind, core::error_kind::invalid) << why;
        }
    };
    auto bad = task;
    bad.service = "Bad Service";
    refused(good.c, bad, "malformed service");
    bad = task;
    bad.labels = {{"env", "dev"}};
    refused(good.c, bad, "labels change");
    bad = task;
    bad.deadline = p.clock.system_now();
    refused(good.c, bad, "deadline change");
    bad = task;
    bad.updated_seq = good.c.seq + 1;
    refused(good.c, bad, "updated_seq is not the change's");
    bad = task;
    bad.state = task_state::succeeded;
    refused(good.c, bad, "state is not the change's");
    bad = task;
    bad.batch_id = "b-000000000001";
    refused(good.c, bad, "unknown batch");
    auto c = good.c;
    c.kind = change_kind::task_created;
    refused(c, task, "created twice");
    c = good.c;
    c.kind = change_kind::batch_changed;
    refused(c, task, "a batch change kind");
    core::batch b;
    b.id = "not-an-id";
    b.service = "lb";
    b.created_seq = good.c.seq;
    b.updated_seq = good.c.seq;
    change bc{good.c.seq, change_kind::batch_created, b.id, "submitting"};
    EXPECT_FALSE(p.follower.apply_replicated_batch(bc, b));
    // Expiries of what is live, or of a batch whose tasks are still held.
    change te{good.c.seq, change_kind::task_expired, good.c.subject, "pending"};
    EXPECT_FALSE(p.follower.apply_replicated_task_expiry(te, task.key()));
    change be{good.c.seq, change_kind::batch_expired, id, "submitted"};
    EXPECT_FALSE(p.follower.apply_replicated_batch_expiry(be, id));
    // Nothing changed: the good change still applies, and the follower matches the leader.
    EXPECT_EQ(p.follower.seq(), good.c.seq - 1);
    p.catch_up();
    EXPECT_EQ(p.follower.get_task({"lb", "1"}), p.leader.get_task({"lb", "1"}));
    EXPECT_EQ(p.follower.get_batch(id), p.leader.get_batch(id));
    EXPECT_EQ(p.follower.task_counts(), p.leader.task_counts());
}

// The leader creates a batch's tasks while it is `submitted`; a finished batch gets none.
TEST(Replica, a_task_of_a_finished_batch_is_refused) {
    pair_of_stores p;
    auto b = p.leader.create_batch({"lb", "A", "ap-x", {}, ""});
    ASSERT_TRUE(b);
    ASSERT_TRUE(p.leader.mark_batch_unknown(b->id, "lost"));
    p.catch_up();
    core::task t;
    t.service = "lb";
    t.request_id = "1";
    t.action = "A";
    t.region = "ap-x";
    t.batch_id = b->id;
    t.created_seq = t.updated_seq = p.follower.seq() + 1;
    change c{t.created_seq, change_kind::task_created, core::format_task_identity(t.key()),
             "pending"};
    auto r = p.follower.apply_replicated_task(c, t);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find("already unknown"), std::string::npos) << r.error().message;
    EXPECT_EQ(p.follower.task_count(), 0u);
    EXPECT_EQ(p.follower.seq(), p.leader.seq());
}

TEST(Replica, a_follower_loaded_at_seq_n_continues_from_n_even_after_expiries) {
    pair_of_stores p;
    p.leader.adopt_task({"lb", "1", "A", {}, {}, {}});
    set_state(p.leader, "lb", "1", task_state::succeeded);
    p.clock.advance(25h);
    ASSERT_EQ(p.leader.expire(p.clock.system_now()), 1u);  // the newest change is an expiry
    store follower{p.follower_clock, leader_options()};
    follower.finish_restore(p.leader.seq());  // nothing to restore: the task is gone
    EXPECT_EQ(follower.seq(), 3u);
    auto page = follower.changes_since(0, 10);
    EXPECT_TRUE(page.gap);
    EXPECT_EQ(page.last_seq, 3u);
    EXPECT_FALSE(follower.changes_since(3, 10).gap);
    int changed = 0;
    auto h = follower.watch_changes(3, [&] { ++changed; });
    EXPECT_EQ(changed, 0);
    p.leader.adopt_task({"lb", "2", "A", {}, {}, {}});
    auto r = apply(follower, p.cap.events.back());
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(changed, 1);
    EXPECT_EQ(follower.get_task({"lb", "2"}), p.leader.get_task({"lb", "2"}));
    EXPECT_EQ(follower.changes_since(3, 10).changes.size(), 1u);
}

TEST(Replica, changes_are_refused_before_finish_restore) {
    pair_of_stores p;
    p.leader.adopt_task({"lb", "1", "A", {}, {}, {}});
    core::task t = std::get<core::task>(p.cap.events[0].object);
    store follower{p.follower_clock, leader_options()};
    core::task other = t;
    other.request_id = "0";
    other.created_seq = other.updated_seq = 1;
    ASSERT_TRUE(follower.restore_task(other));
    change c = p.cap.events[0].c;
    c.seq = 2;
    t.created_seq = t.updated_seq = 2;
    EXPECT_FALSE(follower.apply_replicated_task(c, t));
    follower.finish_restore(1);
    EXPECT_TRUE(follower.apply_replicated_task(c, t));
    EXPECT_EQ(follower.task_count(), 2u);
}

}  // namespace

namespace {

// Expiries leave holes; a follower compacts them away as the leader's expire() does (amortized),
// with no effect on what it answers, and its finished-unit queue does not grow without bound.
// A batch entry reads its requestId from its task once linked (issue 20). A follower forgets a
// finished batch's tasks one change at a time before the batch: in between, and across the
// compactions those expiries bring, every entry must still say its requestId.
TEST(Replica, a_batch_whose_tasks_expire_first_keeps_every_entry_request_id) {
    pair_of_stores p;
    std::vector<std::string> batches;
    std::map<std::string, std::vector<std::string>> rids;
    for (int i = 0; i < 1200; ++i) {
        std::vector<std::string> r;
        for (int j = 0; j < 5; ++j) r.push_back(std::to_string(i * 5 + j));
        batches.push_back(submit(p.leader, "lb", "A", r));
        rids[batches.back()] = r;
    }
    p.catch_up();
    for (int i = 0; i < 6000; ++i)
        set_state(p.leader, "lb", std::to_string(i), task_state::succeeded);
    p.catch_up();
    // Their entries are their tasks': the follower keeps none (store::collapse_entries).
    EXPECT_EQ(p.follower.collapsed_batches(), 1200u);
    EXPECT_EQ(p.leader.collapsed_batches(), 1200u);
    p.clock.advance(25h);
    ASSERT_GT(p.leader.expire(p.clock.system_now()), 6000u);
    std::size_t checked = 0;
    while (p.applied < p.cap.events.size()) {
        const auto& e = p.next();
        bool task_expiry = e.c.kind == change_kind::task_expired;
        std::string batch_id = task_expiry ? std::get<core::task>(e.object).batch_id : "";
        ASSERT_TRUE(p.step());
        if (!task_expiry) continue;
        auto b = p.follower.get_batch(batch_id);
        ASSERT_TRUE(b) << batch_id;  // its own expiry comes after its tasks'
        const auto& want = rids[batch_id];
        ASSERT_EQ(b->entries.size(), want.size());
        for (std::size_t j = 0; j < want.size(); ++j) {
            EXPECT_EQ(b->entries[j].request_id, want[j]) << batch_id << " #" << j;
        }
        ++checked;
    }
    EXPECT_EQ(checked, 6000u);
    EXPECT_GT(p.follower.compactions(), 0u);
    EXPECT_EQ(p.follower.batch_count(), 0u);
}

TEST(Replica, a_long_running_follower_compacts_and_keeps_answering) {
    pair_of_stores p;
    std::vector<watch_handle> handles;
    int fired = 0;
    for (int i = 0; i < 6000; ++i) {
        auto rid = std::to_string(i);
        p.leader.adopt_task({"lb", rid, "A", {}, {}, {}});
        p.catch_up();
        auto h = p.follower.watch_task_terminal({"lb", rid}, [&] { ++fired; });
        ASSERT_TRUE(h);
        handles.push_back(std::move(*h));
        set_state(p.leader, "lb", rid, task_state::succeeded);
        p.clock.advance(1s);
        p.leader.expire(p.clock.system_now());  // over max_finished_tasks: the oldest go
        p.catch_up();
    }
    EXPECT_EQ(fired, 6000);
    EXPECT_GT(p.follower.compactions(), 0u);
    EXPECT_EQ(p.follower.task_count(), p.leader.task_count());
    EXPECT_EQ(p.follower.task_counts(), p.leader.task_counts());
    EXPECT_EQ(tasks_of(p.follower, {}, 100), tasks_of(p.leader, {}, 100));
    EXPECT_EQ(tasks_of(p.follower, {.state = task_state::succeeded}, 3),
              tasks_of(p.leader, {.state = task_state::succeeded}, 3));
    EXPECT_FALSE(p.follower.get_task({"lb", "0"}));
    EXPECT_EQ(p.follower.get_task({"lb", "5999"}), p.leader.get_task({"lb", "5999"}));
    // The follower's own retention clock is never consulted; what it would expire is what the
    // leader still holds (its finished queue was trimmed as the leader's expiries arrived).
    EXPECT_EQ(p.follower.next_expiry(), p.leader.next_expiry());
}

}  // namespace

// A batch entry keeps its requestId and message in one string split at the first '\n'
// (records.hpp, issue 20): a replicated entry whose requestId holds a newline would come out of
// the follower as another requestId and another message. The leader never records one
// (record_batch_outcome validates accepted requestIds); a follower refuses one too.
TEST(Replica, an_accepted_entry_with_a_malformed_request_id_is_refused) {
    pair_of_stores p;
    auto b = p.leader.create_batch({"lb", "A", "ap-x", {}, ""});
    ASSERT_TRUE(b);
    p.catch_up();
    batch_outcome o;
    o.entries.push_back(accepted("res-1", "r1"));
    ASSERT_TRUE(p.leader.record_batch_outcome(b->id, o));
    const auto good = p.next();
    ASSERT_EQ(good.c.kind, change_kind::batch_changed);
    auto bad = std::get<core::batch>(good.object);
    ASSERT_EQ(bad.entries.size(), 1u);
    bad.entries[0].request_id = "r1\nforged";
    auto r = p.follower.apply_replicated_batch(good.c, bad);
    EXPECT_FALSE(r) << "kept as requestId " << p.follower.get_batch(b->id)->entries.at(0).request_id
                    << ", message " << p.follower.get_batch(b->id)->entries.at(0).message;
    if (!r) {
        EXPECT_EQ(r.error().kind, core::error_kind::invalid);
        // Nothing changed: the good change still applies.
        p.catch_up();
        EXPECT_EQ(p.follower.get_batch(b->id), p.leader.get_batch(b->id));
    }
}

namespace {

// Each task_created of a batch used to link all of the batch's entries again: for every entry
// whose task had not arrived yet, a scan of the whole task list, so a batch of n requestIds cost
// the follower O(n^3) (2,000 CLB entries: 2 s against the leader's 0.016 s) while the leader links
// once. The follower must keep up with the leader (O(1) per change) and end as compact.
TEST(Replica, a_large_batch_costs_the_follower_about_what_it_cost_the_leader) {
    using clock_type = std::chrono::steady_clock;
    pair_of_stores p;
    auto b = p.leader.create_batch({"lb", "DeleteLoadBalancers", "ap-x", {}, ""});
    ASSERT_TRUE(b);
    batch_outcome o;
    for (int i = 0; i < 3000; ++i) {
        o.entries.push_back(accepted("lb-" + std::to_string(i), "req-0000-" + std::to_string(i)));
    }
    auto t0 = clock_type::now();
    ASSERT_TRUE(p.leader.record_batch_outcome(b->id, o));
    auto t1 = clock_type::now();
    p.catch_up();
    auto t2 = clock_type::now();
    std::chrono::duration<double> leader = t1 - t0, follower = t2 - t1;
    EXPECT_LT(follower.count(), 5 * leader.count() + 1.0)
        << "leader " << leader.count() << " s, follower " << follower.count() << " s";
    EXPECT_EQ(p.follower.get_batch(b->id), p.leader.get_batch(b->id));
    EXPECT_EQ(p.leader.collapsed_batches(), 1u);
    EXPECT_EQ(p.follower.collapsed_batches(), 1u);  // linked when its last task came
}

}  // namespace
