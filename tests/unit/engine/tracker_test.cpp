// The tracker's submission path against a scripted cloud (engine/cloud.hpp): what it sends,
// how often, and what it records, for every kind of answer; supervision of a submission that
// throws; client_token idempotency; shutdown draining.
#include "engine/tracker.hpp"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/serialize.hpp>
#include <deque>
#include <stdexcept>

#include "core/clock.hpp"
#include "engine/stats.hpp"
#include "store/store.hpp"

namespace taskpoller::engine {
namespace {

using namespace std::chrono_literals;
namespace asio = boost::asio;
namespace json = boost::json;
using kind = submission_answer::kind;

// Answers submissions from a script (one answer per send; an empty script throws, like a
// bug would) and every poll with "running".
struct scripted_cloud final : cloud {
    std::deque<submission_answer> script;
    std::vector<std::string> sent;     // the fingerprints of every send
    std::vector<std::string> actions;  // the action profile's name at every send
    std::vector<std::size_t> calls;    // the call index of every send
    std::chrono::milliseconds submit_delay{0};
    api_stats counters;

    core::result<std::unique_ptr<prepared_submission>> prepare(
        const service_profile&, const action_profile&, std::string_view,
        const json::object& params) const override {
        auto p = std::make_unique<prepared_submission>();
        if (auto* ids = params.if_contains("ids")) {
            for (const auto& v : ids->as_array()) p->resources.emplace_back(v.as_string());
        }
        // "chunk": N sends the ids as calls of at most N (as API 3.0 does past its maximum).
        if (auto* n = params.if_contains("chunk")) {
            const auto max = static_cast<std::size_t>(n->as_int64());
            for (std::size_t i = 0; i < p->resources.size(); i += max) {
                p->chunks.emplace_back(p->resources.begin() + static_cast<std::ptrdiff_t>(i),
                                       p->resources.begin() + static_cast<std::ptrdiff_t>(std::min(
                                                                  p->resources.size(), i + max)));
            }
        }
        p->fingerprint = json::serialize(params);
        return p;
    }
    asio::awaitable<submission_answer> async_submit(const service_profile&,
                                                    const action_profile& action, std::string_view,
                                                    const prepared_submission& p,
                                                    std::size_t call) override {
        sent.push_back(p.fingerprint);
        calls.push_back(call);
        actions.push_back(action.name);  // read from the profile passed in (ASan: still alive?)
        if (submit_delay.count() > 0) {
            asio::steady_timer t(co_await asio::this_coro::executor, submit_delay);
            co_await t.async_wait(asio::use_awaitable);
        }
        if (script.empty()) throw std::logic_error("injected submission fault");
        auto a = script.front();
        script.pop_front();
        co_return a;
    }
    asio::awaitable<task_poll_answer> async_poll_task(const service_profile&, std::string_view,
                                                      std::string_view) override {
        co_return task_poll_answer{};
    }
    asio::awaitable<instances_answer> async_poll_instances(const service_profile&, std::string_view,
                                                           std::span<const std::string>) override {
        co_return instances_answer{};
    }
    std::size_t max_instances_per_call() const noexcept override { return 100; }
    const api_stats& stats() const noexcept override { return counters; }
    void reconfigure(qcloud::credentials, const api_settings&) override {}
};

submission_answer accepted_two() {
    submission_answer a{kind::accepted, 0, {}, {}};
    a.entries.push_back({"ins-1", core::entry_outcome::accepted, 0, {}, "r1", {}});
    a.entries.push_back({"ins-2", core::entry_outcome::accepted, 0, {}, "r2", {}});
    return a;
}

struct Tracker : ::testing::Test {
    asio::io_context io;
    core::real_clock clock;
    store::store st{clock};
    scripted_cloud* api = nullptr;
    std::vector<std::pair<core::log_level, std::string>> lines;
    std::unique_ptr<tracker> t;

