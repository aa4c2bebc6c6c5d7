#include <gtest/gtest.h>

#include "config/loader.hpp"
#include "helpers.hpp"

namespace taskpoller::config {
namespace {

using namespace std::chrono_literals;
using test::env_with_secrets;
using test::error_at;
using test::has_error;
using test::temp_dir;

constexpr const char* minimal = "cloud:\n  region: ap-guangzhou\n";

TEST(Load, complete_file_round_trip) {
    temp_dir dir;
    const auto ca = dir.write("ca.pem", "not really a certificate\n", 0644);
    const std::string text = R"(credentials:
  signature_method: HmacSHA1
cloud:
  region: ap-shanghai
  host_suffix: api.example.test
  scheme: http
  connect_to:
    cvm.api.example.test: 127.0.0.1:8443
    lb.api.example.test: "[::1]:9443"
  ca_file: )" + ca + R"(
  insecure_skip_verify: false
  method: GET
  connect_timeout: 1500ms
  request_timeout: 1m30s
  max_connections_per_host: 3
services:
  cvm:
    rate_limit: 10
    actions:
      StopInstances: {settle_delay: 20s, rate_limit: 5, timeout: 2h}
      ResizeInstanceDisks: {target_state: 2, transitional_state: [13, 19]}
  lb:
    actions:
      DeleteLoadBalancers: {rate_limit: 2.5}
  redis:
    host_prefix: redis
    resolver: task_result
    result_action: DescribeTaskResult
    actions:
      UpgradeInstance: {}
polling:
  initial_delay: 250ms
  interval: 3s
  multiplier: 2
  max_interval: 1m
  jitter: none
  timeout: 2h
  not_found_checks: 5
  settle_delay: 15s
rate_limit:
  default: 12.5
  burst: 40
control:
  socket: /tmp/tp/ctl.sock
  mode: "0600"
  group: adm
  admin_uids: [0, 1000]
  admin_groups: [wheel, adm]
  max_connections: 32
  max_waiters: 1500
  max_body: 2MiB
  request_timeout: 10s
  max_wait: 15m
store:
  retention: 48h
  max_finished: 5000
  journal: /var/tmp/tp.journal
  durability: relaxed
  snapshot_size: 128MiB
logging:
  level: debug
  format: json
)";
    auto env = env_with_secrets();
    auto r = load_string(text, "full.yaml", env);
    ASSERT_TRUE(r.ok()) << r.error_text();
    const auto& c = *r.config;
    EXPECT_EQ(c.source_name, "full.yaml");
    EXPECT_EQ(c.credentials.signature, signature_method::hmac_sha1);
    EXPECT_EQ(c.credentials.source, credential_source::environment);
    EXPECT_EQ(c.cloud.region, "ap-shanghai");
    EXPECT_EQ(c.cloud.host_suffix, "api.example.test");
    EXPECT_EQ(c.cloud.scheme, url_scheme::http);
    ASSERT_EQ(c.cloud.connect_to.size(), 2u);
    EXPECT_EQ(c.cloud.connect_to[0].host, "cvm.api.example.test");
    EXPECT_EQ(c.cloud.connect_to[0].address, "127.0.0.1");
    EXPECT_EQ(c.cloud.connect_to[0].port, 8443);
    EXPECT_EQ(c.cloud.connect_to[1].address, "::1");
    EXPECT_EQ(c.cloud.connect_to[1].port, 9443);
    EXPECT_EQ(c.cloud.ca_file, ca);
    EXPECT_EQ(c.cloud.method, http_method::get);
    EXPECT_EQ(c.cloud.connect_timeout, 1500ms);
    EXPECT_EQ(c.cloud.request_timeout, 90s);
    EXPECT_EQ(c.cloud.max_connections_per_host, 3u);

    ASSERT_EQ(c.services.size(), 3u);
    const auto& cvm = c.services.at("cvm");
    EXPECT_TRUE(cvm.builtin);
    EXPECT_EQ(cvm.resolver, resolver_kind::instance_state);
    EXPECT_EQ(cvm.rate_limit, 10.0);
    const auto& stop = cvm.actions.at("StopInstances");
    EXPECT_EQ(stop.settle_delay, 20s);
    EXPECT_EQ(stop.rate_limit, 5.0);
    EXPECT_EQ(stop.timeout, 2h);
    const auto& resize = cvm.actions.at("ResizeInstanceDisks");
    EXPECT_EQ(resize.target_state, 2);
    EXPECT_EQ(resize.transitional_states, (std::vector<int>{13, 19}));
    EXPECT_EQ(c.services.at("lb").actions.at("DeleteLoadBalancers").rate_limit, 2.5);
    const auto& redis = c.services.at("redis");
    EXPECT_FALSE(redis.builtin);
    EXPECT_EQ(redis.resolver, resolver_kind::task_result);
    EXPECT_EQ(redis.result_action, "DescribeTaskResult");
    EXPECT_TRUE(redis.actions.contains("UpgradeInstance"));

