// No diagnostic shows a value from the credentials section or the credentials files, however
// the value reached the message (issue 16: a secret as a top-level key, or through an alias).
#include <gtest/gtest.h>

#include "config/loader.hpp"
#include "helpers.hpp"

namespace taskpoller::config {
namespace {

using test::env_with_secrets;
using test::temp_dir;

constexpr const char* secret = "Zq8SuperSecretKeyValue0042xyz";

// Every message, warning and info line of a load, joined.
std::string all_messages(const load_result& r) {
    std::string out;
    for (const auto& d : r.errors) out += d.to_string() + "\n";
    for (const auto& d : r.warnings) out += d.to_string() + "\n";
    return out;
}

TEST(SecretLeak, SecretAsAnUnknownTopLevelKeyOrItsValueIsNotEchoed) {
    auto env = env_with_secrets();
    env.set("TASKPOLLER_SECRET_KEY", secret);  // the first case takes the secret from here
    // The secret pasted at the top level: as a key, and as the value of unknown keys.
    for (const std::string& text :
         {std::string("cloud: {region: gz}\n") + secret + ": 1\n",
          std::string("cloud: {region: gz}\ncredentials:\n  secret_id: AKIDpublicish0001\n"
                      "  secret_key: ") +
              secret + "\n" + secret + ": x\n",
          std::string("cloud: {region: gz}\ncredentials:\n  secret_id: AKIDpublicish0001\n"
                      "  secret_key: ") +
              secret + "\nsecret_key: " + secret + "\nlogging: {level: " + secret + "}\n"}) {
        auto r = load_string(text, "t.yaml", env);
        ASSERT_FALSE(r.ok()) << text;
        const auto messages = all_messages(r);
        EXPECT_EQ(messages.find(secret), std::string::npos) << messages;
        EXPECT_NE(messages.find("t.yaml:"), std::string::npos) << messages;  // still reported
    }
}

TEST(SecretLeak, SecretReusedThroughAnAliasIsNotEchoed) {
    auto env = env_with_secrets();
    const std::string text = std::string(
                                 "credentials:\n  secret_id: AKIDpublicish0001\n"
                                 "  secret_key: &k ") +
                             secret +
                             "\ncloud:\n  region: gz\n  scheme: *k\n"
                             "polling:\n  interval: *k\nstore:\n  journal: *k\n";
    auto r = load_string(text, "t.yaml", env);
    ASSERT_FALSE(r.ok());
    const auto messages = all_messages(r);
    EXPECT_EQ(messages.find(secret), std::string::npos) << messages;
    EXPECT_NE(messages.find("cloud.scheme: invalid value \"<redacted>\""), std::string::npos)
        << messages;
}

TEST(SecretLeak, SecretsFromFilesAreNotEchoedEither) {
    temp_dir dir;
    map_environment env;
    const auto id = dir.write("secret_id", "AKIDfromfile0001\n");
    const auto key = dir.write("secret_key", std::string(secret) + "\n");
    const std::string text = "cloud: {region: gz}\ncredentials:\n  secret_id_file: " + id +
                             "\n  secret_key_file: " + key + "\nlogging: {format: " + secret +
                             "}\n";
    auto r = load_string(text, "t.yaml", env);
    ASSERT_FALSE(r.ok());
    const auto messages = all_messages(r);
    EXPECT_EQ(messages.find(secret), std::string::npos) << messages;
    EXPECT_NE(messages.find(key), std::string::npos) << messages;  // file names stay visible
}

}  // namespace
}  // namespace taskpoller::config