    void SetUp() override {
        tracker_config c;
        c.default_region = "ap-guangzhou";
        c.submit.backoff = {1ms, 1.0, 1ms, jitter_mode::none};
        auto cloud = std::make_unique<scripted_cloud>();
        api = cloud.get();
        core::logger log(
            [this](core::log_level l, std::string_view s) { lines.emplace_back(l, s); },
            core::log_level::debug);
        t = std::make_unique<tracker>(io.get_executor(), st, clock, std::move(cloud), std::move(c),
                                      log);
    }
    void TearDown() override {
        if (t) t->stop();
        io.restart();
        io.run_for(20ms);
    }
    tracker_config config() {
        tracker_config c;
        c.default_region = "ap-guangzhou";
        c.submit.backoff = {50ms, 1.0, 50ms, jitter_mode::none};
        return c;
    }

    submission stop_two(std::string token = {}) {
        submission s;
        s.service = "cvm";
        s.action = "StopInstances";
        s.params = json::object{{"ids", json::array{"ins-1", "ins-2"}}};
        s.client_token = std::move(token);
        return s;
    }
    core::result<submit_result> submit(submission s) {
        std::optional<core::result<submit_result>> out;
        io.restart();  // a previous submission may have left the io_context out of work
        asio::co_spawn(io, t->async_submit(std::move(s)),
                       [&](std::exception_ptr e, core::result<submit_result> r) {
                           if (e) std::rethrow_exception(e);
                           out = std::move(r);
                       });
        for (int i = 0; i < 500 && !out; ++i) io.run_for(5ms);
        EXPECT_TRUE(out) << "the submission did not finish";
        return out ? std::move(*out) : core::result<submit_result>(core::error{"timeout"});
    }
    bool logged(core::log_level l, std::string_view needle) const {
        for (const auto& [level, s] : lines)
            if (level == l && s.find(needle) != std::string::npos) return true;
        return false;
    }
};

TEST_F(Tracker, an_accepted_batch_is_submitted_and_its_tasks_polled) {
    api->script = {accepted_two()};
    auto r = submit(stop_two());
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->batch.state, core::batch_state::submitted);
    EXPECT_EQ(api->sent.size(), 1u);
    EXPECT_EQ(t->polls().tracked(), 2u);
    EXPECT_EQ(t->inflight(), 0u);
}

// Issue 16 item 4: the cloud answered a new batch with requestIds an earlier, finished batch
// already had (a reset environment). The new tasks are the new batch's own and are polled; the
// old outcome is never reported for them; the collision is logged.
TEST_F(Tracker, a_reused_request_id_is_polled_as_the_new_batch_s_own_task) {
    api->script = {accepted_two()};
    auto first = submit(stop_two());
    ASSERT_TRUE(first);
    for (const auto* rid : {"r1", "r2"}) {
        core::task_key k{"cvm", rid, "ap-guangzhou", first->batch.id};
        ASSERT_TRUE(st.update_task(k, {core::task_state::failed, {}, {}, false}));
    }  // (the poller still holds the old tasks: both identities live side by side there)
    ASSERT_EQ(st.get_batch(first->batch.id)->state, core::batch_state::done);

    api->script = {accepted_two()};
    auto second = submit(stop_two());
    ASSERT_TRUE(second) << second.error().message;
    EXPECT_EQ(second->batch.state, core::batch_state::submitted);
    EXPECT_EQ(st.task_count(), 4u);
    EXPECT_EQ(st.task_key_collisions(), 2u);
    for (const auto* rid : {"r1", "r2"}) {
        core::task_key k{"cvm", rid, "ap-guangzhou", second->batch.id};
        EXPECT_EQ(st.task_state_of(k), core::task_state::pending);
        EXPECT_TRUE(t->polls().is_tracked(k)) << rid;
    }
}

// API 3.0 chunks: a submission longer than the action's maximum is sent as several calls, each
// retried on its own; the batch holds every resource with what its own call came to.
TEST_F(Tracker, chunks_are_sent_in_turn_and_each_keeps_its_own_outcome) {
    submission_answer first{kind::accepted, 0, {}, {}};
    first.entries = {{"ins-1", core::entry_outcome::accepted, 0, {}, "R1", {}},
                     {"ins-2", core::entry_outcome::accepted, 0, {}, "R1", {}}};
    api->script = {first,
                   {kind::busy, 0, "OperationDenied.InstanceOperationInProgress: busy", {}},
                   {kind::rejected, 0, "UnsupportedOperation.InstanceStateStopped: stopped", {}}};
    auto s = stop_two();
    s.params = json::object{{"ids", json::array{"ins-1", "ins-2", "ins-3"}}, {"chunk", 2}};
    auto r = submit(std::move(s));
    ASSERT_TRUE(r) << r.error().message;
    // The first call once; the second sent again after "busy" (not executed), then rejected.
    EXPECT_EQ(api->calls, (std::vector<std::size_t>{0, 1, 1}));
    EXPECT_EQ(r->batch.state, core::batch_state::submitted);
    ASSERT_EQ(r->batch.entries.size(), 3u);
    EXPECT_EQ(r->batch.entries[0].request_id, "R1");
    EXPECT_EQ(r->batch.entries[1].request_id, "R1");
    EXPECT_EQ(r->batch.entries[2].outcome, core::entry_outcome::rejected);
    EXPECT_EQ(r->batch.entries[2].message,
              "call 2 of 2: UnsupportedOperation.InstanceStateStopped: stopped");
    EXPECT_EQ(t->polls().tracked(), 1u);  // one task: R1 over ins-1 and ins-2
}

// A fault while the second call is in flight: the first call's task is still tracked (its
// RequestId is known), only the second call's resources are unknown; nothing is sent again.
TEST_F(Tracker, a_fault_in_a_later_chunk_keeps_the_answered_chunks) {
    submission_answer first{kind::accepted, 0, {}, {}};
    first.entries = {{"ins-1", core::entry_outcome::accepted, 0, {}, "R1", {}}};
    api->script = {first};  // the second send throws (an empty script)
    auto s = stop_two();
    s.params = json::object{{"ids", json::array{"ins-1", "ins-2", "ins-3"}}, {"chunk", 1}};
    auto r = submit(std::move(s));
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(api->calls, (std::vector<std::size_t>{0, 1}));
    EXPECT_EQ(r->batch.state, core::batch_state::submitted);
    ASSERT_EQ(r->batch.entries.size(), 3u);
    EXPECT_EQ(r->batch.entries[0].outcome, core::entry_outcome::accepted);
    EXPECT_EQ(r->batch.entries[1].outcome, core::entry_outcome::unknown);
    EXPECT_EQ(r->batch.entries[2].outcome, core::entry_outcome::rejected);  // never sent
    EXPECT_NE(r->batch.entries[2].message.find("not sent"), std::string::npos)
        << r->batch.entries[2].message;
    EXPECT_EQ(t->polls().tracked(), 1u);
}

TEST_F(Tracker, throttled_and_not_sent_are_sent_again_then_accepted) {
    api->script = {{kind::throttled, 4400, "code 4400: slow down", {}},
                   {kind::not_sent, 0, "connection refused", {}},
                   accepted_two()};
    auto r = submit(stop_two());
    ASSERT_TRUE(r);
    EXPECT_EQ(r->batch.state, core::batch_state::submitted);
    EXPECT_EQ(api->sent.size(), 3u);
}

TEST_F(Tracker, an_expired_signature_is_resigned_once_only) {
    api->script = {{kind::resign, 4200, "code 4200: expired", {}},
                   {kind::resign, 4200, "code 4200: expired", {}},
                   accepted_two()};
    auto r = submit(stop_two());
    ASSERT_TRUE(r);
    EXPECT_EQ(api->sent.size(), 2u);
    EXPECT_EQ(r->batch.state, core::batch_state::rejected);
    EXPECT_EQ(r->batch.code, 4200);
}

TEST_F(Tracker, sends_are_bounded_by_max_attempts) {
    for (int i = 0; i < 6; ++i) api->script.push_back({kind::not_sent, 0, "refused", {}});
    auto r = submit(stop_two());
    ASSERT_TRUE(r);
    EXPECT_EQ(api->sent.size(), 4u);  // submit_options::max_attempts
    EXPECT_EQ(r->batch.state, core::batch_state::rejected);
    EXPECT_EQ(r->batch.code, -1);
    EXPECT_EQ(r->batch.message, "not sent: refused");
}

TEST_F(Tracker, an_unknown_outcome_is_never_sent_again) {
    api->script = {{kind::unknown, 0, "reset after the request was written", {}}, accepted_two()};
    auto r = submit(stop_two());
    ASSERT_TRUE(r);
    EXPECT_EQ(api->sent.size(), 1u);
    EXPECT_EQ(r->batch.state, core::batch_state::unknown);
    ASSERT_EQ(r->batch.entries.size(), 2u);
    EXPECT_EQ(r->batch.entries[0].outcome, core::entry_outcome::unknown);
    EXPECT_EQ(t->polls().tracked(), 0u);
}

TEST_F(Tracker, a_submission_that_throws_is_unknown_and_releases_its_count) {
    // The script is empty: the send throws after the intent was recorded.
    auto r = submit(stop_two());
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->batch.state, core::batch_state::unknown);
    EXPECT_NE(r->batch.message.find("internal error in taskpollerd: injected submission fault"),
              std::string::npos);
    EXPECT_TRUE(logged(core::log_level::critical, "internal error after its intent was recorded"));
    EXPECT_EQ(t->inflight(), 0u);
    auto stored = st.get_batch(r->batch.id);
    ASSERT_TRUE(stored);
    EXPECT_EQ(stored->state, core::batch_state::unknown);  // never left `submitting`
}

