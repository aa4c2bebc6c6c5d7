// The v1 routes against a real store and tracker (cloud unreachable: nothing here needs it).
#include <gtest/gtest.h>

#include <boost/json/serialize.hpp>

#include "api_fixture.hpp"

namespace taskpoller::control::test {
namespace {

using verb = http::verb;

TEST(ApiRoutes, PingAnswersOkWithApiVersion) {
    api_env env;
    auto r = call(env.path, verb::get, "/_ping");
    EXPECT_EQ(r.status, 200u);
    EXPECT_EQ(r.body, "OK");
    EXPECT_EQ(r.header("Api-Version"), "1");
}

TEST(ApiRoutes, StatusReportsCountsAndVersion) {
    api_env env;
    env.add_batch({"r1", "r2"});
    auto r = call(env.path, verb::get, "/v1/status");
    ASSERT_EQ(r.status, 200u) << r.body;
    const auto& o = r.doc.as_object();
    EXPECT_EQ(o.at("version").as_string(), "1.2.3-test");
    EXPECT_EQ(o.at("api_version").as_int64(), 1);
    EXPECT_EQ(o.at("tasks").as_object().at("pending").as_int64(), 2);
    EXPECT_EQ(o.at("tasks").as_object().at("succeeded").as_int64(), 0);
    EXPECT_EQ(o.at("batches").as_object().at("submitted").as_int64(), 1);
    EXPECT_EQ(o.at("journal").as_object().at("enabled").as_bool(), false);
    EXPECT_GT(o.at("events").as_object().at("seq").as_int64(), 0);
    EXPECT_TRUE(o.at("rate_limits").is_array());
    EXPECT_TRUE(o.at("started_at").as_string().ends_with("Z"));
}

TEST(ApiRoutes, GetBatchShowsEntriesCountsAndTasks) {
    api_env env;
    auto id = env.add_batch({"r1", "r2"}, {{"team", "a"}});
    auto r = call(env.path, verb::get, "/v1/batches/" + id);
    ASSERT_EQ(r.status, 200u) << r.body;
    const auto& b = r.doc.as_object();
    EXPECT_EQ(b.at("id").as_string(), id);
    EXPECT_EQ(b.at("state").as_string(), "submitted");
    EXPECT_EQ(b.at("service").as_string(), "lb");
    EXPECT_EQ(b.at("counts").as_object().at("pending").as_int64(), 2);
    EXPECT_EQ(b.at("counts").as_object().at("rejected").as_int64(), 1);
    EXPECT_EQ(b.at("labels").as_object().at("team").as_string(), "a");
    EXPECT_TRUE(b.at("client_token").is_null());
    EXPECT_TRUE(b.at("finished_at").is_null());
    EXPECT_TRUE(b.at("expected_finish_at").is_null());  // nothing learned yet
    const auto& entries = b.at("entries").as_array();
    ASSERT_EQ(entries.size(), 3u);
    EXPECT_EQ(entries[0].as_object().at("request_id").as_string(), "r1");
    EXPECT_EQ(entries[0].as_object().at("state").as_string(), "pending");
    EXPECT_EQ(entries[2].as_object().at("state").as_string(), "rejected");
    EXPECT_TRUE(entries[2].as_object().at("request_id").is_null());
    EXPECT_EQ(entries[2].as_object().at("code").as_int64(), 4000);

    auto missing = call(env.path, verb::get, "/v1/batches/b-nope");
    EXPECT_EQ(missing.status, 404u);
    EXPECT_EQ(error_code_of(missing), "not_found");
}

TEST(ApiRoutes, SubmittingAndUnknownBatchesListTheResourcesTheyName) {
    api_env env;
    auto id = env.on_io([&] {
        return env.st
            .create_batch({"lb", "DeleteLoadBalancers", "ap-guangzhou", {}, "", {"lb-1", "lb-2"}})
            .value()
            .id;
    });
    auto r = call(env.path, verb::get, "/v1/batches/" + id);
    ASSERT_EQ(r.status, 200u) << r.body;
    EXPECT_EQ(r.doc.at("state").as_string(), "submitting");
    const auto& entries = r.doc.at("entries").as_array();
    ASSERT_EQ(entries.size(), 2u);
    EXPECT_EQ(entries[1].at("resource_id").as_string(), "lb-2");
    EXPECT_EQ(entries[1].at("state").as_string(), "submitting");
    EXPECT_TRUE(entries[1].at("request_id").is_null());

    // The answer was lost (a crash, a reset after sending): the entries say what may have run.
    env.on_io([&] { return env.st.mark_batch_unknown(id, "connection reset after send").value(); });
    auto u = call(env.path, verb::get, "/v1/batches/" + id);
    ASSERT_EQ(u.status, 200u) << u.body;
    EXPECT_EQ(u.doc.at("state").as_string(), "unknown");
    for (const auto& e : u.doc.at("entries").as_array()) {
        EXPECT_EQ(e.at("state").as_string(), "unknown");
        EXPECT_EQ(e.at("message").as_string(), "connection reset after send");
    }
}

TEST(ApiRoutes, ListBatchesFiltersAndPages) {
    api_env env;
    auto a = env.add_batch({"r1"}, {{"team", "a"}});
    auto b = env.add_batch({"r2"}, {{"team", "b"}});
    auto c = env.add_batch({"r3"}, {{"team", "a"}}, "lb", "DeleteLoadBalancerListeners");

    auto all = call(env.path, verb::get, "/v1/batches");
    ASSERT_EQ(all.status, 200u) << all.body;
    EXPECT_EQ(all.doc.as_object().at("batches").as_array().size(), 3u);
    EXPECT_TRUE(all.doc.as_object().at("next_page_token").is_null());

    auto team_a = call(env.path, verb::get, "/v1/batches?label=team%3Da");
    ASSERT_EQ(team_a.status, 200u) << team_a.body;
    ASSERT_EQ(team_a.doc.as_object().at("batches").as_array().size(), 2u);
    auto by_action =
        call(env.path, verb::get, "/v1/batches?action=DeleteLoadBalancerListeners&label=team=a");
    ASSERT_EQ(by_action.doc.as_object().at("batches").as_array().size(), 1u);
    EXPECT_EQ(
        by_action.doc.as_object().at("batches").as_array()[0].as_object().at("id").as_string(), c);
    auto done = call(env.path, verb::get, "/v1/batches?state=done");
    EXPECT_EQ(done.doc.as_object().at("batches").as_array().size(), 0u);

    // Walk every page of one.
    std::vector<std::string> seen;
    std::string target = "/v1/batches?limit=1";
    for (int i = 0; i < 10; ++i) {
        auto page = call(env.path, verb::get, target);
        ASSERT_EQ(page.status, 200u) << page.body;
        for (const auto& x : page.doc.as_object().at("batches").as_array())
            seen.emplace_back(x.as_object().at("id").as_string());
        const auto& next = page.doc.as_object().at("next_page_token");
        if (next.is_null()) break;
        target = "/v1/batches?limit=1&page_token=" + std::string(next.as_string());
    }
    EXPECT_EQ(seen, (std::vector<std::string>{a, b, c}));
}

TEST(ApiRoutes, ListRejectsBadFiltersByName) {
    api_env env;
    auto bad_state = call(env.path, verb::get, "/v1/batches?state=finished");
    EXPECT_EQ(bad_state.status, 400u);
    EXPECT_NE(error_message_of(bad_state).find("'finished'"), std::string::npos);
    auto bad_task_state = call(env.path, verb::get, "/v1/tasks?state=submitted");
    EXPECT_EQ(bad_task_state.status, 400u);
    EXPECT_NE(error_message_of(bad_task_state).find("'submitted'"), std::string::npos);
    auto bad_label = call(env.path, verb::get, "/v1/tasks?label=novalue");
    EXPECT_EQ(bad_label.status, 400u);
    auto bad_limit = call(env.path, verb::get, "/v1/tasks?limit=0");
    EXPECT_EQ(bad_limit.status, 400u);
    EXPECT_NE(error_message_of(bad_limit).find("limit"), std::string::npos);
    EXPECT_EQ(call(env.path, verb::get, "/v1/tasks?limit=abc").status, 400u);
    EXPECT_EQ(call(env.path, verb::get, "/v1/batches?limit=1001").status, 400u);
    auto bad_token = call(env.path, verb::get, "/v1/batches?page_token=zzz");
    EXPECT_EQ(bad_token.status, 400u) << bad_token.body;
    auto unknown = call(env.path, verb::get, "/v1/tasks?sate=failed&x=1");
    EXPECT_EQ(unknown.status, 400u);
    EXPECT_NE(error_message_of(unknown).find("'sate', 'x'"), std::string::npos) << unknown.body;
}

TEST(ApiRoutes, TasksListGetAndBatchFilter) {
    api_env env;
    auto id = env.add_batch({"r1", "r2"});
    env.add_batch({"r3"});
    env.set_state("lb", "r2", core::task_state::succeeded);

    auto of_batch = call(env.path, verb::get, "/v1/tasks?batch=" + id);
    ASSERT_EQ(of_batch.status, 200u);
    EXPECT_EQ(of_batch.doc.as_object().at("tasks").as_array().size(), 2u);
    auto ok = call(env.path, verb::get, "/v1/tasks?state=succeeded&service=lb");
    ASSERT_EQ(ok.doc.as_object().at("tasks").as_array().size(), 1u);

    auto t = call(env.path, verb::get, "/v1/tasks/lb/r2");
    ASSERT_EQ(t.status, 200u) << t.body;
    const auto& o = t.doc.as_object();
    EXPECT_EQ(o.at("key").as_string(), "lb/r2");
    EXPECT_EQ(o.at("state").as_string(), "succeeded");
    EXPECT_EQ(o.at("batch_id").as_string(), id);
    EXPECT_EQ(o.at("polls").as_int64(), 1);
    EXPECT_EQ(o.at("last_status").as_string(), "succeeded");
    EXPECT_TRUE(o.at("last_error").is_null());
    EXPECT_FALSE(o.at("finished_at").is_null());

    EXPECT_EQ(call(env.path, verb::get, "/v1/tasks/lb/none").status, 404u);
    auto bad = call(env.path, verb::get, "/v1/tasks/LB%21/r1");
    EXPECT_EQ(bad.status, 400u);
    EXPECT_EQ(error_code_of(bad), "invalid_argument");
}

TEST(ApiRoutes, LongPollWakesWhenTaskFinishes) {
    api_env env;
    env.add_batch({"r1"});
    std::thread finisher([&] {
        std::this_thread::sleep_for(300ms);
        env.set_state("lb", "r1", core::task_state::failed);
    });
    const auto t0 = std::chrono::steady_clock::now();
    auto r = call(env.path, verb::get, "/v1/tasks/lb/r1?wait=5s");
    const auto took = std::chrono::steady_clock::now() - t0;
    finisher.join();
    ASSERT_EQ(r.status, 200u) << r.body;
    EXPECT_EQ(r.doc.as_object().at("state").as_string(), "failed");
    EXPECT_GE(took, 250ms);
    EXPECT_LT(took, 4500ms);
}

TEST(ApiRoutes, LongPollOnBatchWakesWhenLastTaskFinishes) {
    api_env env;
    auto id = env.add_batch({"r1", "r2"});
    std::thread finisher([&] {
        std::this_thread::sleep_for(200ms);
        env.set_state("lb", "r1", core::task_state::succeeded);
        std::this_thread::sleep_for(100ms);
        env.set_state("lb", "r2", core::task_state::succeeded);
    });
    auto r = call(env.path, verb::get, "/v1/batches/" + id + "?wait=5s");
    finisher.join();
    ASSERT_EQ(r.status, 200u) << r.body;
    EXPECT_EQ(r.doc.as_object().at("state").as_string(), "done");
    EXPECT_EQ(r.doc.as_object().at("counts").as_object().at("succeeded").as_int64(), 2);
}

TEST(ApiRoutes, LongPollTimesOutWithCurrentStateAndIsCapped) {
    api_env_options o;
    o.max_wait = 400ms;
    api_env env(o);
    auto id = env.add_batch({"r1"});
    const auto t0 = std::chrono::steady_clock::now();
    auto r = call(env.path, verb::get, "/v1/batches/" + id + "?wait=1h");  // capped at 400 ms
    const auto took = std::chrono::steady_clock::now() - t0;
    ASSERT_EQ(r.status, 200u) << r.body;
    EXPECT_EQ(r.doc.as_object().at("state").as_string(), "submitted");
    EXPECT_GE(took, 350ms);
    EXPECT_LT(took, 3s);
    EXPECT_EQ(call(env.path, verb::get, "/v1/batches/" + id + "?wait=soon").status, 400u);
    EXPECT_EQ(call(env.path, verb::get, "/v1/tasks/lb/r1?wait=5").status, 400u);
    EXPECT_EQ(call(env.path, verb::get, "/v1/batches/b-none?wait=1s").status, 404u);
}

TEST(ApiRoutes, LongPollsBeyondTheWaiterLimitGet429) {
    api_env_options o;
    o.max_waiters = 1;
    api_env env(o);
    env.add_batch({"r1"});
    std::promise<reply> first;
    std::thread waiter(
        [&] { first.set_value(call(env.path, verb::get, "/v1/tasks/lb/r1?wait=5s")); });
    // Wait until the first long-poll holds the only slot.
    for (int i = 0; i < 200 && env.on_io([&] { return env.st.watcher_count(); }) == 0; ++i)
        std::this_thread::sleep_for(10ms);
    auto second = call(env.path, verb::get, "/v1/tasks/lb/r1?wait=5s");
    EXPECT_EQ(second.status, 429u);
    EXPECT_EQ(error_code_of(second), "too_many_requests");
    auto plain = call(env.path, verb::get, "/v1/tasks/lb/r1");  // no wait: no slot needed
    EXPECT_EQ(plain.status, 200u);
    env.set_state("lb", "r1", core::task_state::succeeded);
    auto r = first.get_future().get();
    waiter.join();
    EXPECT_EQ(r.status, 200u);
    EXPECT_EQ(r.doc.as_object().at("state").as_string(), "succeeded");
}

TEST(ApiRoutes, DeleteTaskCancelsThenConflicts) {
    api_env env;
    env.add_batch({"r1"});
    auto r = call(env.path, verb::delete_, "/v1/tasks/lb/r1");
    ASSERT_EQ(r.status, 200u) << r.body;
    EXPECT_EQ(r.doc.as_object().at("state").as_string(), "cancelled");
    auto again = call(env.path, verb::delete_, "/v1/tasks/lb/r1");
    EXPECT_EQ(again.status, 409u);
    EXPECT_EQ(error_code_of(again), "conflict");
    EXPECT_EQ(call(env.path, verb::delete_, "/v1/tasks/lb/nope").status, 404u);
    EXPECT_TRUE(env.logs.contains("cancelled by uid="));
}

TEST(ApiRoutes, DeleteBatchCancelsLiveTasks) {
    api_env env;
    auto id = env.add_batch({"r1", "r2"});
    env.set_state("lb", "r1", core::task_state::succeeded);
    auto r = call(env.path, verb::delete_, "/v1/batches/" + id);
    ASSERT_EQ(r.status, 200u) << r.body;
    const auto& b = r.doc.as_object();
    EXPECT_EQ(b.at("state").as_string(), "done");
    EXPECT_EQ(b.at("counts").as_object().at("cancelled").as_int64(), 1);
    EXPECT_EQ(b.at("counts").as_object().at("succeeded").as_int64(), 1);
    EXPECT_EQ(call(env.path, verb::get, "/v1/tasks/lb/r2").doc.as_object().at("state").as_string(),
              "cancelled");
    EXPECT_EQ(call(env.path, verb::delete_, "/v1/batches/" + id).status, 409u);
    EXPECT_EQ(call(env.path, verb::delete_, "/v1/batches/b-nope").status, 404u);
}

TEST(ApiRoutes, AdoptCreatesThenReturnsExisting) {
    api_env env;
    const std::string body =
        R"({"service":"lb","request_id":"777","action":"DeleteLoadBalancers",)"
        R"("labels":{"who":"me"},"region":"ap-beijing","poll":{"timeout":"10m"}})";
    auto r = call(env.path, verb::post, "/v1/tasks", body);
    ASSERT_EQ(r.status, 201u) << r.body;
    EXPECT_EQ(r.doc.as_object().at("key").as_string(), "lb/777");
    EXPECT_EQ(r.doc.as_object().at("state").as_string(), "pending");
    EXPECT_TRUE(r.doc.as_object().at("batch_id").is_null());
    EXPECT_EQ(r.doc.as_object().at("region").as_string(), "ap-beijing");
    EXPECT_EQ(r.doc.as_object().at("labels").as_object().at("who").as_string(), "me");
    EXPECT_FALSE(r.doc.as_object().at("deadline").is_null());
    EXPECT_TRUE(r.doc.as_object().at("expected_finish_at").is_null());  // nothing learned yet
    auto again = call(env.path, verb::post, "/v1/tasks", body);
    EXPECT_EQ(again.status, 200u) << again.body;
    EXPECT_EQ(again.doc.as_object().at("key").as_string(), "lb/777");
    EXPECT_EQ(env.on_io([&] { return env.tracker.polls().tracked(); }), 1u);
    EXPECT_TRUE(env.logs.contains("adopted by uid="));
}

// Issue 18: a caller's own poll settings are kept with the task and shown back.
TEST(ApiRoutes, AdoptedTaskKeepsItsOwnPollSettings) {
    api_env env;
    auto r = call(env.path, verb::post, "/v1/tasks",
                  R"({"service":"lb","request_id":"778","action":"DeleteLoadBalancers",)"
                  R"("poll":{"initial_delay":"1s500ms","interval":"2s","timeout":"5m"}})");
    ASSERT_EQ(r.status, 201u) << r.body;
    const auto& poll = r.doc.as_object().at("poll").as_object();
    EXPECT_EQ(poll.at("initial_delay").as_string(), "1s500ms");
    EXPECT_EQ(poll.at("interval").as_string(), "2s");
    EXPECT_FALSE(poll.contains("max_interval"));  // not set: the configuration's
    EXPECT_FALSE(poll.contains("timeout"));       // the deadline says it
    // Adopting it again with other poll settings is other content: 409, nothing changes.
    auto other = call(env.path, verb::post, "/v1/tasks",
                      R"({"service":"lb","request_id":"778","action":"DeleteLoadBalancers",)"
                      R"("poll":{"interval":"5s"}})");
    EXPECT_EQ(other.status, 409u) << other.body;
    auto got = call(env.path, verb::get, "/v1/tasks/lb/778");
    ASSERT_EQ(got.status, 200u);
    EXPECT_EQ(got.doc.as_object().at("poll").as_object().at("interval").as_string(), "2s");
    auto plain = call(env.path, verb::post, "/v1/tasks",
                      R"({"service":"lb","request_id":"779","action":"DeleteLoadBalancers"})");
    ASSERT_EQ(plain.status, 201u);
    EXPECT_FALSE(plain.doc.as_object().contains("poll"));
}

// Issue 16 item 4: tasks that share a service and requestId are told apart by region and batch.
TEST(ApiRoutes, TasksSharingARequestIdAreAmbiguousUntilQualified) {
    api_env env;
    auto first = env.add_batch({"r1"});
    env.set_state("lb", "r1", core::task_state::failed);
    auto second = env.add_batch({"r1"});  // the cloud answered with the same requestId again

    auto both = call(env.path, verb::get, "/v1/tasks/lb/r1");
    EXPECT_EQ(both.status, 409u) << both.body;
    EXPECT_NE(both.body.find(first), std::string::npos) << both.body;
    EXPECT_NE(both.body.find(second), std::string::npos) << both.body;
    auto mine = call(env.path, verb::get, "/v1/tasks/lb/r1?batch=" + second);
    ASSERT_EQ(mine.status, 200u) << mine.body;
    EXPECT_EQ(mine.doc.as_object().at("state").as_string(), "pending");
    EXPECT_EQ(mine.doc.as_object().at("batch_id").as_string(), second);
    auto old = call(env.path, verb::get, "/v1/tasks/lb/r1?batch=" + first);
    EXPECT_EQ(old.doc.as_object().at("state").as_string(), "failed");
    EXPECT_EQ(call(env.path, verb::get, "/v1/tasks/lb/r1?region=ap-guangzhou").status, 409u);
    EXPECT_EQ(call(env.path, verb::get, "/v1/tasks/lb/r1?region=ap-beijing").status, 404u);
    EXPECT_EQ(call(env.path, verb::delete_, "/v1/tasks/lb/r1").status, 409u);
    auto cancelled = call(env.path, verb::delete_, "/v1/tasks/lb/r1?batch=" + second);
    ASSERT_EQ(cancelled.status, 200u) << cancelled.body;
    EXPECT_EQ(cancelled.doc.as_object().at("state").as_string(), "cancelled");
    EXPECT_EQ(call(env.path, verb::get, "/v1/tasks/lb/r1?bath=x").status, 400u);
    EXPECT_EQ(env.on_io([&] { return env.st.task_key_collisions(); }), 1u);
    EXPECT_TRUE(env.logs.contains("requestId collision"));

    // Adopting that requestId in another region is another task (201), never the existing one.
    auto adopted = call(env.path, verb::post, "/v1/tasks",
                        R"({"service":"lb","request_id":"r1","region":"ap-beijing"})");
    ASSERT_EQ(adopted.status, 201u) << adopted.body;
    EXPECT_EQ(adopted.doc.as_object().at("region").as_string(), "ap-beijing");
    auto again = call(env.path, verb::post, "/v1/tasks",
                      R"({"service":"lb","request_id":"r1","region":"ap-beijing"})");
    EXPECT_EQ(again.status, 200u) << again.body;
    auto in_beijing = call(env.path, verb::get, "/v1/tasks/lb/r1?region=ap-beijing");
    ASSERT_EQ(in_beijing.status, 200u) << in_beijing.body;
    EXPECT_TRUE(in_beijing.doc.as_object().at("batch_id").is_null());
}

TEST(ApiRoutes, AdoptRejectsBadBodies) {
    api_env env;
    auto malformed = call(env.path, verb::post, "/v1/tasks", R"({"service":"lb",)");
    EXPECT_EQ(malformed.status, 400u);
    EXPECT_EQ(error_code_of(malformed), "invalid_json");
    auto unknown = call(env.path, verb::post, "/v1/tasks",
                        R"({"sevice":"lb","request_id":"1","extra":1,"service":"lb"})");
    EXPECT_EQ(unknown.status, 400u);
    EXPECT_NE(error_message_of(unknown).find("'sevice', 'extra'"), std::string::npos)
        << unknown.body;
    auto wrong_type = call(env.path, verb::post, "/v1/tasks", R"({"service":"lb","request_id":7})");
    EXPECT_EQ(wrong_type.status, 400u);
    EXPECT_NE(error_message_of(wrong_type).find("request_id"), std::string::npos);
    auto missing = call(env.path, verb::post, "/v1/tasks", R"({"service":"lb"})");
    EXPECT_EQ(missing.status, 400u);
    // Own poll settings below polling.min_interval (1 s by default), or contradictory.
    auto fast = call(env.path, verb::post, "/v1/tasks",
                     R"({"service":"lb","request_id":"1","poll":{"interval":"200ms"}})");
    EXPECT_EQ(fast.status, 400u);
    EXPECT_NE(error_message_of(fast).find("poll.interval 200ms is below polling.min_interval (1s)"),
              std::string::npos)
        << fast.body;
    auto inverted =
        call(env.path, verb::post, "/v1/tasks",
             R"({"service":"lb","request_id":"1","poll":{"interval":"5s","max_interval":"2s"}})");
    EXPECT_EQ(inverted.status, 400u);
    EXPECT_NE(error_message_of(inverted).find("poll.max_interval"), std::string::npos);
    auto zero = call(env.path, verb::post, "/v1/tasks",
                     R"({"service":"lb","request_id":"1","poll":{"initial_delay":"0"}})");
    EXPECT_EQ(zero.status, 400u);
    EXPECT_NE(error_message_of(zero).find("poll.initial_delay"), std::string::npos);
    EXPECT_EQ(env.on_io([&] { return env.tracker.polls().tracked(); }), 0u);  // none adopted
    auto bad_timeout = call(env.path, verb::post, "/v1/tasks",
                            R"({"service":"lb","request_id":"1","poll":{"timeout":"soon"}})");
    EXPECT_EQ(bad_timeout.status, 400u);
    auto poll_unknown = call(env.path, verb::post, "/v1/tasks",
                             R"({"service":"lb","request_id":"1","poll":{"tmeout":"1s"}})");
    EXPECT_EQ(poll_unknown.status, 400u);
    EXPECT_NE(error_message_of(poll_unknown).find("poll.tmeout"), std::string::npos);
    auto bad_label = call(env.path, verb::post, "/v1/tasks",
                          R"({"service":"lb","request_id":"1","labels":{"a":1}})");
    EXPECT_EQ(bad_label.status, 400u);
    EXPECT_NE(error_message_of(bad_label).find("labels.a"), std::string::npos);
    auto cvm = call(env.path, verb::post, "/v1/tasks",
                    R"({"service":"cvm","request_id":"1","action":"StopInstances"})");
    EXPECT_EQ(cvm.status, 400u);
    EXPECT_EQ(error_code_of(cvm), "invalid_argument");
    auto unknown_service =
        call(env.path, verb::post, "/v1/tasks", R"({"service":"nosuch","request_id":"1"})");
    EXPECT_EQ(unknown_service.status, 400u);
    auto bad_resources = call(env.path, verb::post, "/v1/tasks",
                              R"({"service":"lb","request_id":"1","resources":["a",2]})");
    EXPECT_EQ(bad_resources.status, 400u);
    EXPECT_NE(error_message_of(bad_resources).find("resources[1]"), std::string::npos);
    EXPECT_EQ(env.on_io([&] { return env.st.task_count(); }), 0u);
}

TEST(ApiRoutes, SubmitRejectsBadBodies) {
    api_env env;
    auto unknown =
        call(env.path, verb::post, "/v1/batches",
             R"({"service":"lb","action":"DeleteLoadBalancers","params":{},"reigon":"x"})");
    EXPECT_EQ(unknown.status, 400u);
    EXPECT_NE(error_message_of(unknown).find("'reigon'"), std::string::npos);
    auto no_params = call(env.path, verb::post, "/v1/batches",
                          R"({"service":"lb","action":"DeleteLoadBalancers"})");
    EXPECT_EQ(no_params.status, 400u);
    EXPECT_NE(error_message_of(no_params).find("params"), std::string::npos);
    auto bad_action = call(env.path, verb::post, "/v1/batches",
                           R"({"service":"lb","action":"Nope","params":{"a":"b"}})");
    EXPECT_EQ(bad_action.status, 400u);
    EXPECT_EQ(error_code_of(bad_action), "invalid_argument");
    auto not_object = call(env.path, verb::post, "/v1/batches", "[1,2]");
    EXPECT_EQ(not_object.status, 400u);
    EXPECT_EQ(error_code_of(not_object), "invalid_json");
    auto bad_params = call(env.path, verb::post, "/v1/batches",
                           R"({"service":"lb","action":"DeleteLoadBalancers","params":{"a":[]}})");
    EXPECT_EQ(bad_params.status, 400u);
    EXPECT_EQ(env.on_io([&] { return env.st.batch_count(); }), 0u);
}

TEST(ApiRoutes, SubmitToUnreachableCloudRecordsTheBatchAndDeduplicatesTokens) {
    api_env env;
    const std::string body =
        R"({"service":"lb","action":"DeleteLoadBalancers","params":{"loadBalancerIds":["lb-1"]},)"
        R"("client_token":"tok-1","labels":{"team":"x"}})";
    auto r = call(env.path, verb::post, "/v1/batches", body);
    ASSERT_EQ(r.status, 202u) << r.body;
    const auto id = std::string(r.doc.as_object().at("id").as_string());
    EXPECT_EQ(r.doc.as_object().at("client_token").as_string(), "tok-1");
    EXPECT_EQ(r.doc.as_object().at("region").as_string(), "ap-guangzhou");
    // Nothing listens on the cloud address: provably not sent, so never accepted.
    EXPECT_NE(r.doc.as_object().at("state").as_string(), "submitted");
    auto again = call(env.path, verb::post, "/v1/batches", body);
    ASSERT_EQ(again.status, 200u) << again.body;
    EXPECT_EQ(again.doc.as_object().at("id").as_string(), id);
    auto other = call(env.path, verb::post, "/v1/batches",
                      R"({"service":"lb","action":"DeleteLoadBalancers",)"
                      R"("params":{"loadBalancerIds":["lb-2"]},"client_token":"tok-1"})");
    EXPECT_EQ(other.status, 409u) << other.body;
    EXPECT_EQ(error_code_of(other), "conflict");
    EXPECT_TRUE(env.logs.contains("by uid="));
}

TEST(ApiRoutes, UnknownRoutesAndWrongMethods) {
    api_env env;
    auto r = call(env.path, verb::put, "/v1/batches", "{}");
    EXPECT_EQ(r.status, 405u);
    EXPECT_EQ(r.header("Allow"), "GET, HEAD, POST");
    auto t = call(env.path, verb::post, "/v1/tasks/lb/1", "{}");
    EXPECT_EQ(t.status, 405u);
    EXPECT_EQ(t.header("Allow"), "DELETE, GET, HEAD");
    EXPECT_EQ(call(env.path, verb::get, "/v2/batches").status, 404u);
    EXPECT_EQ(call(env.path, verb::get, "/v1/events/x").status, 404u);
}

TEST(ApiRoutes, ConfigAndReload) {
    api_env env;
    EXPECT_EQ(call(env.path, verb::get, "/v1/config").doc, json::value(json::object{}));
    auto unavailable = call(env.path, verb::post, "/v1/reload");
    EXPECT_EQ(unavailable.status, 503u);

    bool next_ok = true;
    env.on_io([&] {
        env.ctx.config_view = [] { return json::value{{"cloud", {{"secret_key", "<redacted>"}}}}; };
        env.ctx.reload = [&next_ok]() -> boost::asio::awaitable<reload_outcome> {
            reload_outcome r;
            r.ok = next_ok;
            if (next_ok)
                r.restart_required = {"control.socket"};
            else {
                r.message = "2 errors";
                // A config key is quoted as written: here bytes that are not UTF-8 (fuzzing).
                r.details = {"a.yaml:3:5: cloud.region: must not be empty",
                             "a.yaml:9:1: \xff\xfe: unknown key"};
            }
            co_return r;
        };
        return 0;
    });
    auto cfg = call(env.path, verb::get, "/v1/config");
    EXPECT_EQ(cfg.doc.at("cloud").at("secret_key").as_string(), "<redacted>");
    auto ok = call(env.path, verb::post, "/v1/reload");
    ASSERT_EQ(ok.status, 200u) << ok.body;
    EXPECT_TRUE(ok.doc.at("reloaded").as_bool());
    EXPECT_EQ(ok.doc.at("restart_required").as_array()[0].as_string(), "control.socket");
    next_ok = false;
    auto bad = call(env.path, verb::post, "/v1/reload");
    ASSERT_EQ(bad.status, 400u);
    EXPECT_EQ(error_code_of(bad), "invalid_config");
    ASSERT_EQ(bad.doc.at("error").at("details").as_array().size(), 2u);  // valid JSON
    std::string quoted(bad.doc.at("error").at("details").as_array()[1].as_string());
    EXPECT_NE(quoted.find("\xEF\xBF\xBD"), std::string::npos) << quoted;  // U+FFFD
    EXPECT_NE(quoted.find(": unknown key"), std::string::npos) << quoted;
    auto metrics = call(env.path, verb::get, "/metrics");
    EXPECT_NE(metrics.body.find("taskpoller_config_last_reload_successful 0\n"), std::string::npos);
    EXPECT_TRUE(env.logs.contains("reload requested by uid="));
}

}  // namespace
}  // namespace taskpoller::control::test
