#include "qcloud/v3_errors.hpp"

#include <algorithm>
#include <array>

namespace taskpoller::qcloud::v3 {
namespace {

// `code` is `group` or one of its sub-codes ("group.X"): the dot boundary matters, so
// "ResourceInUseX" is not in "ResourceInUse".
bool in_group(std::string_view code, std::string_view group) noexcept {
    if (code == group) return true;
    return code.size() > group.size() + 1 && code.starts_with(group) && code[group.size()] == '.';
}

template <std::size_t N>
bool any_of(std::string_view code, const std::array<std::string_view, N>& codes,
            bool (*match)(std::string_view, std::string_view) noexcept) noexcept {
    return std::any_of(codes.begin(), codes.end(),
                       [&](std::string_view c) { return match(code, c); });
}

bool exactly(std::string_view code, std::string_view c) noexcept {
    return code == c;
}

// Server-side failures: a mutation may have run. Checked before every other rule, so that no
// sub-code of these ("InternalError.X.NotFound") reads as "not executed".
constexpr std::array<std::string_view, 1> unknown_groups = {"InternalError"};
constexpr std::array<std::string_view, 2> unknown_codes = {"InternalServerError",
                                                           "ServiceUnavailable"};

// Every call would fail alike: credentials, permissions, routing, version.
constexpr std::array<std::string_view, 2> account_groups = {"AuthFailure", "UnauthorizedOperation"};
constexpr std::array<std::string_view, 6> account_codes = {
    "InvalidAction", "NoSuchVersion",       "NoSuchProduct",
    "ActionOffline", "UnsupportedProtocol", "UnsupportedRegion"};

// Contention: another task holds the resource; not executed.
constexpr std::array<std::string_view, 2> retry_groups = {"ResourceInUse", "ResourceUnavailable"};
constexpr std::array<std::string_view, 5> retry_codes = {
    "ResourceBusy", "ResourceInsufficient", "FailedOperation.ResourceInOperating",
    "OperationDenied.InstanceOperationInProgress", "MutexOperation.TaskRunning"};

// Bad request or quota: not executed, never sent again. Checked after precondition and retry,
// which carve exceptions out of these groups.
constexpr std::array<std::string_view, 5> permanent_groups = {
    "InvalidParameter", "InvalidParameterValue", "LimitExceeded", "UnsupportedOperation",
    "FailedOperation"};
constexpr std::array<std::string_view, 6> permanent_codes = {
    "MissingParameter", "UnknownParameter",         "InvalidParameterCombination",
    "InvalidRequest",   "RequestSizeLimitExceeded", "ResponseSizeLimitExceeded"};

bool is_precondition(std::string_view code) noexcept {
    // ResourceUnavailable.Attached (CBS AttachDisks on an attached disk) is a state, not
    // contention: sending it again cannot help.
    return code.starts_with("UnsupportedOperation.InstanceState") ||
           code == "ResourceUnavailable.Attached" || in_group(code, "ResourceNotFound") ||
           code == "InvalidParameter.LBIdNotFound" ||
           (code.ends_with(".NotFound") && code.size() > std::string_view(".NotFound").size());
}

}  // namespace

error_class classify(std::string_view code) noexcept {
    if (code == "DryRunOperation") return error_class::dry_run;
    if (in_group(code, "RequestLimitExceeded")) return error_class::throttled;
    if (any_of(code, unknown_groups, in_group) || any_of(code, unknown_codes, exactly))
        return error_class::outcome_unknown;
    if (code == "AuthFailure.SignatureExpire") return error_class::resign;
    if (code == "AuthFailure.TokenFailure") return error_class::refresh_token;
    if (any_of(code, account_groups, in_group) || any_of(code, account_codes, exactly))
        return error_class::account;
    if (is_precondition(code)) return error_class::precondition;
    if (any_of(code, retry_groups, in_group) || any_of(code, retry_codes, exactly))
        return error_class::retry;
    if (any_of(code, permanent_groups, in_group) || any_of(code, permanent_codes, exactly))
        return error_class::permanent;
    return error_class::outcome_unknown;
}

std::string_view to_string(error_class c) noexcept {
    switch (c) {
        case error_class::throttled:
            return "throttled";
        case error_class::retry:
            return "retry";
        case error_class::resign:
            return "resign";
        case error_class::refresh_token:
            return "refresh_token";
        case error_class::account:
            return "account";
        case error_class::permanent:
            return "permanent";
        case error_class::precondition:
            return "precondition";
        case error_class::outcome_unknown:
            return "outcome_unknown";
        case error_class::dry_run:
            return "dry_run";
    }
    return "outcome_unknown";
}

}  // namespace taskpoller::qcloud::v3