TEST_F(Tracker, a_repeated_client_token_sends_nothing_and_a_reused_one_conflicts) {
    api->script = {accepted_two()};
    auto first = submit(stop_two("tok-1"));
    ASSERT_TRUE(first);
    auto again = submit(stop_two("tok-1"));
    ASSERT_TRUE(again);
    EXPECT_TRUE(again->existing);
    EXPECT_EQ(again->batch.id, first->batch.id);
    auto other = stop_two("tok-1");
    other.params["ids"] = json::array{"ins-3"};
    auto conflict = submit(std::move(other));
    ASSERT_FALSE(conflict);
    EXPECT_EQ(conflict.error().kind, core::error_kind::conflict);
    EXPECT_EQ(api->sent.size(), 1u);
}

TEST_F(Tracker, drain_waits_for_a_submission_in_flight) {
    api->script = {accepted_two()};
    api->submit_delay = 50ms;
    std::optional<core::result<submit_result>> out;
    asio::co_spawn(io, t->async_submit(stop_two()),
                   [&](std::exception_ptr, core::result<submit_result> r) { out = std::move(r); });
    io.run_for(10ms);  // the send is in flight
    ASSERT_EQ(t->inflight(), 1u);
    t->stop();
    bool drained = false;
    t->async_drain([&] { drained = true; });
    EXPECT_FALSE(drained);
    for (int i = 0; i < 100 && !drained; ++i) io.run_for(5ms);
    EXPECT_TRUE(drained);
    ASSERT_TRUE(out);
    EXPECT_TRUE(*out);  // the answer that came back during the shutdown was recorded
}

}  // namespace
}  // namespace taskpoller::engine

