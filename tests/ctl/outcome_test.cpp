#include "ctl/outcome.hpp"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

namespace taskpoller::ctl {
namespace {
namespace json = boost::json;

const char* const all_task_states[] = {"pending",   "running",   "succeeded", "failed",
                                       "timed_out", "not_found", "cancelled"};
const char* const count_keys[] = {"pending",   "running",   "succeeded", "failed", "timed_out",
                                  "not_found", "cancelled", "rejected",  "unknown"};

json::value batch(std::string_view state, const json::object& counts) {
    json::object full;
    for (const char* k : count_keys) full[k] = 0;
    for (const auto& [k, v] : counts) full[k] = v;
    return json::object{
        {"id", "b-1"}, {"state", state}, {"counts", full}, {"entries", json::array{}}};
}

TEST(Outcome, TaskStates) {
    EXPECT_EQ(task_state_outcome("succeeded", true), exit_code::ok);
    for (auto s : {"failed", "not_found", "cancelled"}) {
        EXPECT_EQ(task_state_outcome(s, true), exit_code::failed) << s;
        EXPECT_EQ(task_state_outcome(s, false), exit_code::failed) << s;
    }
    EXPECT_EQ(task_state_outcome("timed_out", true), exit_code::incomplete);
    for (auto s : {"pending", "running"}) {
        EXPECT_EQ(task_state_outcome(s, true), exit_code::incomplete) << s;
        EXPECT_EQ(task_state_outcome(s, false), exit_code::ok) << s;
    }
    EXPECT_EQ(task_state_outcome("weird", true), exit_code::incomplete);
}

TEST(Outcome, TaskDocuments) {
    for (auto s : all_task_states) {
        const json::value t = json::object{{"service", "lb"}, {"request_id", "1"}, {"state", s}};
        EXPECT_EQ(document_outcome(t, true), task_state_outcome(s, true)) << s;
        EXPECT_EQ(is_finished(t), is_terminal_task_state(s)) << s;
    }
}

// Every single non-zero count on a done batch, alone and combined with every other one.
TEST(Outcome, DoneBatchEveryPairOfCounts) {
    auto single = [](std::string_view k) -> exit_code {
        if (k == "succeeded") return exit_code::ok;
        if (k == "failed" || k == "not_found" || k == "cancelled" || k == "rejected") {
            return exit_code::failed;
        }
        return exit_code::incomplete;  // timed_out, unknown, pending, running
    };
    for (const char* a : count_keys) {
        EXPECT_EQ(batch_outcome(batch("done", {{a, 1}}), true), single(a)) << a;
        for (const char* b : count_keys) {
            const auto got = batch_outcome(batch("done", {{a, 2}, {b, 1}}), true);
            EXPECT_EQ(got, worst(single(a), single(b))) << a << "+" << b;
        }
    }
}

TEST(Outcome, BatchStates) {
    EXPECT_EQ(batch_outcome(batch("done", {{"succeeded", 5}}), true), exit_code::ok);
    EXPECT_EQ(batch_outcome(batch("done", {}), true), exit_code::ok);
    EXPECT_EQ(batch_outcome(batch("rejected", {}), true), exit_code::failed);
    EXPECT_EQ(batch_outcome(batch("rejected", {}), false), exit_code::failed);
    EXPECT_EQ(batch_outcome(batch("unknown", {}), true), exit_code::incomplete);
    EXPECT_EQ(batch_outcome(batch("unknown", {}), false), exit_code::incomplete);
    // Live batches: incomplete after waiting, fine right after submitting...
    EXPECT_EQ(batch_outcome(batch("submitted", {{"running", 3}}), true), exit_code::incomplete);
    EXPECT_EQ(batch_outcome(batch("submitting", {}), true), exit_code::incomplete);
    EXPECT_EQ(batch_outcome(batch("submitted", {{"running", 3}}), false), exit_code::ok);
    // ...unless some entries were already rejected.
    EXPECT_EQ(batch_outcome(batch("submitted", {{"running", 3}, {"rejected", 1}}), false),
              exit_code::failed);
    EXPECT_TRUE(is_finished(batch("done", {})));
    EXPECT_TRUE(is_finished(batch("rejected", {})));
    EXPECT_TRUE(is_finished(batch("unknown", {})));
    EXPECT_FALSE(is_finished(batch("submitted", {})));
    EXPECT_FALSE(is_finished(batch("submitting", {})));
}

TEST(Outcome, BatchWithoutCountsUsesEntries) {
    const auto b = json::parse(R"({"id":"b","state":"done","entries":[
        {"resource_id":"a","state":"succeeded"},{"resource_id":"b","state":"rejected"}]})");
    EXPECT_EQ(batch_outcome(b, true), exit_code::failed);
    const auto u = json::parse(R"({"id":"b","state":"done","entries":[
        {"resource_id":"a","state":"unknown"},{"resource_id":"b","state":"failed"}]})");
    EXPECT_EQ(batch_outcome(u, true), exit_code::incomplete);
}

TEST(Outcome, GarbageNeverCrashesAndIsNotSuccess) {
    for (const char* text : {"null", "[]", "{}", R"({"state":5})", R"({"counts":"x"})",
                             R"({"state":"done","counts":{"failed":"many"}})"}) {
        const auto v = json::parse(text);
        EXPECT_TRUE(is_finished(v)) << text;
        (void)document_outcome(v, true);
    }
    EXPECT_EQ(document_outcome(json::parse("[]"), true), exit_code::incomplete);
    EXPECT_EQ(document_outcome(json::parse("{}"), true), exit_code::incomplete);
}

TEST(Outcome, WorstPicksTheHighest) {
    EXPECT_EQ(worst(exit_code::ok, exit_code::failed), exit_code::failed);
    EXPECT_EQ(worst(exit_code::incomplete, exit_code::failed), exit_code::incomplete);
    EXPECT_EQ(to_int(exit_code::usage), 3);
}

}  // namespace
}  // namespace taskpoller::ctl
