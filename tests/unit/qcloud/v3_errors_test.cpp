// API 3.0 error classes (docs/protocol.md "API 3.0: error codes"): every code of the table, the
// carve-outs that must win over a broader prefix, and the dot boundary of every prefix.
#include "qcloud/v3_errors.hpp"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

namespace v3 = taskpoller::qcloud::v3;
using v3::error_class;

namespace {

struct row {
    std::string_view code;
    error_class expected;
};

void expect_all(const std::vector<row>& rows) {
    for (const auto& [code, expected] : rows) {
        EXPECT_EQ(v3::to_string(v3::classify(code)), v3::to_string(expected)) << code;
    }
}

}  // namespace

TEST(V3Errors, throttled) {
    expect_all({{"RequestLimitExceeded", error_class::throttled},
                {"RequestLimitExceeded.UinLimitExceeded", error_class::throttled},
                {"RequestLimitExceeded.GlobalRegionUinLimitExceeded", error_class::throttled},
                {"RequestLimitExceeded.IPLimitExceeded", error_class::throttled}});
}

TEST(V3Errors, signature_expiry_and_token_failure) {
    expect_all({{"AuthFailure.SignatureExpire", error_class::resign},
                {"AuthFailure.TokenFailure", error_class::refresh_token}});
}

TEST(V3Errors, account) {
    expect_all({{"AuthFailure.SignatureFailure", error_class::account},
                {"AuthFailure.InvalidAuthorization", error_class::account},
                {"AuthFailure.SecretIdNotFound", error_class::account},
                {"AuthFailure.InvalidSecretId", error_class::account},
                {"AuthFailure.MFAFailure", error_class::account},
                {"AuthFailure.UnauthorizedOperation", error_class::account},
                {"AuthFailure", error_class::account},
                {"UnauthorizedOperation", error_class::account},
                {"UnauthorizedOperation.CamNoAuth", error_class::account},
                {"InvalidAction", error_class::account},
                {"NoSuchVersion", error_class::account},
                {"NoSuchProduct", error_class::account},
                {"ActionOffline", error_class::account},
                {"UnsupportedProtocol", error_class::account},
                {"UnsupportedRegion", error_class::account}});
}

TEST(V3Errors, permanent) {
    expect_all({{"InvalidParameter", error_class::permanent},
                {"InvalidParameter.Format", error_class::permanent},
                {"InvalidParameterValue", error_class::permanent},
                {"InvalidParameterValue.InstanceIdMalformed", error_class::permanent},
                {"MissingParameter", error_class::permanent},
                {"UnknownParameter", error_class::permanent},
                {"InvalidParameterCombination", error_class::permanent},
                {"InvalidRequest", error_class::permanent},
                {"RequestSizeLimitExceeded", error_class::permanent},
                {"ResponseSizeLimitExceeded", error_class::permanent},
                {"LimitExceeded", error_class::permanent},
                {"LimitExceeded.InstanceQuota", error_class::permanent},
                {"UnsupportedOperation", error_class::permanent},
                {"UnsupportedOperation.IdempotentParameterMismatch", error_class::permanent},
                {"FailedOperation", error_class::permanent},
                {"FailedOperation.InsufficientBalance", error_class::permanent}});
}

TEST(V3Errors, precondition) {
    expect_all({{"ResourceNotFound", error_class::precondition},
                {"ResourceNotFound.NoInstance", error_class::precondition},
                {"InvalidInstanceId.NotFound", error_class::precondition},
                {"InvalidDiskId.NotFound", error_class::precondition},
                {"InvalidParameter.LBIdNotFound", error_class::precondition},
                {"UnsupportedOperation.InstanceStateStopped", error_class::precondition},
                {"UnsupportedOperation.InstanceStateRunning", error_class::precondition},
                {"UnsupportedOperation.InstanceStateStopping", error_class::precondition},
                {"UnsupportedOperation.InstanceStatePending", error_class::precondition},
                {"UnsupportedOperation.InstanceState", error_class::precondition}});
}

TEST(V3Errors, precondition_wins_over_broader_prefixes) {
    // Each of these is also inside a permanent group (InvalidParameter.*, UnsupportedOperation.*,
    // FailedOperation.*, InvalidParameterValue.*).
    expect_all({{"InvalidParameter.LBIdNotFound", error_class::precondition},
                {"UnsupportedOperation.InstanceStateShutdown", error_class::precondition},
                {"FailedOperation.Something.NotFound", error_class::precondition},
                {"InvalidParameterValue.Zone.NotFound", error_class::precondition}});
}