namespace taskpoller::engine {
namespace {

TEST_F(Tracker, adopting_an_instance_state_task_without_its_action_says_what_is_needed) {
    adoption a;
    a.key = {"cvm", "3a4b"};
    a.resources = {"ins-1"};
    for (std::string action : {"", "unknown"}) {
        a.action = action;
        auto r = t->adopt(a);
        ASSERT_FALSE(r);
        EXPECT_NE(r.error().message.find("needs its action"), std::string::npos);
        EXPECT_NE(r.error().message.find("--action"), std::string::npos);
    }
    a.action = "StopInstances";
    EXPECT_TRUE(t->adopt(a));
}

}  // namespace
}  // namespace taskpoller::engine

namespace taskpoller::engine {
namespace {

// A reload replaces the registry's profiles; a submission waiting to send again must use the
// new ones (under ASan, the old code read freed memory here).
TEST_F(Tracker, a_reload_between_two_sends_uses_the_new_registry) {
    api->script = {{kind::throttled, 4400, "code 4400: slow down", {}}, accepted_two()};
    std::optional<core::result<submit_result>> out;
    t->reconfigure(config(), qcloud::credentials("id", "key"));  // a 50 ms backoff
    asio::co_spawn(io, t->async_submit(stop_two()),
                   [&](std::exception_ptr, core::result<submit_result> r) { out = std::move(r); });
    io.run_for(5ms);  // the first send was throttled; the retry waits its backoff
    ASSERT_EQ(api->sent.size(), 1u);
    t->reconfigure(config(), qcloud::credentials("id", "key"));  // replaces every profile
    for (int i = 0; i < 100 && !out; ++i) io.run_for(5ms);
    ASSERT_TRUE(out);
    ASSERT_TRUE(*out);
    EXPECT_EQ((*out)->batch.state, core::batch_state::submitted);
    EXPECT_EQ(api->actions, (std::vector<std::string>{"StopInstances", "StopInstances"}));
}

// A shutdown past its deadline destroys the tracker before the io_context destroys the frames
// of submissions still suspended: their guards must not touch the tracker (ASan checks).
TEST_F(Tracker, a_tracker_destroyed_with_a_submission_in_flight_is_safe) {
    api->script = {accepted_two()};
    api->submit_delay = 1h;
    asio::co_spawn(io, t->async_submit(stop_two()), [](std::exception_ptr, auto) {});
    io.run_for(5ms);
    ASSERT_EQ(t->inflight(), 1u);
    bool drained = false;
    t->stop();
    t->async_drain([&] { drained = true; });
    t.reset();  // the frame is destroyed with the io_context, after the fixture's members
    EXPECT_FALSE(drained);
}

}  // namespace
}  // namespace taskpoller::engine