    EXPECT_EQ(c.polling.initial_delay, 250ms);
    EXPECT_EQ(c.polling.interval, 3s);
    EXPECT_EQ(c.polling.multiplier, 2.0);
    EXPECT_EQ(c.polling.max_interval, 1min);
    EXPECT_EQ(c.polling.jitter, jitter_kind::none);
    EXPECT_EQ(c.polling.timeout, 2h);
    EXPECT_EQ(c.polling.not_found_checks, 5u);
    EXPECT_EQ(c.polling.settle_delay, 15s);
    EXPECT_EQ(c.rate_limit.default_rate, 12.5);
    EXPECT_EQ(c.rate_limit.burst, 40.0);

    EXPECT_EQ(c.control.socket, "/tmp/tp/ctl.sock");
    EXPECT_EQ(c.control.mode, 0600u);
    EXPECT_EQ(c.control.group, "adm");
    EXPECT_EQ(c.control.admin_uids, (std::vector<std::uint32_t>{0, 1000}));
    EXPECT_EQ(c.control.admin_groups, (std::vector<std::string>{"wheel", "adm"}));
    EXPECT_EQ(c.control.max_connections, 32u);
    EXPECT_EQ(c.control.max_waiters, 1500u);
    EXPECT_EQ(c.control.max_body, 2u << 20);
    EXPECT_EQ(c.control.request_timeout, 10s);
    EXPECT_EQ(c.control.max_wait, 15min);

