#include "sim/faults.hpp"
#include "sim/rate_limiter.hpp"
#include "sim/stats.hpp"
#include "sim_test_support.hpp"

namespace taskpoller::sim {
namespace {

using testing::code;
using testing::fixture;

TEST(RateLimiter, BurstThenRefillAtTheRate) {
    rate_limiter rl;
    const std::int64_t t0 = 1'000'000;
    for (int i = 0; i < 20; ++i) EXPECT_TRUE(rl.try_acquire("id", "A", 20, t0)) << i;
    EXPECT_FALSE(rl.try_acquire("id", "A", 20, t0));
    EXPECT_TRUE(rl.try_acquire("id", "B", 20, t0));     // per action
    EXPECT_TRUE(rl.try_acquire("other", "A", 20, t0));  // per SecretId
    EXPECT_FALSE(rl.try_acquire("id", "A", 20, t0 + 49));
    EXPECT_TRUE(rl.try_acquire("id", "A", 20, t0 + 50));  // one token per 50 ms
    EXPECT_FALSE(rl.try_acquire("id", "A", 20, t0 + 50));
    for (int i = 0; i < 1000; ++i) EXPECT_TRUE(rl.try_acquire("id", "U", 0, t0));  // unlimited
}

TEST(RateLimiter, FractionalRatesStillAllowOneRequest) {
    rate_limiter rl;
    EXPECT_TRUE(rl.try_acquire("id", "A", 0.5, 0));
    EXPECT_FALSE(rl.try_acquire("id", "A", 0.5, 1000));
    EXPECT_TRUE(rl.try_acquire("id", "A", 0.5, 2000));
}

TEST(RateLimiter, SimulatorAnswers4400AndCountsIt) {
    auto cfg = fixture::quiet_config();
    cfg.rate_limits.per_action["DescribeInstances"] = 3;
    fixture f(cfg);
    for (int i = 0; i < 3; ++i) EXPECT_EQ(code(f.call("cvm", "DescribeInstances")), 0);
    EXPECT_EQ(code(f.call("cvm", "DescribeInstances")), 4400);
    f.advance(334);
    EXPECT_EQ(code(f.call("cvm", "DescribeInstances")), 0);
    auto st = f.sim.counters().to_json().at("actions").at("DescribeInstances");
    EXPECT_EQ(st.at("throttled").as_int64(), 1);
    EXPECT_EQ(st.at("accepted").as_int64(), 4);
    EXPECT_EQ(st.at("requests").as_int64(), 5);
    EXPECT_EQ(st.at("max_rate_1s").as_int64(), 5);
}

TEST(Stats, MaxRateIsTheBusiestOneSecondWindow) {
    stats s;
    for (int i = 0; i < 10; ++i) s.on_request("A", 1000 + i * 100);  // 10 in [1000, 1900]
    for (int i = 0; i < 4; ++i) s.on_request("A", 5000 + i);
    s.on_refused("A", 4100);
    auto a = s.to_json().at("actions").at("A");
    EXPECT_EQ(a.at("max_rate_1s").as_int64(), 10);
    EXPECT_EQ(a.at("requests").as_int64(), 14);
    EXPECT_EQ(a.at("signature_failures").as_int64(), 1);
    EXPECT_EQ(a.at("refused").at("4100").as_int64(), 1);
}

TEST(Stats, SignatureFailuresAreCountedPerAction) {
    fixture f;
    auto bad_creds = qcloud::credentials(testing::example_creds.secret_id(), "wrong-key");
    auto out = f.send(f.sign("cvm", "StopInstances", {{"instanceIds.0", "ins-1"}},
                             qcloud::http_method::post, bad_creds));
    EXPECT_EQ(code(boost::json::parse(out.body).as_object()), 4100);
    auto a = f.sim.counters().to_json().at("actions").at("StopInstances");
    EXPECT_EQ(a.at("signature_failures").as_int64(), 1);
    EXPECT_EQ(a.at("accepted").as_int64(), 0);
}

fault_config only(fault_kind k, double p) {
    fault_config c;
    c.global[static_cast<std::size_t>(k)] = p;
    return c;
}

TEST(Faults, SameSeedSameDecisions) {
    auto cfg = only(fault_kind::http_503, 0.3);
    fault_injector a(cfg, 7), b(cfg, 7), c(cfg, 8);
    std::string seq_a, seq_b, seq_c;
    for (int i = 0; i < 200; ++i) {
        seq_a += a.decide("X").before ? '1' : '0';
        seq_b += b.decide("X").before ? '1' : '0';
        seq_c += c.decide("X").before ? '1' : '0';
    }
    EXPECT_EQ(seq_a, seq_b);
    EXPECT_NE(seq_a, seq_c);
    auto hits = std::count(seq_a.begin(), seq_a.end(), '1');
    EXPECT_GT(hits, 30);
    EXPECT_LT(hits, 100);
    a.reseed();
    std::string again;
    for (int i = 0; i < 200; ++i) again += a.decide("X").before ? '1' : '0';
    EXPECT_EQ(again, seq_a);
}

TEST(Faults, PerActionOverridesGlobal) {
    auto cfg = only(fault_kind::code_6000, 1.0);
    cfg.per_action["Quiet"][fault_kind::code_6000] = 0.0;
    cfg.per_action["Lossy"][fault_kind::close_after] = 1.0;
    fault_injector f(cfg, 1);
    EXPECT_EQ(f.decide("Other").before, fault_kind::code_6000);
    EXPECT_FALSE(f.decide("Quiet").before);
    auto lossy = f.decide("Lossy");
    EXPECT_EQ(lossy.before, fault_kind::code_6000);
    EXPECT_EQ(lossy.after, fault_kind::close_after);
}

struct FaultCase {
    fault_kind kind;
    bool executes;
};

class SimulatorFault : public ::testing::TestWithParam<FaultCase> {};

TEST_P(SimulatorFault, EachKindShapesTheAnswerAndExecutesOnlyWhenItShould) {
    auto cfg = fixture::quiet_config();
    cfg.faults.per_action["DeleteLoadBalancers"][GetParam().kind] = 1.0;
    fixture f(cfg);
    auto out = f.send(f.sign("lb", "DeleteLoadBalancers", {{"loadBalancerIds.0", "lb-f"}}));
    EXPECT_EQ(f.sim.counters().executed("lb-f", "DeleteLoadBalancers"),
              GetParam().executes ? 1 : 0);
    auto body = out.body;
    switch (GetParam().kind) {
        case fault_kind::http_500:
            EXPECT_EQ(out.status, 500u);
            break;
        case fault_kind::http_502:
            EXPECT_EQ(out.status, 502u);
            break;
        case fault_kind::http_503:
            EXPECT_EQ(out.status, 503u);
            break;
        case fault_kind::close_before:
            EXPECT_EQ(out.how, http_out::delivery::close_before);
            break;
        case fault_kind::close_after:
            EXPECT_EQ(out.how, http_out::delivery::close_after);
            break;
        case fault_kind::slow_drip:
            EXPECT_EQ(out.how, http_out::delivery::slow_drip);
            break;
        case fault_kind::latency:
            EXPECT_EQ(out.delay, cfg.faults.latency_delay);
            break;
        case fault_kind::code_6000:
            EXPECT_EQ(code(boost::json::parse(body).as_object()), 6000);
            break;
        case fault_kind::code_6200:
            EXPECT_EQ(code(boost::json::parse(body).as_object()), 6200);
            break;
        case fault_kind::truncated_json:
        case fault_kind::malformed_json: {
            boost::system::error_code ec;
            boost::json::parse(body, ec);
            EXPECT_TRUE(ec) << body;
            break;
        }
    }
    auto faults = f.sim.counters().to_json().at("actions").at("DeleteLoadBalancers").at("faults");
    EXPECT_EQ(faults.at(to_string(GetParam().kind)).as_int64(), 1);
}

INSTANTIATE_TEST_SUITE_P(AllKinds, SimulatorFault,
                         ::testing::Values(FaultCase{fault_kind::latency, true},
                                           FaultCase{fault_kind::http_500, false},
                                           FaultCase{fault_kind::http_502, false},
                                           FaultCase{fault_kind::http_503, false},
                                           FaultCase{fault_kind::close_before, false},
                                           FaultCase{fault_kind::close_after, true},
                                           FaultCase{fault_kind::truncated_json, true},
                                           FaultCase{fault_kind::malformed_json, true},
                                           FaultCase{fault_kind::code_6000, false},
                                           FaultCase{fault_kind::code_6200, false},
                                           FaultCase{fault_kind::slow_drip, true}),
                         [](const auto& info) { return std::string(to_string(info.param.kind)); });

}  // namespace
}  // namespace taskpoller::sim
