#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "config/json.hpp"
#include "config/loader.hpp"
#include "config/reload.hpp"
#include "helpers.hpp"

namespace taskpoller::config {
namespace {

using namespace std::chrono_literals;
using test::env_with_secrets;

std::shared_ptr<const daemon_config> load_ok(const std::string& text) {
    auto env = env_with_secrets();
    auto r = load_string(text, "t.yaml", env);
    EXPECT_TRUE(r.ok()) << r.error_text();
    return r.config;
}

TEST(ToJson, shows_effective_values_in_file_syntax) {
    auto c = load_ok(R"(cloud:
  region: gz
  connect_to: {cvm.api.qcloud.com: "127.0.0.1:9000", lb.api.qcloud.com: "[::1]:9001"}
services:
  cvm:
    actions:
      StopInstances: {settle_delay: 1m30s}
polling: {interval: 2500ms}
control: {mode: "0600", max_body: 64KiB}
)");
    ASSERT_TRUE(c);
    const auto j = to_json(*c).as_object();
    for (const char* section : {"credentials", "cloud", "services", "polling", "rate_limit",
                                "control", "store", "logging"}) {
        EXPECT_TRUE(j.contains(section)) << section;
    }
    EXPECT_EQ(j.at("polling").at("interval"), "2s500ms");
    EXPECT_EQ(j.at("polling").at("max_interval"), "30s");
    EXPECT_EQ(j.at("polling").at("jitter"), "full");
    EXPECT_EQ(j.at("control").at("mode"), "0600");
    EXPECT_EQ(j.at("control").at("max_body"), "64KiB");
    EXPECT_EQ(j.at("control").at("socket"), "/run/taskpoller/taskpoller.sock");
    EXPECT_EQ(j.at("cloud").at("connect_to").at("cvm.api.qcloud.com"), "127.0.0.1:9000");
    EXPECT_EQ(j.at("cloud").at("connect_to").at("lb.api.qcloud.com"), "[::1]:9001");
    EXPECT_EQ(j.at("cloud").at("method"), "POST");
    EXPECT_EQ(j.at("rate_limit").at("default").as_double(), 20.0);
    const auto& stop = j.at("services").at("cvm").at("actions").at("StopInstances");
    EXPECT_EQ(stop.at("settle_delay"), "1m30s");
    EXPECT_TRUE(stop.at("target_state").is_null());
    EXPECT_EQ(j.at("services").at("cvm").at("resolver"), "instance_state");
    EXPECT_EQ(j.at("credentials").at("secret_key"), "<redacted>");
    EXPECT_EQ(j.at("credentials").at("signature_method"), "HmacSHA256");
    EXPECT_EQ(j.at("store").at("journal"), "");
    EXPECT_EQ(j.at("logging").at("format"), "text");
}

TEST(ToJson, control_connection_limits_are_shown_and_per_uid_defaults_to_a_quarter) {
    auto c = load_ok("cloud: {region: gz}\ncontrol: {max_connections: 100, header_timeout: 2s}\n");
    ASSERT_TRUE(c);
    EXPECT_EQ(c->control.max_connections_per_uid, 25u);
    const auto j = to_json(*c).as_object().at("control");
    EXPECT_EQ(j.at("max_connections"), 100);
    EXPECT_EQ(j.at("max_connections_per_uid"), 25);
    EXPECT_EQ(j.at("admin_reserved_connections"), 4);
    EXPECT_EQ(j.at("header_timeout"), "2s");
    EXPECT_EQ(j.at("request_timeout"), "10s");
    auto explicit_cap = load_ok(
        "cloud: {region: gz}\ncontrol: {max_connections: 100, max_connections_per_uid: 7, "
        "admin_reserved_connections: 0}\n");
    ASSERT_TRUE(explicit_cap);
    EXPECT_EQ(explicit_cap->control.max_connections_per_uid, 7u);
    EXPECT_EQ(explicit_cap->control.admin_reserved_connections, 0u);
    // Reloadable: none of them is in the restart-only table.
    for (const auto& path : restart_settings()) {
        EXPECT_NE(path, "control.max_connections_per_uid");
        EXPECT_NE(path, "control.admin_reserved_connections");
        EXPECT_NE(path, "control.header_timeout");
    }
}

TEST(ToJson, round_trips_through_the_loader) {
    // The JSON view uses the YAML syntax, so (minus credentials and read-only fields) it can be
    // loaded back: proof that every value is printed in a form the loader accepts.
    auto c = load_ok(
        "cloud: {region: gz, request_timeout: 1m30s}\nstore: {retention: 36h, snapshot_size: "
        "3MiB}\n");
    ASSERT_TRUE(c);
    auto j = to_json(*c).as_object();
    j.erase("credentials");
    j["cloud"].as_object().erase("connect_to");
    auto env = env_with_secrets();
    auto again = load_string(boost::json::serialize(j), "json.yaml", env);  // JSON is YAML
    ASSERT_TRUE(again.ok()) << again.error_text();
    EXPECT_EQ(again.config->cloud.request_timeout, 90s);
    EXPECT_EQ(again.config->store.retention, 36h);
    EXPECT_EQ(again.config->store.snapshot_size, 3u << 20);
    EXPECT_EQ(boost::json::serialize(to_json(*again.config).at("polling")),
              boost::json::serialize(to_json(*c).at("polling")));
}

TEST(DiffRequiresRestart, names_only_restart_settings) {
    auto a = load_ok("cloud: {region: gz}\n");
    auto same = load_ok("cloud: {region: gz}\n");
    ASSERT_TRUE(a && same);
    EXPECT_TRUE(diff_requires_restart(*a, *same).empty());

    auto reloadable = load_ok(
        "cloud: {region: sh, request_timeout: 5s}\npolling: {interval: 1s}\nlogging: {level: "
        "debug}\n"
        "rate_limit: {default: 3}\ncontrol: {admin_uids: [1000]}\nstore: {retention: 1h}\n");
    ASSERT_TRUE(reloadable);
    EXPECT_TRUE(diff_requires_restart(*a, *reloadable).empty());

    auto restart = load_ok(
        "cloud: {region: gz, max_connections_per_host: 2}\n"
        "control: {socket: /tmp/other.sock, mode: \"0600\", group: adm, max_waiters: 9}\n"
        "store: {journal: /tmp/j, durability: relaxed}\n");
    ASSERT_TRUE(restart);
    EXPECT_EQ(diff_requires_restart(*a, *restart),
              (std::vector<std::string>{"cloud.max_connections_per_host", "control.socket",
                                        "control.mode", "control.group", "control.max_waiters",
                                        "store.journal", "store.durability"}));
}

TEST(ApplyReloadable, keeps_restart_settings_and_takes_the_rest) {
    auto a = load_ok("cloud: {region: gz}\n");
    auto b =
        load_ok("cloud: {region: sh}\ncontrol: {socket: /tmp/new.sock}\npolling: {interval: 1s}\n");
    ASSERT_TRUE(a && b);
    const auto applied = apply_reloadable(*a, *b);
    EXPECT_EQ(applied.control.socket, a->control.socket);
    EXPECT_EQ(applied.cloud.region, "sh");
    EXPECT_EQ(applied.polling.interval, 1s);
    EXPECT_TRUE(diff_requires_restart(*a, applied).empty());
    EXPECT_EQ(restart_settings().size(), 16u);
}

TEST(DiffRequiresRestart, credential_rotation_applies_on_reload) {
    auto env1 = env_with_secrets();
    auto env2 = env_with_secrets();
    env2.set("TASKPOLLER_SECRET_KEY", "rotated-key");
    auto a = load_string("cloud: {region: gz}\n", "t.yaml", env1);
    auto b = load_string("cloud: {region: gz}\n", "t.yaml", env2);
    ASSERT_TRUE(a.ok() && b.ok());
    EXPECT_FALSE(a.config->credentials.secret_key == b.config->credentials.secret_key);
    EXPECT_TRUE(diff_requires_restart(*a.config, *b.config).empty());
}

// A service's protocol decides how its tracked tasks are polled: switching it waits for a
// restart, whether it comes from cloud.protocol or services.<name>.protocol.
TEST(DiffRequiresRestart, a_protocol_switch_needs_a_restart) {
    auto v2 = load_ok("cloud: {region: gz}\n");
    auto v3 = load_ok("cloud: {region: gz, protocol: v3, endpoint: regional}\n");
    auto cvm_v3 = load_ok("cloud: {region: gz}\nservices: {cvm: {protocol: v3}}\n");
    ASSERT_TRUE(v2 && v3 && cvm_v3);
    EXPECT_EQ(v3->cloud.protocol, protocol_kind::v3);
    EXPECT_EQ(v3->cloud.endpoint, endpoint_kind::regional);
    EXPECT_EQ(diff_requires_restart(*v2, *v3), std::vector<std::string>{"cloud.protocol"});
    EXPECT_EQ(diff_requires_restart(*v2, *cvm_v3),
              std::vector<std::string>{"services.cvm.protocol"});
    const auto applied = apply_reloadable(*v2, *cvm_v3);
    EXPECT_FALSE(applied.services.at("cvm").protocol);  // still the protocol it started with
    EXPECT_EQ(to_json(*cvm_v3).at("services").at("cvm").at("protocol"), "v3");
    EXPECT_EQ(to_json(*v3).at("cloud").at("protocol"), "v3");
    // A newer API version per service, checked for its shape.
    auto newer = load_ok("cloud: {region: gz}\nservices: {clb: {version: 2099-01-01}}\n");
    ASSERT_TRUE(newer);
    EXPECT_EQ(newer->services.at("clb").version, "2099-01-01");
    EXPECT_EQ(to_json(*newer).at("services").at("clb").at("version"), "2099-01-01");
}

}  // namespace
}  // namespace taskpoller::config