    EXPECT_EQ(c.store.retention, 48h);
    EXPECT_EQ(c.store.max_finished, 5000u);
    EXPECT_EQ(c.store.journal, "/var/tmp/tp.journal");
    EXPECT_EQ(c.store.durability, durability_kind::relaxed);
    EXPECT_EQ(c.store.snapshot_size, 128u << 20);
    EXPECT_EQ(c.logging.level, log_level::debug);
    EXPECT_EQ(c.logging.format, log_format::json);
}

TEST(Load, minimal_file_gets_documented_defaults) {
    auto env = env_with_secrets();
    auto r = load_string(minimal, "min.yaml", env);
    ASSERT_TRUE(r.ok()) << r.error_text();
    const auto& c = *r.config;
    const daemon_config defaults;
    EXPECT_EQ(c.cloud.host_suffix, "api.qcloud.com");
    EXPECT_EQ(c.cloud.scheme, url_scheme::https);
    EXPECT_EQ(c.cloud.method, http_method::post);
    EXPECT_EQ(c.credentials.signature, signature_method::hmac_sha256);
    EXPECT_EQ(c.polling.interval, defaults.polling.interval);
    EXPECT_EQ(c.rate_limit.default_rate, 20.0);
    EXPECT_EQ(c.control.socket, "/run/taskpoller/taskpoller.sock");
    EXPECT_EQ(c.control.mode, 0660u);
    EXPECT_EQ(c.store.journal, "");  // no $STATE_DIRECTORY: memory only
    EXPECT_EQ(c.store.durability, durability_kind::strict);
    EXPECT_TRUE(c.services.empty());
    EXPECT_EQ(c.logging.level, log_level::info);
}

TEST(Load, default_paths_follow_systemd_directories) {
    auto env = env_with_secrets();
    env.set("RUNTIME_DIRECTORY", "/run/taskpoller-a:/run/other");
    env.set("STATE_DIRECTORY", "/var/lib/taskpoller-a/");
    auto r = load_string(minimal, "t.yaml", env);
    ASSERT_TRUE(r.ok()) << r.error_text();
    EXPECT_EQ(r.config->control.socket, "/run/taskpoller-a/taskpoller.sock");
    EXPECT_EQ(r.config->store.journal, "/var/lib/taskpoller-a/taskpoller.journal");

    // Explicit settings win; an empty journal means memory only even under systemd.
    auto explicit_r =
        load_string("cloud: {region: gz}\ncontrol: {socket: /tmp/x.sock}\nstore: {journal: \"\"}\n",
                    "t.yaml", env);
    ASSERT_TRUE(explicit_r.ok()) << explicit_r.error_text();
    EXPECT_EQ(explicit_r.config->control.socket, "/tmp/x.sock");
    EXPECT_EQ(explicit_r.config->store.journal, "");
}

TEST(Load, relative_systemd_directory_is_ignored) {
    auto env = env_with_secrets();
    env.set("RUNTIME_DIRECTORY", "relative/dir");
    auto r = load_string(minimal, "t.yaml", env);
    ASSERT_TRUE(r.ok()) << r.error_text();
    EXPECT_EQ(r.config->control.socket, "/run/taskpoller/taskpoller.sock");
}

TEST(LoadErrors, unknown_key_with_suggestion) {
    auto env = env_with_secrets();
    auto r = load_string("cloud:\n  region: gz\npolling:\n  intervall: 2s\n", "t.yaml", env);
    ASSERT_FALSE(r.ok());
    EXPECT_TRUE(
        has_error(r, "t.yaml:4:3: polling.intervall: unknown key; did you mean \"interval\"?"))
        << r.error_text();
    EXPECT_EQ(r.errors.size(), 1u) << r.error_text();
}

TEST(LoadErrors, unknown_section_with_suggestion_and_without) {
    auto env = env_with_secrets();
    auto r = load_string("cloud:\n  region: gz\npollling: {}\nzzz: 1\n", "t.yaml", env);
    ASSERT_FALSE(r.ok());
    EXPECT_TRUE(has_error(r, "t.yaml:3:1: pollling: unknown key; did you mean \"polling\"?"))
        << r.error_text();
    const auto far = error_at(r, 4, 1);
    EXPECT_EQ(far.path, "zzz");
    EXPECT_NE(far.message.find("expected one of: cloud, control, credentials"), std::string::npos)
        << far.message;
}

TEST(LoadErrors, wrong_type_names_the_expected_type) {
    auto env = env_with_secrets();
    auto r = load_string(
        "cloud:\n  region: [gz]\npolling:\n  interval: {a: 1}\n  not_found_checks: three\n",
        "t.yaml", env);
    ASSERT_FALSE(r.ok());
    EXPECT_TRUE(has_error(r, "t.yaml:2:11: cloud.region: expected a string, got a sequence"))
        << r.error_text();
    EXPECT_TRUE(has_error(r,
                          "t.yaml:4:13: polling.interval: expected a duration like 500ms, 2s, "
                          "5m or 1h, got a mapping"))
        << r.error_text();
    EXPECT_TRUE(
        has_error(r, "t.yaml:5:21: polling.not_found_checks: expected an integer, got \"three\""))
        << r.error_text();
    EXPECT_EQ(r.errors.size(), 3u) << r.error_text();
}

TEST(LoadErrors, section_that_is_not_a_mapping) {
    auto env = env_with_secrets();
    auto r = load_string("cloud:\n  region: gz\nlogging: debug\n", "t.yaml", env);
    EXPECT_TRUE(has_error(r, "t.yaml:3:10: logging: expected a mapping, got a scalar"))
        << r.error_text();
}

TEST(LoadErrors, bad_duration) {
    auto env = env_with_secrets();
    auto r =
        load_string("cloud:\n  region: gz\n  connect_timeout: 5 parsecs\n  request_timeout: -3s\n",
                    "t.yaml", env);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(error_at(r, 3, 20).message,
              "duration \"5 parsecs\" is missing a unit; expected a "
              "number with a unit, like 500ms, 2s, 5m, 1h");
    EXPECT_EQ(error_at(r, 4, 20).message, "negative duration \"-3s\" is not allowed");
}

TEST(LoadErrors, out_of_range_values) {
    auto env = env_with_secrets();
    auto r = load_string(R"(cloud:
  region: gz
polling:
  multiplier: 0.5
  not_found_checks: 0
rate_limit:
  default: 0
control:
  mode: "1777"
  max_body: 2GiB
)",
                         "t.yaml", env);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(error_at(r, 4, 15).message, "0.5 is out of range: must be at least 1 and at most 10");
    EXPECT_EQ(error_at(r, 5, 21).message, "0 is out of range: must be between 1 and 1000");
    EXPECT_EQ(error_at(r, 7, 12).message,
              "0 is out of range: must be greater than 0 and at most 100000");
    EXPECT_NE(error_at(r, 9, 9).message.find("at most 0777"), std::string::npos);
    EXPECT_EQ(error_at(r, 10, 13).message, "2GiB is out of range: must be between 1KiB and 1GiB");
    EXPECT_EQ(r.errors.size(), 5u) << r.error_text();
}

