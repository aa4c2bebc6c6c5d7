#include "qcloud/error_codes.hpp"

namespace taskpoller::qcloud {

error_class classify(int c) noexcept {
    switch (c) {
        case code::success:
            return error_class::success;
        case code::partial_success:
            return error_class::partial;
        case code::throttled:
            return error_class::throttled;
        case code::internal_error:
        case code::temporarily_unavailable:
            return error_class::retry_backoff;
        case code::request_expired:
        case code::replay:
            return error_class::resign_once;
        default:
            return error_class::final;
    }
}

bool is_throttle_desc(std::string_view d) noexcept {
    return d.find("RequestConcurrencyExceeded") != std::string_view::npos ||
           d.find("LimitExceeded") != std::string_view::npos ||
           d.find("RequestLimitExceeded") != std::string_view::npos;
}

std::string_view describe(int c) noexcept {
    switch (c) {
        case 0:
            return "success";
        case 4000:
            return "invalid parameter";
        case 4100:
            return "authentication failed (signature mismatch)";
        case 4101:
            return "account not authorised for this API";
        case 4102:
            return "account not authorised for this resource";
        case 4103:
            return "API not authorised for this account";
        case 4104:
            return "SecretId not found";
        case 4105:
            return "temporary credential token error";
        case 4106:
            return "MFA check failed";
        case 4110:
            return "authorisation failure";
        case 4200:
            return "request expired";
        case 4300:
            return "access denied";
        case 4400:
            return "too many requests (throttled)";
        case 4500:
            return "replayed request (Nonce reused or Timestamp out of window)";
        case 4600:
            return "protocol not supported (HTTPS required)";
        case 5000:
            return "resource does not exist";
        case 5100:
            return "resource operation failed";
        case 5200:
            return "purchase failed";
        case 5300:
            return "purchase failed: insufficient balance";
        case 5400:
            return "partial success";
        case 5500:
            return "purchase failed: resource sold out";
        case 6000:
            return "internal server error";
        case 6100:
            return "API or version not available";
        case 6200:
            return "API temporarily unavailable";
        default:
            return "unknown error code";
    }
}

std::string_view to_string(error_class c) noexcept {
    switch (c) {
        case error_class::success:
            return "success";
        case error_class::partial:
            return "partial";
        case error_class::final:
            return "final";
        case error_class::throttled:
            return "throttled";
        case error_class::retry_backoff:
            return "retry_backoff";
        case error_class::resign_once:
            return "resign_once";
    }
    return "final";
}

}  // namespace taskpoller::qcloud
