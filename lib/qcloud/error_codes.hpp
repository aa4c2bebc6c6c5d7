#pragma once
// API 2.0 error codes and what a client does with each (docs/protocol.md "Error codes").

#include <string_view>

namespace taskpoller::qcloud {

namespace code {
inline constexpr int success = 0;
inline constexpr int invalid_parameter = 4000;
inline constexpr int auth_failure = 4100;
inline constexpr int secret_id_not_found = 4104;
inline constexpr int token_error = 4105;
inline constexpr int request_expired = 4200;
inline constexpr int access_denied = 4300;
inline constexpr int throttled = 4400;
inline constexpr int replay = 4500;
inline constexpr int protocol_not_supported = 4600;
inline constexpr int resource_not_found = 5000;
inline constexpr int operation_failed = 5100;  ///< also "every resource failed" in a batch
inline constexpr int partial_success = 5400;   ///< batch: some resources failed
inline constexpr int internal_error = 6000;
inline constexpr int api_unavailable = 6100;
inline constexpr int temporarily_unavailable = 6200;
/// Not a cloud code: the response carried a non-numeric code we do not recognise.
inline constexpr int unrecognised = -1;
}  // namespace code

enum class error_class {
    success,        ///< 0
    partial,        ///< 5400: per-resource outcome in `detail`
    final,          ///< do not retry
    throttled,      ///< 4400: retry with backoff and slow the action down
    retry_backoff,  ///< 6000, 6200: retry with backoff
    resign_once,    ///< 4200, 4500: re-sign with a fresh Timestamp/Nonce and retry once
};

/// The class of a numeric code. Unknown codes are final.
error_class classify(int code) noexcept;

/// Whether a codeDesc (or a string `code`) names throttling, e.g.
/// "InvalidRequest.RequestConcurrencyExceeded" or "InvalidRequest.LimitExceeded".
bool is_throttle_desc(std::string_view code_desc) noexcept;

/// A short English meaning of a code ("invalid parameter"), or "unknown error code".
std::string_view describe(int code) noexcept;

/// "final", "throttled", ...
std::string_view to_string(error_class c) noexcept;

}  // namespace taskpoller::qcloud
