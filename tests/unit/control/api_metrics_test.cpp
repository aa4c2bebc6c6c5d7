// GET /metrics exposes the taskpoller_* families with their known label sets at zero, and a few
// routes work with a real `curl --unix-socket`.
#include <gtest/gtest.h>

#include "api_fixture.hpp"

namespace taskpoller::control::test {
namespace {

using verb = http::verb;

bool has_line(const std::string& text, const std::string& line) {
    return text.find("\n" + line + "\n") != std::string::npos;
}

TEST(ApiMetrics, ExposesEveryFamilyWithZeroedLabelSets) {
    api_env env;
    auto r = call(env.path, verb::get, "/metrics");
    ASSERT_EQ(r.status, 200u);
    EXPECT_EQ(r.header("Content-Type").rfind("text/plain", 0), 0u);
    const auto& m = r.body;
    for (const char* line : {
             "taskpoller_tasks{state=\"pending\"} 0",
             "taskpoller_tasks{state=\"cancelled\"} 0",
             "taskpoller_batches{state=\"unknown\"} 0",
             "taskpoller_api_calls_total{service=\"lb\",action=\"DescribeLoadBalancersTaskResult\","
             "outcome=\"throttled\"} 0",
             "taskpoller_api_calls_total{service=\"cvm\",action=\"StopInstances\",outcome=\"ok\"} "
             "0",
             "taskpoller_api_throttled_total 0",
             "taskpoller_submissions_total{outcome=\"conflict\"} 0",
             "taskpoller_submissions_total{outcome=\"submitted\"} 0",
             "taskpoller_events_subscribers 0",
             "taskpoller_build_info{version=\"1.2.3-test\"} 1",
             "taskpoller_config_last_reload_successful 1",
             "taskpoller_api_call_duration_seconds_bucket{service=\"lb\",action="
             "\"DescribeLoadBalancersTaskResult\",le=\"0.005\"} 0",
             "taskpoller_api_call_duration_seconds_count{service=\"lb\",action="
             "\"DescribeLoadBalancersTaskResult\"} 0",
             "# TYPE taskpoller_api_call_duration_seconds histogram",
             "# TYPE taskpoller_api_calls_total counter",
             "# TYPE taskpoller_tasks gauge",
         })
        EXPECT_TRUE(has_line(m, line)) << "missing: " << line;
    for (const char* family : {"taskpoller_control_requests_total", "process_open_fds",
                               "process_resident_memory_bytes", "taskpoller_rate_limit_rate"})
        EXPECT_NE(m.find(family), std::string::npos) << family;
}

TEST(ApiMetrics, FollowsTheStoreAndTheEngine) {
    api_env env;
    env.add_batch({"r1", "r2"});
    env.set_state("lb", "r1", core::task_state::succeeded);
    // A real submission to an unreachable cloud counts an API call and a submission outcome.
    auto sub = call(env.path, verb::post, "/v1/batches",
                    R"({"service":"lb","action":"DeleteLoadBalancers",)"
                    R"("params":{"loadBalancerIds":["lb-1"]}})");
    ASSERT_EQ(sub.status, 202u) << sub.body;
    const std::string state(sub.doc.as_object().at("state").as_string());
    auto m = call(env.path, verb::get, "/metrics").body;
    EXPECT_TRUE(has_line(m, "taskpoller_tasks{state=\"pending\"} 1"));
    EXPECT_TRUE(has_line(m, "taskpoller_tasks{state=\"succeeded\"} 1"));
    EXPECT_TRUE(has_line(m, "taskpoller_batches{state=\"submitted\"} 1"));
    EXPECT_TRUE(has_line(m, "taskpoller_batches{state=\"" + state + "\"} 1"));
    EXPECT_TRUE(has_line(m, "taskpoller_submissions_total{outcome=\"" + state + "\"} 1")) << m;
    EXPECT_TRUE(has_line(m,
                         "taskpoller_api_calls_total{service=\"lb\",action="
                         "\"DeleteLoadBalancers\",outcome=\"not_sent\"} 1"))
        << m;
}

TEST(ApiCurl, RoutesWorkWithCurlOverTheUnixSocket) {
    api_env env;
    const std::string curl = "curl -s --max-time 10 --unix-socket " + env.path + " ";
    EXPECT_EQ(run_command(curl + "http://localhost/_ping"), "OK");
    EXPECT_NE(run_command(curl + "-i http://localhost/_ping").find("Api-Version: 1"),
              std::string::npos);
    auto status = json::parse(run_command(curl + "http://localhost/v1/status"));
    EXPECT_EQ(status.at("api_version").as_int64(), 1);

    const auto adopted_text =
        run_command(curl +
                    "-X POST -H 'Content-Type: application/json' "
                    "-d '{\"service\":\"lb\",\"request_id\":\"42\"}' http://localhost/v1/tasks");
    auto adopted = json::parse(adopted_text);
    ASSERT_TRUE(adopted.is_object() && adopted.as_object().contains("key")) << adopted_text;
    EXPECT_EQ(adopted.at("key").as_string(), "lb/42");
    auto listed = json::parse(run_command(curl + "'http://localhost/v1/tasks?service=lb'"));
    EXPECT_EQ(listed.at("tasks").as_array().size(), 1u);
    auto code = run_command(curl +
                            "-o /dev/null -w '%{http_code}' -X DELETE "
                            "http://localhost/v1/tasks/lb/42");
    EXPECT_EQ(code, "200");
    code = run_command(curl +
                       "-o /dev/null -w '%{http_code}' -X DELETE "
                       "http://localhost/v1/tasks/lb/42");
    EXPECT_EQ(code, "409");
    auto err = json::parse(run_command(curl + "-X POST -H 'Content-Type: application/json' "
                                              "-d '{\"service\":1}' http://localhost/v1/batches"));
    EXPECT_EQ(err.at("error").at("code").as_string(), "bad_request");
    EXPECT_NE(run_command(curl + "http://localhost/metrics").find("taskpoller_tasks{"),
              std::string::npos);
}

}  // namespace
}  // namespace taskpoller::control::test
