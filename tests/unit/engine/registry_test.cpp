#include "engine/registry.hpp"

#include <gtest/gtest.h>

#include <cmath>

namespace taskpoller::engine {
namespace {

const action_profile& must_find(const registry& r, std::string_view s, std::string_view a) {
    auto res = r.find_action(s, a);
    EXPECT_TRUE(res.has_value()) << s << "/" << a << ": " << (res ? "" : res.error().message);
    return *res.value();
}

void expect_cvm(const registry& r, std::string_view action, response_kind kind, int target,
                int transitional, std::string_view ids) {
    const auto& a = must_find(r, "cvm", action);
    EXPECT_EQ(a.response, kind) << action;
    ASSERT_TRUE(a.cvm.has_value()) << action;
    EXPECT_EQ(a.cvm->target, target) << action;
    EXPECT_EQ(a.cvm->transitional, transitional) << action;
    EXPECT_EQ(a.cvm->ids_param, ids) << action;
    EXPECT_EQ(a.cvm->settle_delay, std::chrono::seconds(10)) << action;
}

TEST(Registry, builtin_cvm_actions_follow_the_protocol_notes) {
    registry r;
    const auto* cvm = r.find_service("cvm");
    ASSERT_NE(cvm, nullptr);
    EXPECT_EQ(cvm->resolver, resolver_kind::instance_state);
    EXPECT_EQ(cvm->result_action, "DescribeInstances");
    EXPECT_EQ(cvm->actions.size(), 5u);
    expect_cvm(r, "StartInstances", response_kind::batch, 2, 8, "instanceIds");
    expect_cvm(r, "StopInstances", response_kind::batch, 4, 9, "instanceIds");
    expect_cvm(r, "RestartInstances", response_kind::batch, 2, 7, "instanceIds");
    expect_cvm(r, "ResetInstancePassword", response_kind::batch, 4, 10, "instanceIds");
    expect_cvm(r, "ResetInstances", response_kind::common_async, 2, 14, "instanceId");
}

TEST(Registry, builtin_task_result_services) {
    registry r;
    struct expected {
        const char* service;
        const char* result;
    };
    for (auto e : {expected{"lb", "DescribeLoadBalancersTaskResult"},
                   expected{"bmlb", "DescribeBmLoadBalancersTaskResult"},
                   expected{"bmeip", "EipBmQueryTask"}}) {
        const auto* s = r.find_service(e.service);
        ASSERT_NE(s, nullptr) << e.service;
        EXPECT_EQ(s->resolver, resolver_kind::task_result);
        EXPECT_EQ(s->result_action, e.result);
        EXPECT_EQ(s->result_param, "requestId");
    }
    for (auto a : {"RegisterInstancesWithLoadBalancer", "ModifyLoadBalancerBackends",
                   "DeregisterInstancesFromLoadBalancer", "DeleteLoadBalancers",
                   "DeleteLoadBalancerListeners"}) {
        const auto& p = must_find(r, "lb", a);
        EXPECT_EQ(p.response, response_kind::common_async) << a;
        EXPECT_FALSE(p.cvm.has_value()) << a;
    }
}

TEST(Registry, hosts_use_the_configured_suffix) {
    registry r;
    EXPECT_EQ(r.host("cvm"), "cvm.api.qcloud.com");
    EXPECT_EQ(r.host("lb"), "lb.api.qcloud.com");
    EXPECT_EQ(r.host("bmeip"), "bmeip.api.qcloud.com");
    EXPECT_EQ(r.host("nope"), "");
    registry other("internal.example");
    EXPECT_EQ(other.host("bmlb"), "bmlb.internal.example");
}

TEST(Registry, unknown_action_is_refused_with_the_known_actions) {
    registry r;
    auto res = r.find_action("cvm", "TerminateInstances");
    ASSERT_FALSE(res.has_value());
    const std::string& m = res.error().message;
    EXPECT_NE(m.find("no completion rule for cvm/TerminateInstances"), std::string::npos) << m;
    for (auto a : {"ResetInstancePassword", "ResetInstances", "RestartInstances", "StartInstances",
                   "StopInstances"})
        EXPECT_NE(m.find(a), std::string::npos) << a << " missing from: " << m;
    EXPECT_NE(m.find("services.cvm.actions"), std::string::npos) << m;

    auto none = r.find_action("bmlb", "Anything");
    ASSERT_FALSE(none.has_value());
    EXPECT_NE(none.error().message.find("DeleteBmLoadBalancers"), std::string::npos)
        << none.error().message;
}

// docs/polling.md lists these as built in: they must work without any configuration.
TEST(Registry, bm_services_have_their_documented_actions_built_in) {
    registry r;
    for (auto [service, action] :
         {std::pair{"bmlb", "BindBmL4ListenerRs"}, std::pair{"bmlb", "UnbindBmL4ListenerRs"},
          std::pair{"bmlb", "BindBmL7Backends"}, std::pair{"bmlb", "UnbindBmL7Backends"},
          std::pair{"bmlb", "DeleteBmLoadBalancers"}, std::pair{"bmeip", "EipBmBindRs"},
          std::pair{"bmeip", "EipBmUnbindRs"}, std::pair{"bmeip", "EipBmRelease"}}) {
        auto a = r.find_action(service, action);
        ASSERT_TRUE(a.has_value()) << service << "/" << action << ": " << a.error().message;
        EXPECT_EQ((*a)->response, response_kind::common_async) << action;
        EXPECT_EQ(r.find_service(service)->resolver, resolver_kind::task_result);
    }
}

TEST(Registry, unknown_service_lists_known_services) {
    registry r;
    auto res = r.find_action("ebs", "AttachDisks");
    ASSERT_FALSE(res.has_value());
    EXPECT_NE(res.error().message.find("unknown service 'ebs'"), std::string::npos);
    EXPECT_NE(res.error().message.find("bmeip, bmlb, cbs, clb, cvm, lb, vpc"), std::string::npos)
        << res.error().message;
}

TEST(Registry, override_adds_an_lb_action_and_changes_a_cvm_rule) {
    registry r;
    service_override lb{"lb", {}, {}, {}, {}, {}};
    lb.actions["CreateForwardLBListenerRules"] = {};
    ASSERT_TRUE(r.apply(lb).has_value());
    EXPECT_EQ(must_find(r, "lb", "CreateForwardLBListenerRules").response,
              response_kind::common_async);

    service_override cvm{"cvm", {}, {}, {}, {}, {}};
    action_override stop;
    stop.settle_delay = std::chrono::seconds(30);
    stop.transitional = -100;  // remove it
    stop.rate_limit = 5;
    cvm.actions["StopInstances"] = stop;
    ASSERT_TRUE(r.apply(cvm).has_value());
    const auto& a = must_find(r, "cvm", "StopInstances");
    EXPECT_EQ(a.cvm->settle_delay, std::chrono::seconds(30));
    EXPECT_FALSE(a.cvm->has_transitional());
    EXPECT_EQ(a.cvm->target, 4);  // untouched
    EXPECT_EQ(r.rate_limit("cvm", "StopInstances", 20), 5);
    EXPECT_EQ(r.rate_limit("cvm", "StartInstances", 20), 20);
}

TEST(Registry, new_cvm_action_needs_a_target) {
    registry r;
    service_override o{"cvm", {}, {}, {}, {}, {}};
    o.actions["TerminateInstances"] = {};
    auto res = r.apply(o);
    ASSERT_FALSE(res.has_value());
    EXPECT_NE(res.error().message.find("cvm.TerminateInstances: a new cvm action needs a target"),
              std::string::npos)
        << res.error().message;
    o.actions["TerminateInstances"].target = 5;
    o.actions["TerminateInstances"].transitional = 6;
    o.actions["TerminateInstances"].response = response_kind::batch;
    ASSERT_TRUE(r.apply(o).has_value());
    const auto& a = must_find(r, "cvm", "TerminateInstances");
    EXPECT_EQ(a.cvm->target, 5);
    EXPECT_EQ(a.cvm->transitional, 6);
    EXPECT_EQ(a.cvm->ids_param, "instanceIds");
    EXPECT_EQ(a.response, response_kind::batch);
}

TEST(Registry, rate_limits_fall_back_action_service_default) {
    registry r;
    service_override o{"lb", {}, {}, {}, 8.0, {}};
    o.actions["DeleteLoadBalancers"].rate_limit = 2;
    o.actions["DescribeLoadBalancersTaskResult"].rate_limit = 15;  // the poll API
    ASSERT_TRUE(r.apply(o).has_value());
    EXPECT_EQ(r.rate_limit("lb", "DeleteLoadBalancers", 20), 2);
    EXPECT_EQ(r.rate_limit("lb", "ModifyLoadBalancerBackends", 20), 8);
    EXPECT_EQ(r.rate_limit("lb", "DescribeLoadBalancersTaskResult", 20), 15);
    EXPECT_EQ(r.rate_limit("cvm", "DescribeInstances", 20), 20);
    EXPECT_EQ(r.rate_limit("nope", "X", 7), 7);
    // The poll API did not become a submittable action.
    EXPECT_FALSE(r.find_action("lb", "DescribeLoadBalancersTaskResult").has_value());
}

struct bad_case {
    const char* name;
    service_override o;
    const char* message_part;
};

template <class F>
action_override ov(F f) {
    action_override a;
    f(a);
    return a;
}

std::vector<bad_case> bad_cases() {
    std::vector<bad_case> v;
    auto with = [](std::string svc, std::string action, action_override a) {
        service_override o{std::move(svc), {}, {}, {}, {}, {}};
        o.actions[std::move(action)] = a;
        return o;
    };
    v.push_back({"unknown service", {"ebs", {}, {}, {}, {}, {}}, "unknown service (known: "});
    v.push_back({"zero service rate", {"lb", {}, {}, {}, 0.0, {}}, "rate_limit must be"});
    v.push_back(
        {"nan action rate",
         with("lb", "DeleteLoadBalancers", ov([](action_override& a) { a.rate_limit = NAN; })),
         "lb.DeleteLoadBalancers: rate_limit must be"});
    v.push_back({"bad target",
                 with("cvm", "StopInstances", ov([](action_override& a) { a.target = 99; })),
                 "target 99 is not a CVM status"});
    v.push_back({"bad transitional",
                 with("cvm", "StopInstances", ov([](action_override& a) { a.transitional = 0; })),
                 "transitional 0 is not a CVM status"});
    v.push_back({"empty ids",
                 with("cvm", "StopInstances", ov([](action_override& a) { a.ids_param = ""; })),
                 "ids_param must not be empty"});
    v.push_back({"negative settle", with("cvm", "StopInstances", ov([](action_override& a) {
                                             a.settle_delay = milliseconds(-1);
                                         })),
                 "settle_delay must not be negative"});
    v.push_back({"target equals transitional",
                 with("cvm", "StopInstances", ov([](action_override& a) { a.transitional = 4; })),
                 "target and transitional must differ"});
    v.push_back({"cvm field on lb",
                 with("lb", "DeleteLoadBalancers", ov([](action_override& a) { a.target = 2; })),
                 "apply to cvm actions only"});
    v.push_back({"poll api field",
                 with("lb", "DescribeLoadBalancersTaskResult",
                      ov([](action_override& a) { a.target = 2; })),
                 "the poll API accepts only rate_limit"});
    v.push_back({"empty host", {"lb", std::string(), {}, {}, {}, {}}, "host_prefix is empty"});
    return v;
}

TEST(Registry, bad_overrides_are_refused_and_change_nothing) {
    for (auto& c : bad_cases()) {
        registry r;
        // A valid change in the same override must not be applied when another part fails.
        c.o.actions["AAAValidButDiscarded"] =
            c.o.name == "cvm" ? ov([](action_override& a) { a.target = 2; }) : action_override{};
        auto res = r.apply(c.o);
        ASSERT_FALSE(res.has_value()) << c.name;
        EXPECT_NE(res.error().message.find(c.message_part), std::string::npos)
            << c.name << ": " << res.error().message;
        EXPECT_FALSE(r.find_action(c.o.name, "AAAValidButDiscarded").has_value()) << c.name;
        EXPECT_EQ(r.find_action("cvm", "StopInstances").value()->cvm->target, 4) << c.name;
        EXPECT_EQ(r.host("lb"), "lb.api.qcloud.com") << c.name;
    }
}

TEST(Registry, new_task_result_service_and_host_prefix) {
    registry r;
    service_override redis{"redis", {}, std::string("DescribeTaskResult"), {}, {}, {}};
    redis.actions["UpgradeInstance"] = {};
    ASSERT_TRUE(r.apply(redis).has_value());
    EXPECT_EQ(r.host("redis"), "redis.api.qcloud.com");
    EXPECT_EQ(r.find_service("redis")->result_action, "DescribeTaskResult");
    EXPECT_TRUE(r.find_action("redis", "UpgradeInstance").has_value());

    service_override lb{"lb", std::string("clb"), {}, {}, {}, {}};
    ASSERT_TRUE(r.apply(lb).has_value());
    EXPECT_EQ(r.host("lb"), "clb.api.qcloud.com");
    service_override cvm{"cvm", {}, std::string("Other"), {}, {}, {}};
    EXPECT_FALSE(r.apply(cvm).has_value());
}

TEST(Registry, global_settle_delay_then_per_action_override) {
    registry r;
    EXPECT_FALSE(r.set_settle_delay(milliseconds(-5)).has_value());
    ASSERT_TRUE(r.set_settle_delay(std::chrono::seconds(25)).has_value());
    service_override o{"cvm", {}, {}, {}, {}, {}};
    o.actions["StopInstances"].settle_delay = std::chrono::seconds(3);
    ASSERT_TRUE(r.apply(o).has_value());
    EXPECT_EQ(r.find_action("cvm", "StartInstances").value()->cvm->settle_delay,
              std::chrono::seconds(25));
    EXPECT_EQ(r.find_action("cvm", "StopInstances").value()->cvm->settle_delay,
              std::chrono::seconds(3));
    EXPECT_FALSE(r.find_action("lb", "DeleteLoadBalancers").value()->cvm.has_value());
}

TEST(Registry, cvm_status_table) {
    EXPECT_TRUE(is_known_cvm_status(-1));
    EXPECT_FALSE(is_known_cvm_status(0));
    EXPECT_TRUE(is_known_cvm_status(20));
    EXPECT_FALSE(is_known_cvm_status(21));
    EXPECT_EQ(cvm_status_name(9), "stopping");
    EXPECT_EQ(cvm_status_name(4), "stopped");
    EXPECT_EQ(cvm_status_name(42), "unknown status");
}

}  // namespace
}  // namespace taskpoller::engine
