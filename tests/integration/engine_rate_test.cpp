// The engine against the simulator's rate limit: many CLB tasks polled with
// DescribeLoadBalancersTaskResult. The simulator limits polls to `sim_rate`/s (scaled up from
// the API's 20/s so the test takes seconds; the ratios are what matter).
#include <gtest/gtest.h>

#include <iostream>

#include "support/engine_harness.hpp"

namespace taskpoller::testing {
namespace {
namespace json = boost::json;
using namespace std::chrono_literals;

constexpr int sim_rate = 100;
constexpr int task_count = 400;
const std::string poll_action = "DescribeLoadBalancersTaskResult";

std::string rate_yaml() {
    return "operations:\n  default: {duration: {min: 300ms, max: 1500ms}, failure_probability: "
           "0.1}\nrate_limits: {default: " +
           std::to_string(sim_rate) + ", actions: {DeleteLoadBalancers: 0}}\n";
}

engine_setup rate_setup(double poll_rate) {
    engine_setup s;
    s.sim_yaml = rate_yaml();
    s.tune = [poll_rate](engine::tracker_config& c) {
        engine::service_override o;
        o.name = "lb";
        o.actions["DeleteLoadBalancers"].rate_limit = 10'000;  // submissions are not under test
        o.actions[poll_action].rate_limit = poll_rate;
        ASSERT_TRUE(c.services.apply(o));
        c.polling.max_inflight = 256;
    };
    return s;
}

struct run_figures {
    std::int64_t throttled = 0;
    std::int64_t polls = 0;
    double wall_s = 0;
    engine::bucket_stats bucket;
};

run_figures run_tasks(engine_harness& h) {
    std::vector<engine::submission> subs;
    for (int i = 0; i < task_count; ++i) subs.push_back(delete_lb("lb-rate" + std::to_string(i)));
    auto started = std::chrono::steady_clock::now();
    auto results = h.submit_all(std::move(subs), 60s);
    for (const auto& r : results) {
        if (!r) {
            ADD_FAILURE() << "a submission did not finish";
            continue;
        }
        EXPECT_TRUE(*r) << r->error().message;
        if (*r) {
            EXPECT_EQ((*r)->batch.state, core::batch_state::submitted) << (*r)->batch.message;
        }
    }
    EXPECT_TRUE(h.run_until_all_terminal(90s)) << h.live_tasks() << " tasks still live";
    run_figures f;
    f.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    EXPECT_EQ(expect_tasks_match_truth(h), static_cast<std::size_t>(task_count));
    auto stats = h.sim_stats();
    const auto& a = stats.at("actions").at(poll_action).as_object();
    f.throttled = a.at("throttled").to_number<std::int64_t>();
    f.polls = a.at("requests").to_number<std::int64_t>();
    for (auto& [key, b] : h.tracker().limiter().all_stats(std::chrono::steady_clock::now())) {
        if (key.service == "lb" && key.action == poll_action) f.bucket = b;
    }
    std::cout << "[figures] " << task_count << " lb tasks: " << f.polls << " polls ("
              << static_cast<double>(f.polls) / task_count << "/task), " << f.throttled
              << " answered 4400, sim max_rate_1s " << a.at("max_rate_1s") << ", daemon rate now "
              << f.bucket.rate << "/" << f.bucket.configured_rate << " (halved "
              << f.bucket.throttled << "x), wall " << f.wall_s << " s\n";
    return f;
}

TEST(EngineRate, MatchingRateGetsNo4400) {
    engine_harness h(rate_setup(sim_rate * 0.9));
    auto f = run_tasks(h);
    EXPECT_EQ(f.throttled, 0);
    EXPECT_EQ(f.bucket.throttled, 0u);
    EXPECT_EQ(h.tracker().api().throttled_total, 0u);
}

TEST(EngineRate, TooFastAdaptsAndStillFinishesEveryTask) {
    engine_harness h(rate_setup(sim_rate * 3.0));
    auto f = run_tasks(h);
    EXPECT_GT(f.throttled, 0) << "the daemon never exceeded the simulator's limit";
    EXPECT_GT(f.bucket.throttled, 0u);
    EXPECT_LT(f.bucket.rate, f.bucket.configured_rate);
    // AIMD keeps the 4400s a small share of the polls (without it, about 2/3 would be refused).
    EXPECT_LT(f.throttled * 3, f.polls);
}

// One action polled past its rate (a backlog of CLB tasks waiting for tokens) must not hold
// every in-flight slot: CVM tasks, polled under their own bucket, still finish promptly.
TEST(EngineRate, ASaturatedPollActionDoesNotStarveAnother) {
    auto setup = rate_setup(4.0);  // 4 lb polls/s: 80 tasks need 20 s for one poll each
    setup.tune = [base = setup.tune](engine::tracker_config& c) {
        base(c);
        c.polling.max_inflight = 8;
    };
    engine_harness h(setup);
    std::vector<engine::submission> subs;
    for (int i = 0; i < 80; ++i) subs.push_back(delete_lb("lb-hol" + std::to_string(i)));
    for (const auto& r : h.submit_all(std::move(subs), 60s)) {
        ASSERT_TRUE(r.has_value() && *r) << "an lb submission failed";
    }
    auto running = h.sim_instances(2);
    ASSERT_GE(running.size(), 5u);
    json::array ids;
    for (int i = 0; i < 5; ++i) ids.emplace_back(running[i]);
    const auto started = std::chrono::steady_clock::now();
    auto r = h.submit({.service = "cvm",
                       .action = "StopInstances",
                       .params = json::object{{"instanceIds", std::move(ids)}}});
    ASSERT_TRUE(r.has_value() && *r);
    std::vector<std::string> cvm_ids;
    for (const auto& e : (*r)->batch.entries) cvm_ids.push_back(e.request_id);
    ASSERT_EQ(cvm_ids.size(), 5u);
    auto cvm_done = [&] {
        for (const auto& id : cvm_ids) {
            auto t = h.st().get_task({"cvm", id});
            if (!t || !core::is_terminal(t->state)) return false;
        }
        return true;
    };
    ASSERT_TRUE(h.run_until(cvm_done, 30s));
    const double took =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    const auto lb_live = h.live_tasks();
    std::cout << "[figures] CVM tasks done after " << took << " s with " << lb_live
              << " lb tasks still waiting for their polls\n";
    EXPECT_GE(lb_live, 20u) << "the lb backlog was gone: the test proves nothing";
    EXPECT_LT(took, 5.0)
        << "CVM polls waited behind the lb backlog";  // measured: ~2 s; ~10 s before
    ASSERT_TRUE(h.run_until_all_terminal(90s)) << h.live_tasks() << " tasks still live";
}

}  // namespace
}  // namespace taskpoller::testing
