// Pure submission checks (engine/submission_rules.hpp).
#include "engine/submission_rules.hpp"

#include <gtest/gtest.h>

namespace taskpoller::engine {
namespace {

TEST(SubmissionRules, ParamsNamedLikeCommonParametersAreRefused) {
    for (const char* name : {"SecretId", "Signature", "Nonce", "Timestamp", "Action", "Region",
                             "SignatureMethod", "Token"}) {
        qcloud::param_list params{{"instanceIds.0", "ins-1"}, {name, "x"}};
        auto r = check_param_names(params);
        ASSERT_FALSE(r) << name;
        EXPECT_EQ(r.error().kind, core::error_kind::invalid);
        EXPECT_NE(r.error().message.find(std::string("params.") + name), std::string::npos)
            << r.error().message;
    }
}

TEST(SubmissionRules, OrdinaryAndNestedParamsPass) {
    qcloud::param_list params{{"instanceIds.0", "ins-1"},
                              {"backends.0.Region", "x"},  // nested: not a common parameter
                              {"region", "x"},             // API 2.0 names are case-sensitive
                              {"TokenId", "x"}};
    EXPECT_TRUE(check_param_names(params));
    EXPECT_TRUE(check_param_names({}));
}

}  // namespace
}  // namespace taskpoller::engine
