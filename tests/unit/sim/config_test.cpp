#include "sim/config.hpp"

#include <gtest/gtest.h>

#include <stdexcept>

namespace taskpoller::sim {
namespace {

TEST(Config, DefaultsUseThePublicExampleAccount) {
    auto c = parse_config("", "empty.yaml");
    ASSERT_EQ(c.accounts.size(), 1u);
    EXPECT_EQ(c.accounts[0].secret_id, "AKIDz8krbsJ5yKBZQpn74WFkmLPx3gnPhESA");
    EXPECT_EQ(c.timestamp_window.count(), 300);
    EXPECT_EQ(c.rate_for("StopInstances"), 20.0);
    EXPECT_EQ(c.host_suffix, "api.qcloud.com");
}

TEST(Config, ReadsEverySection) {
    auto c = parse_config(R"(
host_suffix: sim.test
accounts:
  - {secret_id: AKID1, secret_key: key1}
tls_only: true
replay_check: false
timestamp_window: 2h
instances: {running: 4, stopped: 1}
stale_window: 250ms
operations:
  default: {duration: {min: 1s, max: 2s}, failure_probability: 0.1}
  StopInstances: {duration: 5s}
rate_limits:
  default: 10
  actions: {DescribeInstances: 50}
faults:
  latency_delay: 1s
  drip_chunk: 3
  global: {http_503: 0.01}
  actions:
    StopInstances: {close_after: 0.5}
seed: 99
)",
                          "t.yaml");
    EXPECT_EQ(c.host_suffix, "sim.test");
    EXPECT_EQ(c.accounts.at(0).secret_key, "key1");
    EXPECT_TRUE(c.tls_only);
    EXPECT_FALSE(c.replay_check);
    EXPECT_EQ(c.timestamp_window.count(), 7200);
    EXPECT_EQ(c.instances.running, 4);
    EXPECT_EQ(c.stale_window.count(), 250);
    EXPECT_EQ(c.operation("StopInstances").duration.min.count(), 5000);
    EXPECT_DOUBLE_EQ(c.operation("StopInstances").failure_probability, 0.1);  // inherits default
    EXPECT_EQ(c.operation("Other").duration.max.count(), 2000);
    EXPECT_EQ(c.rate_for("DescribeInstances"), 50.0);
    EXPECT_EQ(c.rate_for("X"), 10.0);
    EXPECT_EQ(c.faults.latency_delay.count(), 1000);
    EXPECT_EQ(c.faults.drip_chunk, 3u);
    EXPECT_DOUBLE_EQ(c.faults.global[static_cast<std::size_t>(fault_kind::http_503)], 0.01);
    EXPECT_DOUBLE_EQ(c.faults.per_action.at("StopInstances").at(fault_kind::close_after), 0.5);
    EXPECT_EQ(c.seed, 99u);
}

TEST(Config, ErrorsNameFileLineAndKey) {
    auto fails_with = [](const std::string& yaml, const std::string& needle) {
        try {
            parse_config(yaml, "bad.yaml");
            ADD_FAILURE() << "accepted: " << yaml;
        } catch (const std::runtime_error& e) {
            EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
        }
    };
    fails_with("nope: 1", "bad.yaml:1:1: nope: unknown key");
    fails_with("faults:\n  global: {teleport: 0.1}", "bad.yaml:2:12: faults.global.teleport");
    fails_with("faults:\n  global: {http_500: 1.5}", "within [0, 1]");
    fails_with("stale_window: soon", "stale_window: expected a duration");
    fails_with("operations:\n  A: {duration: {min: 2s, max: 1s}}", "max is below min");
    fails_with("accounts: []", "accounts: expected a non-empty list");
    fails_with("rate_limits: {default: -1}", "must be >= 0");
    fails_with("[unclosed", "bad.yaml:");
}

TEST(Config, Durations) {
    EXPECT_EQ(parse_duration("500ms")->count(), 500);
    EXPECT_EQ(parse_duration("2s")->count(), 2000);
    EXPECT_EQ(parse_duration("1.5s")->count(), 1500);
    EXPECT_EQ(parse_duration("5m")->count(), 300000);
    EXPECT_EQ(parse_duration("3")->count(), 3000);
    EXPECT_FALSE(parse_duration("2d"));
    EXPECT_FALSE(parse_duration("-1s"));
    EXPECT_FALSE(parse_duration(""));
}

TEST(Config, RateLimitsCanBeDisabled) {
    auto c = parse_config("rate_limits: {enabled: false}", "t");
    EXPECT_EQ(c.rate_for("Anything"), 0.0);
}

}  // namespace
}  // namespace taskpoller::sim

namespace taskpoller::sim {
namespace {

TEST(Config, TheExampleFileLoadsWithTheDocumentedDefaults) {
    auto c = load_config(SIM_EXAMPLE_CONFIG);
    config defaults;
    EXPECT_EQ(c.accounts.at(0).secret_id, defaults.accounts.at(0).secret_id);
    EXPECT_EQ(c.timestamp_window, defaults.timestamp_window);
    EXPECT_EQ(c.stale_window, defaults.stale_window);
    EXPECT_EQ(c.rate_for("X"), defaults.rate_for("X"));
    EXPECT_EQ(c.default_operation.duration.min, defaults.default_operation.duration.min);
    EXPECT_EQ(c.default_operation.duration.max, defaults.default_operation.duration.max);
    EXPECT_EQ(c.faults.latency_delay, defaults.faults.latency_delay);
    EXPECT_EQ(c.faults.drip_chunk, defaults.faults.drip_chunk);
    EXPECT_EQ(c.operation("StopInstances").duration.max.count(), 5000);
}

TEST(Config, MissingFileIsAStartupError) {
    EXPECT_THROW(load_config("/nonexistent/sim.yaml"), std::runtime_error);
}

}  // namespace
}  // namespace taskpoller::sim
