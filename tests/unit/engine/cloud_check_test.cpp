// What a probe's answer says about the daemon's cloud access (engine/cloud_check.hpp).
#include "engine/cloud_check.hpp"

#include <gtest/gtest.h>

namespace taskpoller::engine {
namespace {

call_failure api(failure_class c, std::string message) {
    return call_failure{call_failure::kind::api, c, "X", std::move(message)};
}

TEST(CloudCheck, an_authenticated_refusal_of_the_made_up_id_is_a_success) {
    auto c = judge_probe("lb", "DescribeLoadBalancersTaskResult",
                         api(failure_class::missing, "code 5000: no such task"));
    EXPECT_EQ(c.result, cloud_check::verdict::ok);
    EXPECT_NE(c.message.find("authenticated"), std::string::npos) << c.message;
    EXPECT_EQ(judge_probe("cvm", "DescribeInstances",
                          api(failure_class::final, "InvalidInstanceId.Malformed"))
                  .result,
              cloud_check::verdict::ok);
    EXPECT_EQ(judge_probe("cvm", "DescribeInstances", std::nullopt).result,
              cloud_check::verdict::ok);
}

TEST(CloudCheck, refused_credentials_and_clock_skew_are_refusals_saying_what_to_check) {
    auto c = judge_probe("cvm", "DescribeInstances",
                         api(failure_class::account, "AuthFailure.SecretIdNotFound: unknown"));
    EXPECT_EQ(c.result, cloud_check::verdict::refused);
    EXPECT_NE(c.message.find("SecretId"), std::string::npos) << c.message;
    c = judge_probe("cvm", "DescribeInstances",
                    api(failure_class::resign, "AuthFailure.SignatureExpire"));
    EXPECT_EQ(c.result, cloud_check::verdict::refused);
    EXPECT_NE(c.message.find("clock"), std::string::npos) << c.message;
}

TEST(CloudCheck, throttling_server_errors_and_transport_failures_decide_nothing) {
    EXPECT_EQ(judge_probe("clb", "DescribeTaskStatus",
                          api(failure_class::throttled, "RequestLimitExceeded"))
                  .result,
              cloud_check::verdict::inconclusive);
    EXPECT_EQ(
        judge_probe("clb", "DescribeTaskStatus", api(failure_class::transient, "InternalError"))
            .result,
        cloud_check::verdict::inconclusive);
    call_failure t{call_failure::kind::transport, failure_class::final, "", "connection refused"};
    EXPECT_EQ(judge_probe("clb", "DescribeTaskStatus", t).result,
              cloud_check::verdict::inconclusive);
    EXPECT_EQ(to_string(cloud_check::verdict::refused), "refused");
}

}  // namespace
}  // namespace taskpoller::engine