namespace taskpoller::engine {
namespace {

// Issue 18: a submission's own poll settings are bounded by polling.min_interval before
// anything is recorded or sent, kept with the batch, and given to each of its tasks.
TEST_F(Tracker, own_poll_settings_are_bounded_then_kept_with_the_batch_and_its_tasks) {
    auto too_fast = stop_two();
    too_fast.poll.interval = std::chrono::milliseconds{200};
    auto refused = submit(too_fast);
    ASSERT_FALSE(refused);
    EXPECT_NE(refused.error().message.find("below polling.min_interval (1s)"), std::string::npos)
        << refused.error().message;
    EXPECT_TRUE(api->sent.empty());
    EXPECT_EQ(st.batch_count(), 0u);

    api->script = {accepted_two()};
    auto own = stop_two();
    own.poll.interval = std::chrono::seconds{3};
    own.poll.max_interval = std::chrono::seconds{9};
    auto r = submit(own);
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->batch.poll, own.poll);
    for (const auto* rid : {"r1", "r2"}) {
        auto task = st.get_task({"cvm", rid, "ap-guangzhou", r->batch.id});
        ASSERT_TRUE(task);
        EXPECT_EQ(task->poll, own.poll) << rid;
    }
    EXPECT_EQ(t->polls().tracked(), 2u);

    adoption a;
    a.key = {"lb", "adopted-1"};
    a.action = "DeleteLoadBalancers";
    a.poll.initial_delay = std::chrono::milliseconds{500};
    auto slow_start = t->adopt(a);
    ASSERT_FALSE(slow_start);
    EXPECT_NE(slow_start.error().message.find("poll.initial_delay 500ms"), std::string::npos);
    a.poll.initial_delay = std::chrono::seconds{2};
    auto adopted = t->adopt(a);
    ASSERT_TRUE(adopted) << adopted.error().message;
    EXPECT_EQ(adopted->poll, a.poll);
}

}  // namespace
}  // namespace taskpoller::engine