TEST(LoadErrors, max_interval_below_interval) {
    auto env = env_with_secrets();
    auto r = load_string("cloud: {region: gz}\npolling:\n  interval: 10s\n  max_interval: 5s\n",
                         "t.yaml", env);
    EXPECT_TRUE(has_error(
        r, "t.yaml:4:17: polling.max_interval: max_interval (5s) must be at least interval (10s)"))
        << r.error_text();
    // Only interval set, above the default max_interval: the error points at interval.
    auto r2 = load_string("cloud: {region: gz}\npolling:\n  interval: 1m\n", "t.yaml", env);
    EXPECT_TRUE(has_error(
        r2, "t.yaml:3:13: polling.interval: max_interval (30s) must be at least interval (1m)"))
        << r2.error_text();
}

TEST(LoadErrors, bad_enum_lists_accepted_values) {
    auto env = env_with_secrets();
    auto r = load_string("cloud:\n  region: gz\n  method: PUT\nlogging:\n  level: verbose\n",
                         "t.yaml", env);
    EXPECT_TRUE(has_error(
        r, "t.yaml:3:11: cloud.method: invalid value \"PUT\"; expected one of: POST, GET"))
        << r.error_text();
    EXPECT_TRUE(has_error(r,
                          "t.yaml:5:10: logging.level: invalid value \"verbose\"; expected one of: "
                          "trace, debug, info, warn, error"))
        << r.error_text();
}

TEST(LoadErrors, malformed_yaml_has_a_position) {
    auto env = env_with_secrets();
    auto r = load_string("cloud:\n  region: gz\npolling: {interval: 2s\n", "bad.yaml", env);
    ASSERT_FALSE(r.ok());
    ASSERT_EQ(r.errors.size(), 1u) << r.error_text();
    const auto& e = r.errors[0];
    EXPECT_EQ(e.file, "bad.yaml");
    EXPECT_EQ(e.to_string(), "bad.yaml:4:1: invalid YAML: end of map flow not found");  // at EOF
    EXPECT_TRUE(e.path.empty());

    auto alias = load_string("cloud: {region: gz}\nlogging: *nope\n", "a.yaml", env);
    ASSERT_EQ(alias.errors.size(), 1u) << alias.error_text();
    EXPECT_EQ(alias.errors[0].to_string(),
              "a.yaml:2:10: invalid YAML: the referenced anchor is not defined");

    auto tab = load_string("cloud:\n\tregion: gz\n", "tab.yaml", env);
    ASSERT_EQ(tab.errors.size(), 1u) << tab.error_text();
    EXPECT_EQ(tab.errors[0].line, 2) << tab.error_text();
}

TEST(LoadErrors, more_than_one_document) {
    auto env = env_with_secrets();
    auto r = load_string("cloud: {region: gz}\n---\ncloud: {region: sh}\n", "t.yaml", env);
    ASSERT_EQ(r.errors.size(), 1u) << r.error_text();
    EXPECT_EQ(r.errors[0].line, 3);
    EXPECT_NE(r.errors[0].message.find("more than one YAML document"), std::string::npos);
}

TEST(LoadErrors, duplicate_key) {
    auto env = env_with_secrets();
    auto r = load_string("cloud:\n  region: gz\n  region: sh\n", "t.yaml", env);
    EXPECT_TRUE(has_error(r, "t.yaml:3:3: cloud.region: duplicate key (it is already set above)"))
        << r.error_text();
}

TEST(LoadErrors, missing_region_and_empty_file) {
    auto env = env_with_secrets();
    auto r = load_string("", "empty.yaml", env);
    ASSERT_FALSE(r.ok());
    ASSERT_EQ(r.errors.size(), 1u) << r.error_text();
    EXPECT_EQ(r.errors[0].to_string(),
              "empty.yaml:1:1: cloud.region: required (for example ap-guangzhou)");

    auto r2 = load_string("logging: {}\ncloud:\n  scheme: https\n", "t.yaml", env);
    EXPECT_TRUE(has_error(r2, "t.yaml:3:3: cloud.region: required (for example ap-guangzhou)"))
        << r2.error_text();
}

TEST(LoadErrors, null_value_where_a_value_is_needed) {
    auto env = env_with_secrets();
    auto r = load_string("cloud:\n  region:\n", "t.yaml", env);
    ASSERT_EQ(r.errors.size(), 1u) << r.error_text();
    EXPECT_EQ(r.errors[0].path, "cloud.region");
    EXPECT_EQ(r.errors[0].line, 2);
    EXPECT_EQ(r.errors[0].message, "expected a string, got nothing (null)");
}

