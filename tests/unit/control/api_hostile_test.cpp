// Requests from the hostile test run of issue 16, through the real API routes: each is refused
// (or capped) up front, before anything is journaled or sent.
#include <gtest/gtest.h>

#include "api_fixture.hpp"

namespace taskpoller::control::test {
namespace {

using namespace std::chrono_literals;
using verb = http::verb;

TEST(ApiHostile, ParamNamedLikeACommonParameterIsRefusedBeforeAnythingIsRecorded) {
    api_env env;
    for (const char* name : {"SecretId", "Signature", "Nonce", "Timestamp", "Action", "Region",
                             "SignatureMethod", "Token"}) {
        auto r = call(env.path, verb::post, "/v1/batches",
                      std::string(R"({"service":"lb","action":"DeleteLoadBalancers",)") +
                          R"("params":{"loadBalancerIds":["lb-1"],")" + name + R"(":"x"}})");
        EXPECT_EQ(r.status, 400u) << name << ": " << r.body;
        EXPECT_EQ(error_code_of(r), "invalid_argument") << name;
        EXPECT_NE(error_message_of(r).find(std::string("params.") + name), std::string::npos)
            << r.body;
    }
    EXPECT_EQ(env.on_io([&] { return env.st.batch_count(); }), 0u);  // nothing journaled
}

TEST(ApiHostile, DuplicateKeysInABodyAreRefusedNamingTheKey) {
    api_env env;
    auto r = call(env.path, verb::post, "/v1/batches",
                  R"({"service":"lb","action":"DeleteLoadBalancers",)"
                  R"("params":{"loadBalancerIds":["lb-1"],"loadBalancerIds":["lb-2"]}})");
    EXPECT_EQ(r.status, 400u) << r.body;
    EXPECT_EQ(error_code_of(r), "invalid_json");
    EXPECT_NE(error_message_of(r).find("'params.loadBalancerIds'"), std::string::npos) << r.body;
    auto top = call(env.path, verb::post, "/v1/batches",
                    R"({"service":"cvm","service":"lb","action":"DeleteLoadBalancers",)"
                    R"("params":{"loadBalancerIds":["lb-1"]}})");
    EXPECT_EQ(top.status, 400u) << top.body;
    EXPECT_NE(error_message_of(top).find("'service'"), std::string::npos) << top.body;
    EXPECT_EQ(env.on_io([&] { return env.st.batch_count(); }), 0u);
}

TEST(ApiHostile, HugeWaitIsCappedAtMaxWaitNotRefused) {
    api_env_options o;
    o.max_wait = 300ms;
    api_env env(o);
    auto id = env.add_batch({"r1"});
    for (const char* wait : {"999999h", "99999999999999999999h"}) {
        const auto t0 = std::chrono::steady_clock::now();
        auto r = call(env.path, verb::get, "/v1/batches/" + id + "?wait=" + wait);
        const auto took = std::chrono::steady_clock::now() - t0;
        ASSERT_EQ(r.status, 200u) << wait << ": " << r.body;
        EXPECT_GE(took, 250ms) << wait;
        EXPECT_LT(took, 3s) << wait;
    }
    auto bad = call(env.path, verb::get, "/v1/batches/" + id + "?wait=30s1m");
    EXPECT_EQ(bad.status, 400u);
    EXPECT_NE(error_message_of(bad).find("is not a duration"), std::string::npos) << bad.body;
}

TEST(ApiHostile, DocumentedBmActionsAreAcceptedWithoutConfiguration) {
    api_env env;
    auto r = call(env.path, verb::post, "/v1/batches",
                  R"({"service":"bmlb","action":"DeleteBmLoadBalancers",)"
                  R"("params":{"loadBalancerIds":["lb-bm1"]}})");
    EXPECT_EQ(r.status, 202u) << r.body;  // recorded; the cloud is unreachable in this fixture
    auto adopted = call(env.path, verb::post, "/v1/tasks",
                        R"({"service":"bmeip","request_id":"42","action":"EipBmRelease"})");
    EXPECT_EQ(adopted.status, 201u) << adopted.body;
    EXPECT_EQ(env.on_io([&] { return env.st.batch_count(); }), 1u);
}

}  // namespace
}  // namespace taskpoller::control::test
