// A submission recorded as an intent (engine/intents.hpp) comes back on the leader exactly: the
// same fields, and the same content fingerprint (the client_token check compares it).
#include "engine/intents.hpp"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

#include "engine/submission_rules.hpp"
#include "engine/tracker.hpp"
#include "qcloud/params.hpp"

namespace taskpoller::engine {
namespace {

submission sample() {
    submission s;
    s.service = "lb";
    s.action = "RegisterInstancesWithLoadBalancer";
    s.region = "ap-guangzhou";
    s.params = boost::json::parse(
                   R"({"loadBalancerId":"lb-1","backends":[{"instanceId":"ins-1","weight":10},)"
                   R"({"instanceId":"ins-2","weight":2.5}],"flag":true,"note":"a \"quoted\" é"})")
                   .as_object();
    s.client_token = "tok-1";
    s.labels = {{"team", "a"}, {"env", "prod"}};
    s.timeout = std::chrono::milliseconds(90'000);
    s.poll.interval = std::chrono::milliseconds(2'000);
    s.poll.max_interval = std::chrono::milliseconds(8'000);
    return s;
}

std::string fp(const submission& s) {
    auto flat = qcloud::flatten_params(s.params);
    EXPECT_TRUE(flat);
    return fingerprint(s.service, s.action, s.region, *flat);
}

TEST(Intents, ASubmissionRoundTripsWithItsFingerprint) {
    auto s = sample();
    auto back = submission_from_json(submission_to_json(s));
    ASSERT_TRUE(back) << back.error().message;
    EXPECT_EQ(back->service, s.service);
    EXPECT_EQ(back->action, s.action);
    EXPECT_EQ(back->region, s.region);
    EXPECT_EQ(back->params, s.params);
    EXPECT_EQ(back->client_token, s.client_token);
    EXPECT_EQ(back->labels, s.labels);
    EXPECT_EQ(back->timeout, s.timeout);
    EXPECT_EQ(back->poll, s.poll);
    EXPECT_EQ(fp(*back), fp(s));
}

TEST(Intents, AMalformedRequestIsRefused) {
    EXPECT_FALSE(submission_from_json("not json"));
    EXPECT_FALSE(submission_from_json("[1]"));
    EXPECT_FALSE(submission_from_json(R"({"service":"lb"})"));  // no action, no token
}

}  // namespace
}  // namespace taskpoller::engine