TEST(V3Errors, retry) {
    expect_all({{"ResourceInUse", error_class::retry},
                {"ResourceInUse.Instance", error_class::retry},
                {"ResourceBusy", error_class::retry},
                {"ResourceUnavailable", error_class::retry},
                {"ResourceUnavailable.InstanceType", error_class::retry},
                {"ResourceUnavailable.Attached", error_class::precondition},  // a state: CBS
                {"ResourceInsufficient", error_class::retry},
                {"FailedOperation.ResourceInOperating", error_class::retry},
                {"OperationDenied.InstanceOperationInProgress", error_class::retry},
                {"MutexOperation.TaskRunning", error_class::retry}});
}

TEST(V3Errors, outcome_unknown) {
    expect_all({{"InternalError", error_class::outcome_unknown},
                {"InternalError.UnknownError", error_class::outcome_unknown},
                {"InternalError.Something.NotFound", error_class::outcome_unknown},
                {"InternalServerError", error_class::outcome_unknown},
                {"ServiceUnavailable", error_class::outcome_unknown}});
}

TEST(V3Errors, dry_run) {
    expect_all({{"DryRunOperation", error_class::dry_run}});
}

TEST(V3Errors, unknown_codes_are_outcome_unknown) {
    expect_all({{"", error_class::outcome_unknown},
                {"SomethingNew", error_class::outcome_unknown},
                {"OperationDenied", error_class::outcome_unknown},
                {"OperationDenied.Other", error_class::outcome_unknown},
                {"MutexOperation.Other", error_class::outcome_unknown},
                {"requestlimitexceeded", error_class::outcome_unknown},  // codes are case-sensitive
                {"DryRunOperation.Extra", error_class::outcome_unknown},
                {".NotFound", error_class::outcome_unknown}});
}

TEST(V3Errors, prefixes_respect_the_dot_boundary) {
    expect_all({{"ResourceInUseX", error_class::outcome_unknown},
                {"ResourceInUseByOther", error_class::outcome_unknown},
                {"ResourceInUse_Instance", error_class::outcome_unknown},
                {"ResourceUnavailableSoon", error_class::outcome_unknown},
                {"ResourceNotFoundHere", error_class::outcome_unknown},
                {"RequestLimitExceededBy", error_class::outcome_unknown},
                {"InternalErrorCode", error_class::outcome_unknown},
                {"LimitExceededQuota.X", error_class::outcome_unknown},
                {"InvalidParameterValueX.Y", error_class::outcome_unknown},
                {"FailedOperationX.Y", error_class::outcome_unknown},
                {"ResourceInUse.", error_class::outcome_unknown},
                {"ResourceUnavailableX", error_class::outcome_unknown},
                {"ResourceNotFoundX", error_class::outcome_unknown},
                {"RequestLimitExceededX", error_class::outcome_unknown},
                {"RequestLimitExceeded.", error_class::outcome_unknown},
                {"InternalErrorX", error_class::outcome_unknown},
                {"AuthFailureX", error_class::outcome_unknown},
                {"UnauthorizedOperationX", error_class::outcome_unknown},
                {"LimitExceededX", error_class::outcome_unknown},
                {"FailedOperationX", error_class::outcome_unknown},
                {"UnsupportedOperationX", error_class::outcome_unknown},
                {"InvalidParameterX", error_class::outcome_unknown},
                {"InvalidInstanceIdNotFound", error_class::outcome_unknown},
                // The exact codes are not groups: a sub-code is unknown, not their class.
                {"ResourceBusy.X", error_class::outcome_unknown},
                {"InvalidRequest.LimitExceeded", error_class::outcome_unknown},
                {"MissingParameter.X", error_class::outcome_unknown},
                {"InvalidAction.X", error_class::outcome_unknown},
                {"AuthFailure.SignatureExpired", error_class::account},
                {"FailedOperation.ResourceInOperatingX", error_class::permanent}});
}

TEST(V3Errors, names) {
    const std::vector<std::pair<error_class, std::string_view>> names = {
        {error_class::throttled, "throttled"},
        {error_class::retry, "retry"},
        {error_class::resign, "resign"},
        {error_class::refresh_token, "refresh_token"},
        {error_class::account, "account"},
        {error_class::permanent, "permanent"},
        {error_class::precondition, "precondition"},
        {error_class::outcome_unknown, "outcome_unknown"},
        {error_class::dry_run, "dry_run"}};
    for (const auto& [c, name] : names) {
        EXPECT_EQ(v3::to_string(c), name);
    }
}
