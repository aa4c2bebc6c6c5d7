// The engine against an unreliable simulator: every fault kind at once, and a submission whose
// answer is lost after the action ran.
#include <gtest/gtest.h>

#include <boost/json/value_from.hpp>
#include <iostream>

#include "support/api.hpp"
#include "support/engine_harness.hpp"

namespace taskpoller::testing {
namespace {
namespace json = boost::json;
using namespace std::chrono_literals;

// 11 kinds at 2 % each: about 20 % of all requests (submissions and polls) get a fault.
const char* faults_yaml = R"(instances: {running: 20, stopped: 0}
stale_window: 200ms
operations:
  default: {duration: {min: 300ms, max: 1200ms}, failure_probability: 0.1}
faults:
  latency_delay: 100ms
  drip_interval: 10ms
  drip_chunk: 64
  global: {latency: 0.02, http_500: 0.02, http_502: 0.02, http_503: 0.02, close_before: 0.02,
           code_6000: 0.02, code_6200: 0.02, close_after: 0.02, truncated_json: 0.02,
           malformed_json: 0.02, slow_drip: 0.02}
)";

TEST(EngineFaults, EveryTaskEndsInItsTrueStateAndNothingRunsTwice) {
    engine_setup setup;
    setup.sim_yaml = faults_yaml;
    setup.sim_args = {"--no-rate-limit"};
    engine_harness h(setup);
    auto instances = h.sim_instances(2);
    ASSERT_EQ(instances.size(), 20u);

    constexpr int lb_count = 150;
    std::vector<engine::submission> subs;
    for (int i = 0; i < lb_count; ++i) subs.push_back(delete_lb("lb-f" + std::to_string(i)));
    // One instance per CVM batch: 20 submissions whose lost answers are reconciled read-only.
    for (int b = 0; b < 20; ++b) {
        json::array ids{instances[b]};
        engine::submission s;
        s.service = "cvm";
        s.action = "StopInstances";
        s.params = json::object{{"instanceIds", std::move(ids)}};
        subs.push_back(std::move(s));
    }
    auto results = h.submit_all(std::move(subs), 60s);
    std::map<core::batch_state, int> by_state;
    std::vector<core::batch> batches;
    for (const auto& r : results) {
        ASSERT_TRUE(r.has_value()) << "a submission did not finish";
        ASSERT_TRUE(*r) << r->error().message;
        ++by_state[(*r)->batch.state];
        batches.push_back((*r)->batch);
    }
    ASSERT_TRUE(h.run_until_all_terminal(90s)) << h.live_tasks() << " tasks still live";
    auto compared = expect_tasks_match_truth(h);

    // Executions per resource: a submitted batch ran exactly once, a rejected one (6000/6200
    // answered: not executed) never, an unknown one at most once. Never twice.
    auto resources = h.sim_stats().at("resources").as_object();
    auto ran = [&](const std::string& id, const std::string& action) -> std::int64_t {
        const auto* r = resources.if_contains(id);
        if (r == nullptr) return 0;
        const auto* n = r->as_object().if_contains(action);
        return n ? n->to_number<std::int64_t>() : 0;
    };
    for (const auto& b : batches) {
        for (const auto& e : b.entries) {
            auto n = ran(e.resource_id, b.action);
            EXPECT_LE(n, 1) << e.resource_id << " ran twice";
            if (b.state == core::batch_state::submitted &&
                e.outcome == core::entry_outcome::accepted) {
                EXPECT_EQ(n, 1) << e.resource_id;
            }
            if (b.state == core::batch_state::rejected) {
                EXPECT_EQ(n, 0) << e.resource_id << ": " << b.message;
            }
        }
    }
    auto faults = h.sim_stats().at("actions").at("DescribeLoadBalancersTaskResult").at("faults");
    std::cout << "[figures] faults: " << batches.size()
              << " submissions: " << by_state[core::batch_state::submitted] << " submitted, "
              << by_state[core::batch_state::rejected] << " rejected, "
              << by_state[core::batch_state::unknown] << " unknown ("
              << json::serialize(json::value_from(h.tracker().submissions().reconciliations))
              << " reconciled); " << compared << " tasks matched the simulator; poll faults "
              << json::serialize(faults) << "\n";
    EXPECT_GT(by_state[core::batch_state::submitted], lb_count / 2);
    EXPECT_EQ(compared, h.st().task_count());
    EXPECT_GT(faults.as_object().size(), 5u) << "too few fault kinds hit the polls";
}

TEST(EngineFaults, AnswerLostAfterExecutionMakesTheBatchUnknownAndIsNeverResent) {
    engine_setup setup;
    setup.sim_yaml = "faults: {actions: {DeleteLoadBalancers: {close_after: 1.0}}}\n";
    engine_harness h(setup);
    auto r = h.submit(delete_lb("lb-lost"));
    ASSERT_TRUE(r.has_value());
    ASSERT_TRUE(*r) << r->error().message;
    const auto& b = (*r)->batch;
    EXPECT_EQ(b.state, core::batch_state::unknown);
    ASSERT_EQ(b.entries.size(), 1u);
    EXPECT_EQ(b.entries[0].outcome, core::entry_outcome::unknown);
    EXPECT_EQ(h.st().task_count(), 0u);
    EXPECT_EQ(h.sim_requests("DeleteLoadBalancers"), 1) << "the submission was sent again";
    EXPECT_EQ(h.sim_executions("lb-lost", "DeleteLoadBalancers"), 1);
    EXPECT_EQ(h.tracker().submissions().outcomes.at("unknown"), 1u);
}

// Issue 16 item 5.1: a lost answer of an instance-state action is reconciled read-only.
const char* lost_stop_yaml(const char* fault) {
    static std::string y;
    y = std::string(
            "instances: {running: 6, stopped: 0}\nstale_window: 200ms\n"
            "operations:\n  default: {duration: {min: 300ms, max: 600ms}}\n"
            "faults: {actions: {StopInstances: {") +
        fault + ": 1.0}}}\n";
    return y.c_str();
}

engine::submission stop(const std::vector<std::string>& ids) {
    json::array a;
    for (const auto& id : ids) a.emplace_back(id);
    engine::submission s;
    s.service = "cvm";
    s.action = "StopInstances";
    s.params = json::object{{"instanceIds", std::move(a)}};
    return s;
}

TEST(EngineFaults, ALostAnswerOfACallThatRanIsReconciledAndTracked) {
    engine_setup setup;
    setup.sim_yaml = lost_stop_yaml("close_after");  // executed, then the connection dropped
    engine_harness h(setup);
    auto ids = h.sim_instances(2);
    ids.resize(3);
    auto r = h.submit(stop(ids));
    ASSERT_TRUE(r && *r) << (r ? r->error().message : "timeout");
    const auto& b = (*r)->batch;
    EXPECT_EQ(b.state, core::batch_state::submitted) << b.message;
    for (const auto& e : b.entries) {
        EXPECT_EQ(e.outcome, core::entry_outcome::accepted) << e.resource_id << ": " << e.message;
        EXPECT_EQ(e.request_id, "reconciled:" + e.resource_id);
    }
    EXPECT_EQ(h.tracker().submissions().reconciliations.at("executed"), 1u);
    ASSERT_TRUE(h.run_until_all_terminal(30s)) << h.live_tasks() << " tasks still live";
    // The simulator has no task under a reconciled requestId: its instances are the truth.
    auto stopped = h.sim_instances(4);
    for (const auto& e : b.entries) {
        EXPECT_EQ(h.st().task_state_of({"cvm", e.request_id, b.region, b.id}),
                  core::task_state::succeeded);
        EXPECT_NE(std::find(stopped.begin(), stopped.end(), e.resource_id), stopped.end());
    }
    for (const auto& id : ids) EXPECT_EQ(h.sim_executions(id, "StopInstances"), 1) << id;
    EXPECT_EQ(h.sim_requests("StopInstances"), 1) << "a mutation was sent again";
}

TEST(EngineFaults, ALostAnswerOfACallThatNeverRanIsProvenNotExecuted) {
    for (const char* fault : {"http_500", "close_before"}) {
        engine_setup setup;
        setup.sim_yaml = lost_stop_yaml(fault);  // refused before anything ran
        engine_harness h(setup);
        auto ids = h.sim_instances(2);
        ids.resize(3);
        auto r = h.submit(stop(ids));
        ASSERT_TRUE(r && *r) << (r ? r->error().message : "timeout");
        const auto& b = (*r)->batch;
        EXPECT_EQ(b.state, core::batch_state::rejected) << fault << ": " << b.message;
        EXPECT_EQ(b.code, -2) << fault;
        EXPECT_NE(b.message.find("not executed"), std::string::npos) << b.message;
        EXPECT_NE(b.message.find("still in its status"), std::string::npos) << b.message;
        EXPECT_EQ(h.st().task_count(), 0u);
        for (const auto& id : ids) EXPECT_EQ(h.sim_executions(id, "StopInstances"), 0) << id;
        EXPECT_EQ(h.sim_requests("StopInstances"), 1) << fault << ": sent again";
        EXPECT_EQ(h.tracker().submissions().reconciliations.at("not_executed"), 1u);
    }
}

// A describe whose answer arrives after the settle delay may still hold a read from before it: the
// simulator reads its instances when the request comes and answers 1.5 s later (a latency
// fault), while its reads stay stale for 0.9 s after an operation starts (the operation lasts
// 1.5 s, so the whole window applies). Judged by when the answer came, the stale read of the
// first describe "proved" after the 1 s settle delay that a call which ran did not (the soak
// test caught this as a resource executed but marked rejected).
TEST(EngineFaults, ALateAnswerToADescribeIsAReadFromWhenItWasSent) {
    engine_setup setup;
    setup.sim_yaml =
        "instances: {running: 6, stopped: 0}\nstale_window: 900ms\n"
        "operations:\n  default: {duration: {min: 1500ms, max: 1500ms}}\n"
        "faults:\n  latency_delay: 1500ms\n"
        "  actions: {StopInstances: {close_after: 1.0}, DescribeInstances: {latency: 1.0}}\n";
    engine_harness h(setup);
    auto ids = h.sim_instances(2);
    ids.resize(2);
    auto r = h.submit(stop(ids), 60s);
    ASSERT_TRUE(r && *r) << (r ? r->error().message : "timeout");
    const auto& b = (*r)->batch;
    EXPECT_EQ(b.state, core::batch_state::submitted) << b.message;
    for (const auto& e : b.entries) {
        EXPECT_EQ(e.outcome, core::entry_outcome::accepted) << e.resource_id << ": " << e.message;
    }
    for (const auto& id : ids) EXPECT_EQ(h.sim_executions(id, "StopInstances"), 1) << id;
    EXPECT_EQ(h.tracker().submissions().reconciliations.count("not_executed"), 0u)
        << "a stale read proved that a call which ran did not";
}

// The same for polling: a reboot's target status is the one it starts from, so a stale read shows
// it. A poll sent 0.2 s after the reboot reads a stale RUNNING and answers 1.5 s later, past the 1
// s settle delay: judged by when the answer came, that read "proved" that the reboot had finished,
// and the task succeeded while the reboot was still under way (here it fails).
TEST(EngineFaults, ALatePollAnswerIsAReadFromWhenItWasSent) {
    engine_setup setup;
    setup.sim_yaml =
        "instances: {running: 2, stopped: 0}\nstale_window: 900ms\n"
        "operations:\n  default: {duration: {min: 3s, max: 3s}, failure_probability: 1.0}\n"
        "faults:\n  latency_delay: 1500ms\n  actions: {DescribeInstances: {latency: 1.0}}\n";
    engine_harness h(setup);
    auto ids = h.sim_instances(2);
    ids.resize(1);
    auto sub = stop(ids);
    sub.action = "RestartInstances";
    auto r = h.submit(sub, 60s);
    ASSERT_TRUE(r && *r) << (r ? r->error().message : "timeout");
    const auto& b = (*r)->batch;
    ASSERT_EQ(b.state, core::batch_state::submitted) << b.message;
    ASSERT_EQ(b.entries.size(), 1u);
    ASSERT_TRUE(h.run_until_all_terminal(30s)) << h.live_tasks() << " tasks still live";
    EXPECT_EQ(h.st().task_state_of({"cvm", b.entries[0].request_id, b.region, b.id}),
              core::task_state::failed)
        << "a stale read of the status the reboot started from ended it as succeeded";
}

}  // namespace
}  // namespace taskpoller::testing