// Issue 18, found by review: per-submission poll settings and the token, the schedule limit.
namespace taskpoller::engine {
namespace {

// The same client_token with another poll schedule is other content: 409, nothing sent.
TEST_F(Tracker, a_client_token_repeated_with_other_poll_settings_conflicts) {
    api->script = {accepted_two()};
    auto first = stop_two("tok-poll");
    first.poll.interval = std::chrono::seconds{3};
    auto r1 = submit(first);
    ASSERT_TRUE(r1) << r1.error().message;
    auto same = submit(first);  // the same content: the same batch, nothing sent
    ASSERT_TRUE(same) << same.error().message;
    EXPECT_TRUE(same->existing);
    auto again = stop_two("tok-poll");
    again.poll.interval = std::chrono::seconds{30};
    again.poll.max_interval = std::chrono::seconds{60};
    auto r2 = submit(again);
    ASSERT_FALSE(r2);
    EXPECT_EQ(r2.error().kind, core::error_kind::conflict);
    EXPECT_EQ(api->sent.size(), 1u);
}

void fill_schedules(tracker& t, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) {
        adoption a;
        a.key = {"lb", "adopted-" + std::to_string(i)};
        a.action = "DeleteLoadBalancers";
        a.poll.initial_delay = std::chrono::milliseconds{1000 + static_cast<std::int64_t>(i)};
        auto r = t.adopt(a);
        ASSERT_TRUE(r) << i << ": " << r.error().message;
    }
}

// Past 65535 distinct own schedules in use, a submission with a new one is refused (503)
// before anything is recorded or sent, never sent and then left unpolled.
TEST_F(Tracker, a_submission_past_the_distinct_schedule_limit_is_refused_before_sending) {
    constexpr std::size_t limit = 65535;
    fill_schedules(*t, limit);
    ASSERT_EQ(t->polls().tracked(), limit);
    api->script = {accepted_two()};
    auto s = stop_two();
    s.poll.interval = std::chrono::seconds{7};
    auto r = submit(s);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().kind, core::error_kind::unavailable);
    EXPECT_TRUE(api->sent.empty());
    EXPECT_EQ(st.batch_count(), 0u);
    // A schedule already in use is shared, not a new one: accepted and polled.
    auto shared = stop_two();
    shared.poll.initial_delay = std::chrono::milliseconds{1000};
    auto ok = submit(shared);
    ASSERT_TRUE(ok) << ok.error().message;
    EXPECT_EQ(t->polls().tracked(), limit + 2);
}

// An adoption refused for the limit records nothing, so it can be retried once a schedule is
// free again.
TEST_F(Tracker, an_adoption_refused_for_the_schedule_limit_can_be_retried) {
    constexpr std::size_t limit = 65535;
    fill_schedules(*t, limit);
    adoption one_more;
    one_more.key = {"lb", "adopted-last"};
    one_more.action = "DeleteLoadBalancers";
    one_more.poll.initial_delay = std::chrono::minutes{30};
    auto refused = t->adopt(one_more);
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().kind, core::error_kind::unavailable);
    EXPECT_FALSE(st.get_task(t->identity_of(one_more)));
    ASSERT_TRUE(t->cancel_task({"lb", "adopted-0", "ap-guangzhou", {}}));
    auto retried = t->adopt(one_more);
    EXPECT_TRUE(retried) << retried.error().message;
}

// An initial delay not shorter than the deadline would time the tasks out unpolled.
TEST_F(Tracker, an_initial_delay_beyond_the_deadline_is_refused) {
    auto s = stop_two();
    s.timeout = std::chrono::minutes{5};
    s.poll.initial_delay = std::chrono::minutes{10};
    auto r = submit(s);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find("before their first poll"), std::string::npos);
    EXPECT_TRUE(api->sent.empty());
}

}  // namespace
}  // namespace taskpoller::engine
