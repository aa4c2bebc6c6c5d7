#include <gtest/gtest.h>

#include "config/json.hpp"
#include "config/loader.hpp"
#include "control/server.hpp"
#include "helpers.hpp"

namespace taskpoller::config {
namespace {

const std::string example = std::string(TASKPOLLER_SOURCE_DIR) + "/config/taskpoller.yaml";

TEST(ExampleConfig, loads_without_errors_or_warnings) {
    auto env = test::env_with_secrets();
    env.set("RUNTIME_DIRECTORY", "/run/taskpoller");
    env.set("STATE_DIRECTORY", "/var/lib/taskpoller");
    auto r = load_file(example, env);
    ASSERT_TRUE(r.ok()) << r.error_text();
    for (const auto& w : r.warnings) {
        EXPECT_EQ(w.level, severity::info) << w.to_string();
    }
    const auto& c = *r.config;
    EXPECT_EQ(c.cloud.region, "ap-guangzhou");
    EXPECT_EQ(c.control.socket, "/run/taskpoller/taskpoller.sock");
    EXPECT_EQ(c.store.journal, "/var/lib/taskpoller/taskpoller.journal");
    EXPECT_TRUE(c.services.at("cvm").actions.contains("StopInstances"));
}

// config/taskpoller-v3.yaml, the API 3.0 setup the docs point to, loads as it is.
TEST(ExampleConfig, the_api_v3_example_loads_without_errors_or_warnings) {
    auto env = test::env_with_secrets();
    env.set("RUNTIME_DIRECTORY", "/run/taskpoller");
    auto r = load_file(std::string(TASKPOLLER_SOURCE_DIR) + "/config/taskpoller-v3.yaml", env);
    ASSERT_TRUE(r.ok()) << r.error_text();
    for (const auto& w : r.warnings) EXPECT_EQ(w.level, severity::info) << w.to_string();
    EXPECT_EQ(r.config->cloud.protocol, protocol_kind::v3);
    EXPECT_EQ(r.config->cloud.endpoint, endpoint_kind::regional);
    EXPECT_TRUE(r.config->services.at("cvm").actions.contains("ResizeInstanceDisks"));
}

TEST(ExampleConfig, documents_every_default_it_shows) {
    // The example spells out defaults; if one drifts from the code, this catches it.
    auto env = test::env_with_secrets();
    auto r = load_file(example, env);
    ASSERT_TRUE(r.ok()) << r.error_text();
    const daemon_config defaults;
    const auto& c = *r.config;
    EXPECT_EQ(c.cloud.protocol, defaults.cloud.protocol);
    EXPECT_EQ(c.cloud.endpoint, defaults.cloud.endpoint);
    EXPECT_EQ(c.polling.initial_delay, defaults.polling.initial_delay);
    EXPECT_EQ(c.polling.interval, defaults.polling.interval);
    EXPECT_EQ(c.polling.multiplier, defaults.polling.multiplier);
    EXPECT_EQ(c.polling.max_interval, defaults.polling.max_interval);
    EXPECT_EQ(c.polling.timeout, defaults.polling.timeout);
    EXPECT_EQ(c.polling.not_found_checks, defaults.polling.not_found_checks);
    EXPECT_EQ(c.polling.settle_delay, defaults.polling.settle_delay);
    EXPECT_EQ(c.rate_limit.default_rate, defaults.rate_limit.default_rate);
    EXPECT_EQ(c.rate_limit.burst, defaults.rate_limit.burst);
    EXPECT_EQ(c.cloud.connect_timeout, defaults.cloud.connect_timeout);
    EXPECT_EQ(c.cloud.request_timeout, defaults.cloud.request_timeout);
    EXPECT_EQ(c.cloud.max_connections_per_host, defaults.cloud.max_connections_per_host);
    EXPECT_EQ(c.control.mode, defaults.control.mode);
    EXPECT_EQ(c.control.max_connections, defaults.control.max_connections);
    EXPECT_EQ(c.control.max_waiters, defaults.control.max_waiters);
    EXPECT_EQ(c.control.max_body, defaults.control.max_body);
    EXPECT_EQ(c.control.request_timeout, defaults.control.request_timeout);
    EXPECT_EQ(c.control.header_timeout, defaults.control.header_timeout);
    EXPECT_EQ(c.control.max_connections_per_uid, defaults.control.max_connections_per_uid);
    EXPECT_EQ(c.control.admin_reserved_connections, defaults.control.admin_reserved_connections);
    EXPECT_EQ(c.control.max_wait, defaults.control.max_wait);
    EXPECT_EQ(c.store.retention, defaults.store.retention);
    EXPECT_EQ(c.store.max_finished, defaults.store.max_finished);
    EXPECT_EQ(c.store.snapshot_size, defaults.store.snapshot_size);
}

// One default per control limit: the configuration's and the server's agree (docs/api.md and
// docs/configuration.md show the same numbers).
TEST(ExampleConfig, control_defaults_match_the_server_defaults) {
    const control_config c;
    const control::server_options o;
    using ms = std::chrono::milliseconds;
    EXPECT_EQ(c.max_connections, o.max_connections);
    EXPECT_EQ(c.max_connections_per_uid, o.max_connections_per_uid);
    EXPECT_EQ(c.max_connections_per_uid, c.max_connections / 4);
    EXPECT_EQ(c.admin_reserved_connections, o.admin_reserved_connections);
    EXPECT_EQ(c.max_waiters, o.max_waiters);
    EXPECT_EQ(c.max_body, o.body_limit);
    EXPECT_EQ(std::chrono::duration_cast<ms>(c.header_timeout), o.header_timeout);
    EXPECT_EQ(std::chrono::duration_cast<ms>(c.request_timeout), o.request_timeout);
}

}  // namespace
}  // namespace taskpoller::config
