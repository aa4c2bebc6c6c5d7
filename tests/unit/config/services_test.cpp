#include <gtest/gtest.h>

#include "config/loader.hpp"
#include "helpers.hpp"

namespace taskpoller::config {
namespace {

using test::env_with_secrets;
using test::error_at;
using test::has_error;

load_result load(const std::string& services_yaml, const load_options& options = {}) {
    auto env = env_with_secrets();
    return load_string("cloud: {region: gz}\nservices:\n" + services_yaml, "s.yaml", env, options);
}

TEST(Services, builtin_services_need_no_resolver) {
    auto r = load(
        "  cvm: {}\n  lb: {rate_limit: 5}\n  bmlb: {}\n  bmeip:\n    actions:\n      EipBmApply: "
        "{}\n");
    ASSERT_TRUE(r.ok()) << r.error_text();
    EXPECT_EQ(r.config->services.at("cvm").resolver, resolver_kind::instance_state);
    EXPECT_EQ(r.config->services.at("lb").resolver, resolver_kind::task_result);
    EXPECT_EQ(r.config->services.at("lb").host_prefix, "lb");
    EXPECT_TRUE(r.config->services.at("bmeip").actions.contains("EipBmApply"));
}

TEST(Services, unknown_service_needs_a_resolver_and_a_hint_for_typos) {
    auto r = load("  lbb:\n    rate_limit: 3\n  redis: {}\n");
    ASSERT_FALSE(r.ok());
    EXPECT_NE(error_at(r, 3, 3).message.find("unknown service; did you mean \"lb\"?"),
              std::string::npos)
        << r.error_text();
    const auto redis = error_at(r, 5, 3);
    EXPECT_EQ(redis.path, "services.redis");
    EXPECT_NE(redis.message.find("built-in services are bmeip, bmlb, cbs, clb, cvm, lb, vpc"),
              std::string::npos)
        << redis.message;
}

TEST(Services, unknown_task_result_service_needs_a_result_action) {
    auto r = load(
        "  redis:\n    resolver: task_result\n    actions:\n      UpgradeInstance: {}\n"
        "      ModifyInstance: {result_action: DescribeTaskInfo}\n");
    ASSERT_FALSE(r.ok());
    ASSERT_EQ(r.errors.size(), 1u) << r.error_text();
    EXPECT_EQ(r.errors[0].to_string(),
              "s.yaml:6:7: services.redis.actions.UpgradeInstance: the task_result resolver needs "
              "result_action (on the action or its service)");
}

TEST(Services, instance_state_actions_need_a_target_unless_builtin) {
    auto r = load(
        "  cvm:\n    actions:\n      StopInstances: {settle_delay: 5s}\n"
        "      StopInstance: {}\n      ResizeInstanceDisks: {target_state: 2}\n");
    ASSERT_FALSE(r.ok());
    ASSERT_EQ(r.errors.size(), 1u) << r.error_text();
    EXPECT_EQ(
        r.errors[0].to_string(),
        "s.yaml:6:7: services.cvm.actions.StopInstance: no built-in completion rule for this "
        "action (did you mean \"StopInstances\"?); set target_state (and transitional_state)");
}

// docs/polling.md: an entry named after a service's poll API limits the polls. For cvm that API
// is DescribeInstances, which has no completion rule: it was refused as "no built-in completion
// rule for this action" (found by the load test, which limits CVM polls this way).
TEST(Services, the_poll_api_takes_only_a_rate_limit) {
    auto r = load(
        "  cvm: {actions: {DescribeInstances: {rate_limit: 50}}}\n"
        "  lb: {actions: {DescribeLoadBalancersTaskResult: {rate_limit: 7}}}\n");
    ASSERT_TRUE(r.ok()) << r.error_text();
    EXPECT_EQ(r.config->services.at("cvm").actions.at("DescribeInstances").rate_limit, 50.0);
    EXPECT_EQ(r.config->services.at("lb").actions.at("DescribeLoadBalancersTaskResult").rate_limit,
              7.0);

    auto bad = load("  cvm: {actions: {DescribeInstances: {rate_limit: 5, target_state: 2}}}\n");
    ASSERT_FALSE(bad.ok());
    ASSERT_EQ(bad.errors.size(), 1u) << bad.error_text();
    EXPECT_EQ(bad.errors[0].path, "services.cvm.actions.DescribeInstances.target_state");
    EXPECT_NE(bad.errors[0].message.find("unknown key; expected one of: rate_limit"),
              std::string::npos)
        << bad.error_text();
}

TEST(Services, target_state_only_for_instance_state) {
    auto r = load("  lb:\n    actions:\n      DeleteLoadBalancers: {target_state: 2}\n");
    EXPECT_TRUE(
        has_error(r,
                  "s.yaml:5:29: services.lb.actions.DeleteLoadBalancers.target_state: applies "
                  "only to the instance_state resolver"))
        << r.error_text();
}

TEST(Services, names_and_values_are_checked) {
    auto r = load(R"(  CVM: {}
  cvm:
    host_prefix: "bad prefix"
    rate_limit: -1
    resolver: magic
    actions:
      stopInstances: {}
      StartInstances:
        transitional_state: [8, x]
        settle_delay: 2 hours
        colour: red
)");
    ASSERT_FALSE(r.ok());
    std::vector<std::string> paths;
    for (const auto& e : r.errors) paths.push_back(e.path);
    EXPECT_EQ(paths, (std::vector<std::string>{
                         "services.CVM",
                         "services.cvm.host_prefix",
                         "services.cvm.rate_limit",
                         "services.cvm.resolver",
                         "services.cvm.actions.stopInstances",
                         "services.cvm.actions.StartInstances.transitional_state[1]",
                         "services.cvm.actions.StartInstances.settle_delay",
                         "services.cvm.actions.StartInstances.colour",
                     }))
        << r.error_text();
}

TEST(Services, builtin_table_is_injectable) {
    load_options options;
    options.builtin_services.emplace(
        "redis",
        builtin_service{resolver_kind::task_result, {}, "DescribeTaskInfo", "DescribeTaskInfo"});
    auto r = load("  redis:\n    actions:\n      UpgradeInstance: {}\n", options);
    ASSERT_TRUE(r.ok()) << r.error_text();
    EXPECT_TRUE(r.config->services.at("redis").builtin);
}

}  // namespace
}  // namespace taskpoller::config
