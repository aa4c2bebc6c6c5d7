// The engine against the simulator: a CVM batch with invalid entries, polled by DescribeInstances
// in calls of up to 100 instances.
#include <gtest/gtest.h>

#include <algorithm>
#include <iostream>

#include "support/engine_harness.hpp"

namespace taskpoller::testing {
namespace {
namespace json = boost::json;
using namespace std::chrono_literals;

const char* cvm_yaml = R"(instances: {running: 180, stopped: 10}
stale_window: 300ms
operations:
  default: {duration: {min: 500ms, max: 2s}, failure_probability: 0.1}
rate_limits: {default: 20, actions: {DescribeInstances: 20}}
)";

json::object stop_params(const std::vector<std::string>& ids) {
    json::array a;
    for (const auto& id : ids) a.emplace_back(id);
    return json::object{{"instanceIds", std::move(a)}};
}

TEST(EngineCvm, BatchOf200WithInvalidEntriesMatchesGroundTruth) {
    engine_harness h({.sim_yaml = cvm_yaml});
    auto running = h.sim_instances(2);
    auto stopped = h.sim_instances(4);
    ASSERT_EQ(running.size(), 180u);
    ASSERT_EQ(stopped.size(), 10u);

    // Two calls of 100 (the API maximum): 90 running, 5 stopped (wrong state), 5 unknown each.
    std::vector<core::batch> batches;
    auto started = std::chrono::steady_clock::now();
    for (int b = 0; b < 2; ++b) {
        std::vector<std::string> ids(running.begin() + b * 90, running.begin() + (b + 1) * 90);
        ids.insert(ids.end(), stopped.begin() + b * 5, stopped.begin() + (b + 1) * 5);
        for (int i = 0; i < 5; ++i) ids.push_back("ins-0000dead" + std::to_string(b * 5 + i));
        auto r =
            h.submit({.service = "cvm", .action = "StopInstances", .params = stop_params(ids)});
        ASSERT_TRUE(r.has_value()) << "submission did not finish";
        ASSERT_TRUE(*r) << r->error().message;
        EXPECT_EQ((*r)->batch.state, core::batch_state::submitted);
        EXPECT_EQ((*r)->batch.code, 5400);  // some refused
        batches.push_back((*r)->batch);
    }
    ASSERT_TRUE(h.run_until_all_terminal(60s)) << h.live_tasks() << " tasks still live";
    auto wall = std::chrono::steady_clock::now() - started;

    auto truth = h.sim_task_states();
    std::size_t accepted = 0, unknown_ids = 0, wrong_state = 0;
    std::uint64_t max_polls = 0, total_polls = 0;
    for (auto& submitted : batches) {
        auto b = h.st().get_batch(submitted.id);
        ASSERT_TRUE(b);
        EXPECT_EQ(b->state, core::batch_state::done);
        ASSERT_EQ(b->entries.size(), 100u);
        for (const auto& e : b->entries) {
            if (e.resource_id.starts_with("ins-0000dead")) {
                ++unknown_ids;
                EXPECT_EQ(e.outcome, core::entry_outcome::rejected) << e.resource_id;
                EXPECT_EQ(e.code, 5000) << e.resource_id;
                EXPECT_NE(e.message.find("does not exist"), std::string::npos) << e.message;
                continue;
            }
            if (std::find(stopped.begin(), stopped.end(), e.resource_id) != stopped.end()) {
                ++wrong_state;
                EXPECT_EQ(e.outcome, core::entry_outcome::rejected) << e.resource_id;
                EXPECT_EQ(e.code, 5100) << e.resource_id;
                EXPECT_FALSE(e.message.empty());
                continue;
            }
            ++accepted;
            ASSERT_EQ(e.outcome, core::entry_outcome::accepted) << e.resource_id;
            auto t = h.st().get_task({"cvm", e.request_id});
            ASSERT_TRUE(t) << e.request_id;
            ASSERT_TRUE(truth.contains(e.request_id)) << e.request_id;
            EXPECT_EQ(core::to_string(t->state), truth[e.request_id])
                << e.resource_id << " " << t->last_status << " " << t->last_error;
            max_polls = std::max<std::uint64_t>(max_polls, t->polls);
            total_polls += t->polls;
        }
    }
    EXPECT_EQ(accepted, 180u);
    EXPECT_EQ(unknown_ids, 10u);
    EXPECT_EQ(wrong_state, 10u);

    // Batched polling: one DescribeInstances answers up to 100 instances, so the calls are about
    // tasks/100 per round. Per-instance polling would need total_polls calls (≥ 180 × rounds).
    auto calls = h.sim_requests("DescribeInstances");
    std::cout << "[figures] cvm: " << accepted << " tasks, " << calls
              << " DescribeInstances calls, " << total_polls << " task polls (max " << max_polls
              << " for one task), wall " << std::chrono::duration<double>(wall).count() << " s\n";
    // Rounds: at most one per initial poll interval (200 ms) of the run; two calls each (180
    // instances), plus slack for retries. Polling per instance would need at least 180 calls.
    const auto rounds = static_cast<std::int64_t>(wall / 200ms) + 1;
    EXPECT_GT(calls, 0);
    // Calls per poll round: jitter and a loaded machine can split a round in two or three, so the
    // bound is three calls per round; polling per instance would need at least 180 calls, which
    // the two structural bounds below also rule out.
    EXPECT_LE(calls, 3 * rounds + 12);
    EXPECT_LT(calls * 4, static_cast<std::int64_t>(accepted));
    EXPECT_LE(calls * 10, static_cast<std::int64_t>(total_polls));
    // Nothing ran twice.
    for (const auto& id : running) EXPECT_EQ(h.sim_executions(id, "StopInstances"), 1) << id;
}

}  // namespace
}  // namespace taskpoller::testing
