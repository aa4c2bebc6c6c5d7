// Every fault kind over real HTTP, and seeded reproducibility.
#include <gtest/gtest.h>

#include <chrono>

#include "support/api.hpp"
#include "support/sim_process.hpp"

namespace taskpoller::testing {
namespace {

using clk = std::chrono::steady_clock;

std::string fault_yaml(const std::string& kind) {
    return "faults:\n  latency_delay: 300ms\n  drip_interval: 20ms\n  drip_chunk: 16\n"
           "  actions:\n    DeleteLoadBalancers: {" +
           kind + ": 1.0}\n";
}

struct outcome {
    bool transport_ok = false;
    http_reply reply;
    std::int64_t executed = 0;  // times DeleteLoadBalancers ran on lb-f
    std::chrono::milliseconds elapsed{0};
};

outcome delete_once(const std::string& kind) {
    sim_process sim(fault_yaml(kind));
    http_client c(sim.port());
    outcome o;
    boost::system::error_code ec;
    auto start = clk::now();
    o.transport_ok =
        c.send(sign("lb", "DeleteLoadBalancers", {{"loadBalancerIds.0", "lb-f"}}), o.reply, ec);
    o.elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(clk::now() - start);
    http_client control(sim.port());
    auto resources = get_json(control, "/_sim/stats").at("resources").as_object();
    if (resources.contains("lb-f"))
        o.executed = resources.at("lb-f").at("DeleteLoadBalancers").as_int64();
    auto faults =
        get_json(control, "/_sim/stats").at("actions").at("DeleteLoadBalancers").at("faults");
    EXPECT_EQ(faults.at(kind).as_int64(), 1) << kind;
    // Other actions are untouched by an action-specific fault.
    EXPECT_EQ(code(call(control, "cvm", "DescribeInstances")), 0);
    return o;
}

bool parses(const std::string& body) {
    boost::system::error_code ec;
    boost::json::parse(body, ec);
    return !ec;
}

TEST(SimFaults, HttpErrorStatusesExecuteNothing) {
    for (auto [kind, status] :
         {std::pair{"http_500", 500u}, {"http_502", 502u}, {"http_503", 503u}}) {
        auto o = delete_once(kind);
        ASSERT_TRUE(o.transport_ok) << kind;
        EXPECT_EQ(o.reply.status, status);
        EXPECT_EQ(o.executed, 0) << kind;
    }
}

TEST(SimFaults, Codes6000And6200ExecuteNothing) {
    for (auto [kind, expected] : {std::pair{"code_6000", 6000}, {"code_6200", 6200}}) {
        auto o = delete_once(kind);
        ASSERT_TRUE(o.transport_ok);
        EXPECT_EQ(code(boost::json::parse(o.reply.body).as_object()), expected);
        EXPECT_EQ(o.executed, 0);
    }
}

TEST(SimFaults, CloseBeforeLosesTheRequest) {
    auto o = delete_once("close_before");
    EXPECT_FALSE(o.transport_ok);
    EXPECT_EQ(o.executed, 0);
}

TEST(SimFaults, CloseAfterExecutesButLosesTheAnswer) {
    auto o = delete_once("close_after");
    EXPECT_FALSE(o.transport_ok);
    EXPECT_EQ(o.executed, 1);
}

TEST(SimFaults, TruncatedAndMalformedJsonAfterExecution) {
    for (const char* kind : {"truncated_json", "malformed_json"}) {
        auto o = delete_once(kind);
        ASSERT_TRUE(o.transport_ok) << kind;
        EXPECT_EQ(o.reply.status, 200u);
        EXPECT_FALSE(parses(o.reply.body)) << o.reply.body;
        EXPECT_EQ(o.executed, 1) << kind;
    }
}

TEST(SimFaults, LatencyDelaysACorrectAnswer) {
    auto o = delete_once("latency");
    ASSERT_TRUE(o.transport_ok);
    EXPECT_EQ(code(boost::json::parse(o.reply.body).as_object()), 0);
    EXPECT_GE(o.elapsed.count(), 280);
    EXPECT_EQ(o.executed, 1);
}

TEST(SimFaults, SlowDripDeliversTheWholeAnswerSlowly) {
    auto o = delete_once("slow_drip");
    ASSERT_TRUE(o.transport_ok);
    EXPECT_EQ(code(boost::json::parse(o.reply.body).as_object()), 0);
    // Headers + ~70-byte body in 16-byte chunks 20 ms apart: well over 150 ms.
    EXPECT_GE(o.elapsed.count(), 150);
    EXPECT_EQ(o.executed, 1);
}

std::string status_sequence(const std::string& seed) {
    sim_process sim("faults:\n  global: {http_503: 0.5}\n", {"--seed", seed});
    http_client c(sim.port());
    std::string seq;
    for (int i = 0; i < 30; ++i) {
        http_reply r;
        boost::system::error_code ec;
        c.send(sign("cvm", "DescribeInstances"), r, ec);
        seq += r.status == 503 ? 'x' : '.';
    }
    return seq;
}

TEST(SimFaults, SameSeedSameFaults) {
    auto a = status_sequence("42");
    EXPECT_EQ(a, status_sequence("42"));
    EXPECT_NE(a, status_sequence("43"));
    EXPECT_NE(a.find('x'), std::string::npos);
    EXPECT_NE(a.find('.'), std::string::npos);
}

}  // namespace
}  // namespace taskpoller::testing
