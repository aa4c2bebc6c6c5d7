#include <fmt/format.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/json/serialize.hpp>
#include <ostream>
#include <type_traits>

#include "config/json.hpp"
#include "config/loader.hpp"
#include "config/secret.hpp"
#include "helpers.hpp"

namespace taskpoller::config {
namespace {

using test::has_error;
using test::temp_dir;

template <class T>
concept streamable = requires(std::ostream& os, const T& v) {
    os << v;
};
static_assert(!streamable<secret_string>, "a secret must not be printable with operator<<");
static_assert(!fmt::is_formattable<secret_string>::value, "a secret must not be formattable");
static_assert(!std::is_convertible_v<secret_string, std::string>);
static_assert(!std::is_convertible_v<secret_string, std::string_view>);

constexpr const char* base = "cloud: {region: gz}\n";

std::string revealed(const secret_string& s) {
    return std::string(s.reveal_for_signing());
}

// Asserts that no diagnostic and no JSON view mentions either secret.
void expect_no_leak(const load_result& r, std::initializer_list<std::string> secrets) {
    std::string everything;
    for (const auto& d : r.errors) everything += d.to_string() + "\n";
    for (const auto& d : r.warnings) everything += d.to_string() + "\n";
    if (r.config) everything += boost::json::serialize(to_json(*r.config));
    for (const auto& s : secrets) {
        EXPECT_EQ(everything.find(s), std::string::npos) << "leaked " << s << " in:\n"
                                                         << everything;
    }
}

struct Sources : ::testing::Test {
    temp_dir dir;
    map_environment env;
    std::string config_with_files() {
        const auto id = dir.write("cfg/secret_id", "file-id\n");
        const auto key = dir.write("cfg/secret_key", "file-key\n");
        return fmt::format("{}credentials:\n  secret_id_file: {}\n  secret_key_file: {}\n", base,
                           id, key);
    }
    void with_credentials_directory() {
        dir.write("creds/secret_id", "dir-id");
        dir.write("creds/secret_key", "dir-key\r\n");
        env.set("CREDENTIALS_DIRECTORY", (dir.path() / "creds").string());
    }
    void with_environment() {
        env.set("TASKPOLLER_SECRET_ID", "env-id");
        env.set("TASKPOLLER_SECRET_KEY", "env-key");
    }
};

TEST_F(Sources, configured_files_win_over_everything) {
    with_credentials_directory();
    with_environment();
    auto r = load_string(config_with_files(), "t.yaml", env);
    ASSERT_TRUE(r.ok()) << r.error_text();
    const auto& c = r.config->credentials;
    EXPECT_EQ(revealed(c.secret_id), "file-id");
    EXPECT_EQ(revealed(c.secret_key), "file-key");
    EXPECT_EQ(c.source, credential_source::config_file);
    EXPECT_NE(c.source_detail.find((dir.path() / "cfg/secret_key").string()), std::string::npos);
    ASSERT_EQ(r.warnings.size(), 1u);
    EXPECT_EQ(r.warnings[0].level, severity::info);
    EXPECT_EQ(r.warnings[0].message, "using credentials from " + c.source_detail);
}

TEST_F(Sources, credentials_directory_wins_over_environment) {
    with_credentials_directory();
    with_environment();
    auto r = load_string(base, "t.yaml", env);
    ASSERT_TRUE(r.ok()) << r.error_text();
    EXPECT_EQ(revealed(r.config->credentials.secret_id), "dir-id");
    EXPECT_EQ(revealed(r.config->credentials.secret_key), "dir-key");  // CRLF trimmed
    EXPECT_EQ(r.config->credentials.source, credential_source::credentials_directory);
}

TEST_F(Sources, environment_is_the_last_resort) {
    with_environment();
    env.set("CREDENTIALS_DIRECTORY", (dir.path() / "empty").string());  // holds no secrets
    auto r = load_string(base, "t.yaml", env);
    ASSERT_TRUE(r.ok()) << r.error_text();
    EXPECT_EQ(revealed(r.config->credentials.secret_id), "env-id");
    EXPECT_EQ(revealed(r.config->credentials.secret_key), "env-key");
    EXPECT_EQ(r.config->credentials.source, credential_source::environment);
}

// API 3.0 temporary credentials: a token from the same source as the pair, sent as X-TC-Token,
// never shown.
TEST_F(Sources, a_token_comes_from_the_same_source_as_the_pair_and_is_never_shown) {
    const auto token = dir.write("cfg/token", "sts-token-123\n");
    auto r = load_string(config_with_files() + "  token_file: " + token + "\n", "t.yaml", env);
    ASSERT_TRUE(r.ok()) << r.error_text();
    EXPECT_EQ(revealed(r.config->credentials.token), "sts-token-123");
    EXPECT_NE(r.config->credentials.source_detail.find("token from"), std::string::npos);
    expect_no_leak(r, {"sts-token-123"});
    EXPECT_EQ(to_json(*r.config).at("credentials").at("token"), "<redacted>");

    dir.write("creds/token", "dir-token");
    with_credentials_directory();
    auto from_dir = load_string(base, "t.yaml", env);
    ASSERT_TRUE(from_dir.ok()) << from_dir.error_text();
    EXPECT_EQ(revealed(from_dir.config->credentials.token), "dir-token");

    map_environment only_env;
    only_env.set("TASKPOLLER_SECRET_ID", "env-id");
    only_env.set("TASKPOLLER_SECRET_KEY", "env-key");
    only_env.set("TASKPOLLER_SECRET_TOKEN", "env-token");
    auto from_env = load_string(base, "t.yaml", only_env);
    ASSERT_TRUE(from_env.ok()) << from_env.error_text();
    EXPECT_EQ(revealed(from_env.config->credentials.token), "env-token");

    // Without a token: none, and the JSON view says null.
    with_environment();
    auto none = load_string(config_with_files(), "t.yaml", env);
    ASSERT_TRUE(none.ok());
    EXPECT_TRUE(none.config->credentials.token.empty());
    EXPECT_TRUE(to_json(*none.config).at("credentials").at("token").is_null());

    // A token alone, without its pair in the same place, is an error.
    auto alone = load_string(std::string(base) + "credentials:\n  token_file: " + token + "\n",
                             "t.yaml", env);
    ASSERT_FALSE(alone.ok());
    EXPECT_NE(alone.error_text().find("a token belongs to a SecretId/SecretKey pair"),
              std::string::npos)
        << alone.error_text();
}

TEST_F(Sources, half_a_pair_is_an_error_not_a_fallthrough) {
    with_environment();
    dir.write("creds/secret_id", "dir-id");
    env.set("CREDENTIALS_DIRECTORY", (dir.path() / "creds").string());
    auto r = load_string(base, "t.yaml", env);
    ASSERT_FALSE(r.ok());
    ASSERT_EQ(r.errors.size(), 1u) << r.error_text();
    EXPECT_EQ(r.errors[0].to_string(),
              fmt::format("t.yaml:1:1: credentials: $CREDENTIALS_DIRECTORY: cannot read "
                          "{}/creds/secret_key: No such file or directory",
                          dir.path().string()));

    map_environment half;
    half.set("TASKPOLLER_SECRET_ID", "env-id");
    auto r2 = load_string(base, "t.yaml", half);
    EXPECT_TRUE(has_error(r2,
                          "t.yaml:1:1: credentials: environment: TASKPOLLER_SECRET_KEY is unset or "
                          "empty while the other half of the pair is set"))
        << r2.error_text();

    auto r3 = load_string(fmt::format("{}credentials:\n  secret_id: abc\n", base), "t.yaml", env);
    EXPECT_TRUE(has_error(r3,
                          "t.yaml:3:3: credentials: secret_key_file (or secret_key) is required "
                          "when the other half of the pair is configured"))
        << r3.error_text();
}

TEST_F(Sources, missing_credentials_is_an_error_unless_allowed) {
    auto r =
        load_string("logging: {}\ncredentials:\n  signature_method: HmacSHA1\n" + std::string(base),
                    "t.yaml", env);
    ASSERT_FALSE(r.ok());
    ASSERT_EQ(r.errors.size(), 1u) << r.error_text();
    EXPECT_EQ(r.errors[0].line, 3);
    EXPECT_EQ(r.errors[0].column, 3);
    EXPECT_EQ(r.errors[0].path, "credentials");
    EXPECT_EQ(r.errors[0].message.rfind("no credentials found", 0), 0u);

    load_options lenient;
    lenient.allow_missing_credentials = true;
    auto r2 = load_string(base, "t.yaml", env, lenient);
    ASSERT_TRUE(r2.ok()) << r2.error_text();
    EXPECT_EQ(r2.config->credentials.source, credential_source::none);
    ASSERT_EQ(r2.warnings.size(), 1u);
    EXPECT_EQ(r2.warnings[0].level, severity::warning);
    EXPECT_EQ(r2.warnings[0].message.rfind("no credentials found", 0), 0u);
}

TEST_F(Sources, unreadable_secret_files) {
    const auto key = dir.write("cfg/secret_key", "file-key\n");
    auto r =
        load_string(fmt::format("{}credentials:\n  secret_id_file: {}\n  secret_key_file: {}\n",
                                base, (dir.path() / "nope").string(), dir.path().string()),
                    "t.yaml", env);
    ASSERT_FALSE(r.ok());
    EXPECT_TRUE(
        has_error(r, fmt::format("t.yaml:3:19: credentials.secret_id_file: cannot read {}/nope: "
                                 "No such file or directory",
                                 dir.path().string())))
        << r.error_text();
    EXPECT_TRUE(
        has_error(r, fmt::format("t.yaml:4:20: credentials.secret_key_file: cannot read {}: not "
                                 "a readable regular file",
                                 dir.path().string())))
        << r.error_text();
    if (::geteuid() != 0) {  // root reads mode-000 files, so this part needs an ordinary user
        ::chmod(key.c_str(), 0);
        auto r2 = load_string(
            fmt::format("{}credentials: {{secret_id: x, secret_key_file: {}}}\n", base, key),
            "t.yaml", env);
        EXPECT_NE(r2.error_text().find("Permission denied"), std::string::npos) << r2.error_text();
    }
}

TEST_F(Sources, malformed_secret_files_are_reported_without_their_contents) {
    const auto empty = dir.write("empty", "\n\n");
    const auto two = dir.write("two", "line-one-SECRET\nline-two-SECRET\n");
    const auto big = dir.write("big", std::string(5000, 'Z'));
    auto r =
        load_string(fmt::format("{}credentials:\n  secret_id_file: {}\n  secret_key_file: {}\n",
                                base, empty, two),
                    "t.yaml", env);
    EXPECT_TRUE(
        has_error(r, fmt::format("t.yaml:3:19: credentials.secret_id_file: {} is empty", empty)))
        << r.error_text();
    EXPECT_TRUE(
        has_error(r, fmt::format("t.yaml:4:20: credentials.secret_key_file: {} must hold the "
                                 "secret alone, on one line",
                                 two)))
        << r.error_text();
    expect_no_leak(r, {"line-one-SECRET", "line-two-SECRET"});
    auto r2 = load_string(
        fmt::format("{}credentials: {{secret_id: x, secret_key_file: {}}}\n", base, big), "t.yaml",
        env);
    EXPECT_NE(r2.error_text().find("too large to hold a secret"), std::string::npos)
        << r2.error_text();
    expect_no_leak(r2, {std::string(100, 'Z')});
}

TEST_F(Sources, world_readable_secret_file_is_warned_about) {
    const auto id = dir.write("id", "the-id", 0644);
    const auto key = dir.write("key", "the-key", 0644);
    auto r = load_string(
        fmt::format("{}credentials: {{secret_id_file: {}, secret_key_file: {}}}\n", base, id, key),
        "t.yaml", env);
    ASSERT_TRUE(r.ok()) << r.error_text();
    int readable = 0;
    for (const auto& w : r.warnings) {
        if (w.message.find("readable by every user") != std::string::npos) ++readable;
    }
    EXPECT_EQ(readable, 2);
}

TEST_F(Sources, file_and_inline_for_the_same_secret_is_an_error) {
    const auto key = dir.write("key", "the-key");
    auto r = load_string(
        fmt::format("{}credentials:\n  secret_id: i\n  secret_key: k\n  secret_key_file: {}\n",
                    base, key),
        "t.yaml", env);
    EXPECT_TRUE(
        has_error(r,
                  "t.yaml:4:3: credentials.secret_key: set either secret_key or secret_key_file, "
                  "not both"))
        << r.error_text();
}

TEST_F(Sources, inline_secrets_are_warned_and_louder_in_a_readable_file) {
    const std::string text =
        std::string(base) + "credentials:\n  secret_id: AKIDinline\n  secret_key: InlineKeyValue\n";
    const auto private_file = dir.write("private.yaml", text, 0600);
    auto r = load_file(private_file, env);
    ASSERT_TRUE(r.ok()) << r.error_text();
    EXPECT_EQ(r.config->credentials.source, credential_source::config_file);
    EXPECT_EQ(revealed(r.config->credentials.secret_key), "InlineKeyValue");
    std::vector<std::pair<severity, std::string>> got;
    for (const auto& w : r.warnings) got.emplace_back(w.level, w.path);
    std::sort(got.begin(), got.end());
    EXPECT_EQ(got, (std::vector<std::pair<severity, std::string>>{
                       {severity::info, "credentials"},
                       {severity::warning, "credentials.secret_id"},
                       {severity::warning, "credentials.secret_key"}}));

    const auto shared_file = dir.write("shared.yaml", text, 0644);
    auto r2 = load_file(shared_file, env);
    ASSERT_TRUE(r2.ok()) << r2.error_text();
    int critical = 0;
    for (const auto& w : r2.warnings) {
        if (w.level == severity::critical) {
            ++critical;
            EXPECT_NE(w.message.find("mode 0644"), std::string::npos) << w.message;
        }
    }
    EXPECT_EQ(critical, 2);
    expect_no_leak(r2, {"AKIDinline", "InlineKeyValue"});

    const auto group_file = dir.write("group.yaml", text, 0640);
    auto r3 = load_file(group_file, env);
    EXPECT_TRUE(std::any_of(r3.warnings.begin(), r3.warnings.end(),
                            [](const diagnostic& d) { return d.level == severity::critical; }));
}

TEST_F(Sources, secrets_never_appear_in_errors_or_json) {
    const std::string id = "AKIDneverPrintMe";
    const std::string key = "KeyNeverPrintMe";
    // A secret written as a key, a secret of the wrong type, and unrelated errors.
    auto r =
        load_string(fmt::format("cloud: {{region: gz}}\ncredentials:\n  {}: {}\n  secret_id: [{}]\n"
                                "  secret_key: {{k: {}}}\npolling: {{jitter: bad}}\n",
                                id, key, id, key),
                    "t.yaml", env);
    ASSERT_FALSE(r.ok());
    EXPECT_TRUE(
        has_error(r,
                  "t.yaml:3:3: credentials: unknown key (its name is not shown: this section "
                  "holds secrets)"))
        << r.error_text();
    EXPECT_TRUE(
        has_error(r, "t.yaml:4:14: credentials.secret_id: expected a string, got a sequence"))
        << r.error_text();
    expect_no_leak(r, {id, key});

    with_environment();
    env.set("TASKPOLLER_SECRET_ID", id);
    env.set("TASKPOLLER_SECRET_KEY", key);
    auto ok = load_string(base, "t.yaml", env);
    ASSERT_TRUE(ok.ok()) << ok.error_text();
    expect_no_leak(ok, {id, key});
    const auto j = to_json(*ok.config).as_object().at("credentials").as_object();
    EXPECT_EQ(j.at("secret_id"), "<redacted>");
    EXPECT_EQ(j.at("secret_key"), "<redacted>");
    EXPECT_EQ(j.at("source"), "environment");
}

TEST(SecretString, wipes_and_compares) {
    secret_string a("abc");
    secret_string b("abc");
    secret_string c("abd");
    EXPECT_TRUE(a == b);
    EXPECT_FALSE(a == c);
    EXPECT_FALSE(a == secret_string("ab"));
    secret_string moved(std::move(a));
    EXPECT_EQ(moved.reveal_for_signing(), "abc");
    EXPECT_TRUE(a.empty());  // NOLINT(bugprone-use-after-move): the wipe is the point
    b = std::move(c);
    EXPECT_EQ(b.reveal_for_signing(), "abd");
    EXPECT_TRUE(c.empty());  // NOLINT(bugprone-use-after-move)
}

}  // namespace
}  // namespace taskpoller::config