TEST(LoadErrors, every_error_reported_in_file_order) {
    auto env = env_with_secrets();
    auto r = load_string(R"(logging:
  level: loud
cloud:
  region: gz
  scheme: ftp
  max_connections_per_host: 0
polling:
  jitter: some
  timeout: forever
store:
  journal: relative/path
  retension: 1h
control:
  admin_uids: [0, -1, root]
)",
                         "multi.yaml", env);
    ASSERT_FALSE(r.ok());
    std::vector<std::pair<int, std::string>> got;
    for (const auto& e : r.errors) got.emplace_back(e.line, e.path);
    const std::vector<std::pair<int, std::string>> expected{
        {2, "logging.level"},
        {5, "cloud.scheme"},
        {6, "cloud.max_connections_per_host"},
        {8, "polling.jitter"},
        {9, "polling.timeout"},
        {11, "store.journal"},
        {12, "store.retension"},
        {14, "control.admin_uids[1]"},
        {14, "control.admin_uids[2]"},
    };
    EXPECT_EQ(got, expected) << r.error_text();
    EXPECT_TRUE(
        has_error(r, "multi.yaml:12:3: store.retension: unknown key; did you mean \"retention\"?"));
    EXPECT_TRUE(has_error(
        r, "multi.yaml:11:12: store.journal: must be an absolute path, got \"relative/path\""));
}

TEST(LoadErrors, socket_path_too_long_for_sockaddr_un) {
    auto env = env_with_secrets();
    const std::string path = "/" + std::string(120, 'x');
    auto r = load_string("cloud: {region: gz}\ncontrol:\n  socket: " + path + "\n", "t.yaml", env);
    EXPECT_EQ(error_at(r, 3, 11).message,
              "a Unix socket path can be at most 107 bytes, this one is 121");
}

TEST(LoadErrors, connect_to_forms) {
    auto env = env_with_secrets();
    auto ok = load_string("cloud: {region: gz, connect_to: \"localhost:8443\"}\n", "t.yaml", env);
    ASSERT_TRUE(ok.ok()) << ok.error_text();
    ASSERT_EQ(ok.config->cloud.connect_to.size(), 1u);
    EXPECT_EQ(ok.config->cloud.connect_to[0].host, "");
    EXPECT_EQ(ok.config->cloud.connect_to[0].address, "localhost");

    auto r =
        load_string("cloud:\n  region: gz\n  connect_to:\n    a.b: 1.2.3.4:0\n    c.d: nocolon\n",
                    "t.yaml", env);
    EXPECT_EQ(error_at(r, 4, 10).message, "bad port in \"1.2.3.4:0\": expected 1 to 65535");
    EXPECT_EQ(error_at(r, 5, 10).message, "expected \"address:port\", got \"nocolon\"");
}

TEST(LoadErrors, unreadable_ca_file) {
    auto env = env_with_secrets();
    auto r = load_string("cloud:\n  region: gz\n  ca_file: /nonexistent/ca.pem\n", "t.yaml", env);
    EXPECT_TRUE(
        has_error(r,
                  "t.yaml:3:12: cloud.ca_file: cannot read /nonexistent/ca.pem: No such file "
                  "or directory"))
        << r.error_text();
}

TEST(LoadFile, reads_a_file_and_reports_an_unreadable_one) {
    temp_dir dir;
    auto env = env_with_secrets();
    const auto path = dir.write("t.yaml", "cloud:\n  region: gz\n  bogus: 1\n");
    auto r = load_file(path, env);
    EXPECT_TRUE(
        has_error(r, path + ":3:3: cloud.bogus: unknown key; expected one of: ca_file, "
                            "connect_timeout, connect_to, endpoint, host_suffix, "
                            "insecure_skip_verify, max_connections_per_host, method, protocol, "
                            "region, request_timeout, scheme"))
        << r.error_text();

    auto missing = load_file(dir.path() / "nope.yaml", env);
    ASSERT_EQ(missing.errors.size(), 1u);
    EXPECT_EQ(missing.errors[0].to_string(),
              (dir.path() / "nope.yaml").string() +
                  ": cannot read the configuration file: No such file or directory");
    auto directory = load_file(dir.path(), env);
    ASSERT_EQ(directory.errors.size(), 1u);
    EXPECT_NE(directory.errors[0].message.find("not a regular file"), std::string::npos);
}

}  // namespace
}  // namespace taskpoller::config
