#include <fmt/format.h>
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "config/loader.hpp"
#include "helpers.hpp"

namespace taskpoller::config {
namespace {

using test::env_with_secrets;
using test::has_error;

std::string read_example() {
    std::ifstream in(std::string(TASKPOLLER_SOURCE_DIR) + "/config/taskpoller.yaml");
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

int count_lines(const std::string& text) {
    return static_cast<int>(std::count(text.begin(), text.end(), '\n')) + 1;
}

// Prefixes of a real file (every 3rd length, to stay fast under sanitizers): each load must end in
// a configuration or in positioned errors that point inside the text, and must never throw or
// crash.
TEST(Robustness, truncations_of_the_example_are_handled) {
    const auto text = read_example();
    ASSERT_GT(text.size(), 1000u);
    auto env = env_with_secrets();
    int ok = 0, failed = 0;
    for (std::size_t n = 0; n <= text.size(); n += 3) {
        const auto prefix = text.substr(0, n);
        load_result r;
        ASSERT_NO_THROW(r = load_string(prefix, "cut.yaml", env)) << "at " << n;
        ASSERT_EQ(r.ok(), r.errors.empty()) << "at " << n;
        for (const auto& e : r.errors) {
            ASSERT_GE(e.line, 1) << e.to_string();
            ASSERT_LE(e.line, count_lines(prefix) + 1) << e.to_string();
            ASSERT_GE(e.column, 1) << e.to_string();
            ASSERT_FALSE(e.message.empty());
        }
        (r.ok() ? ok : failed)++;
    }
    EXPECT_GT(ok, 0);      // e.g. every cut at a line end after the region
    EXPECT_GT(failed, 0);  // e.g. every cut before the region
}

// Replacing each single byte by a character that breaks YAML or values must not crash either.
TEST(Robustness, single_byte_corruptions_are_handled) {
    const auto text = read_example();
    auto env = env_with_secrets();
    for (std::size_t i = 0; i < text.size(); i += 19) {
        for (char c : {'{', ':', '\t', '\0'}) {
            auto corrupt = text;
            corrupt[i] = c;
            load_result r;
            ASSERT_NO_THROW(r = load_string(corrupt, "x.yaml", env)) << i;
            ASSERT_EQ(r.ok(), r.errors.empty());
        }
    }
}

TEST(Robustness, deep_nesting_is_an_error_not_a_crash) {
    auto env = env_with_secrets();
    const std::string deep = "cloud: {region: gz}\nlogging: " + std::string(100000, '[') + "\n";
    load_result r;
    ASSERT_NO_THROW(r = load_string(deep, "deep.yaml", env));
    EXPECT_FALSE(r.ok());
}

TEST(Robustness, odd_keys_and_types) {
    auto env = env_with_secrets();
    auto r = load_string(
        "cloud: {region: gz}\n? [a, b]\n: 1\npolling:\n  jitter: ~\n"
        "services: [cvm]\ncontrol:\n  admin_uids: 0\n  admin_groups: [\"\"]\n",
        "t.yaml", env);
    ASSERT_FALSE(r.ok());
    EXPECT_TRUE(has_error(r, "t.yaml:2:3: keys must be plain words, got a sequence"))
        << r.error_text();
    EXPECT_TRUE(has_error(
        r, "t.yaml:5:3: polling.jitter: expected one of the listed words, got nothing (null)"))
        << r.error_text();
    EXPECT_TRUE(has_error(r, "t.yaml:6:11: services: expected a mapping, got a sequence"))
        << r.error_text();
    EXPECT_TRUE(has_error(
        r, "t.yaml:8:15: control.admin_uids: expected a sequence of user ids, got a scalar"))
        << r.error_text();
    EXPECT_TRUE(has_error(r, "t.yaml:9:18: control.admin_groups[0]: must not be empty"))
        << r.error_text();
}

// --check-config loads the file like the daemon: a socket group the system does not know is
// refused there, with its position, instead of failing the daemon's start.
TEST(Robustness, unknown_control_group_is_refused_with_its_position) {
    auto env = env_with_secrets();
    auto r =
        load_string("cloud: {region: gz}\ncontrol:\n  group: no-such-group-tp16\n", "t.yaml", env);
    ASSERT_FALSE(r.ok());
    EXPECT_TRUE(has_error(r, "t.yaml:3:10: control.group: unknown group 'no-such-group-tp16'"))
        << r.error_text();
    for (const char* known : {"adm", "4", "nogroup"}) {
        auto ok = load_string(fmt::format("cloud: {{region: gz}}\ncontrol: {{group: {}}}\n", known),
                              "t.yaml", env);
        EXPECT_TRUE(ok.ok()) << known << ": " << ok.error_text();
    }
}

TEST(Robustness, booleans_are_true_or_false_only) {
    auto env = env_with_secrets();
    auto r = load_string("cloud: {region: gz, insecure_skip_verify: yes}\n", "t.yaml", env);
    EXPECT_TRUE(has_error(
        r, "t.yaml:1:43: cloud.insecure_skip_verify: expected true or false, got \"yes\""))
        << r.error_text();
    auto on = load_string("cloud: {region: gz, insecure_skip_verify: true}\n", "t.yaml", env);
    ASSERT_TRUE(on.ok()) << on.error_text();
    EXPECT_TRUE(on.config->cloud.insecure_skip_verify);
    EXPECT_TRUE(std::any_of(on.warnings.begin(), on.warnings.end(), [](const diagnostic& d) {
        return d.level == severity::warning && d.path == "cloud.insecure_skip_verify";
    }));
}

TEST(Robustness, integer_overflow_is_out_of_range) {
    auto env = env_with_secrets();
    auto r = load_string("cloud: {region: gz}\nstore: {max_finished: 99999999999999999999999}\n",
                         "t.yaml", env);
    ASSERT_EQ(r.errors.size(), 1u) << r.error_text();
    EXPECT_EQ(r.errors[0].to_string(),
              "t.yaml:2:23: store.max_finished: 99999999999999999999999 is out of range: must be "
              "between 0 and 1000000000");
}

}  // namespace
}  // namespace taskpoller::config

namespace taskpoller::config {
namespace {

// Found by the config_loader fuzz target: YAML::LoadAll (yaml-cpp 0.7) never returns on this
// input, allocating empty documents until memory runs out; the loader must end with an error.
TEST(Robustness, stray_comma_document_ends_in_an_error_not_a_hang) {
    auto env = env_with_secrets();
    for (const char* text : {"\n,\n", ",", "cloud: {region: gz}\n,\n"}) {
        load_result r;
        ASSERT_NO_THROW(r = load_string(text, "comma.yaml", env)) << text;
        EXPECT_FALSE(r.ok()) << text;
        ASSERT_FALSE(r.errors.empty());
        EXPECT_GE(r.errors[0].line, 1);
    }
}

TEST(Robustness, second_document_is_reported_at_its_root) {
    auto env = env_with_secrets();
    auto r = load_string("cloud: {region: gz}\n---\n# note\n  [1, 2]\n", "t.yaml", env);
    ASSERT_EQ(r.errors.size(), 1u) << r.error_text();
    EXPECT_EQ(r.errors[0].line, 4);
    EXPECT_EQ(r.errors[0].column, 3);
}

}  // namespace
}  // namespace taskpoller::config
