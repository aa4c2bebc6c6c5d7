#pragma once
// API 3.0 error codes and what a client does with each (docs/protocol.md "API 3.0: error
// codes"). Codes are strings ("AuthFailure.SignatureExpire"); the class is decided by the code
// alone, never by the message. Pure.

#include <string_view>

namespace taskpoller::qcloud::v3 {

enum class error_class {
    throttled,        ///< RequestLimitExceeded(.*): not executed; slow down, send again
    retry,            ///< contention (ResourceInUse, ResourceBusy, ResourceInOperating,
                      ///< InstanceOperationInProgress...): not executed; send again later
    resign,           ///< AuthFailure.SignatureExpire: re-sign with a fresh timestamp, once
    refresh_token,    ///< AuthFailure.TokenFailure: re-read temporary credentials, then send
    account,          ///< other AuthFailure.*, UnauthorizedOperation, routing/version errors:
                      ///< every call would fail alike; not executed
    permanent,        ///< bad request, quota, generic FailedOperation/UnsupportedOperation:
                      ///< not executed, never sent again
    precondition,     ///< wrong state or absent resource (UnsupportedOperation.InstanceState*,
                      ///< *.NotFound, ResourceNotFound*): not executed; describe to learn more
    outcome_unknown,  ///< InternalError*, InternalServerError, ServiceUnavailable: a mutation
                      ///< may have run; never sent again blindly (a describe may retry)
    dry_run,          ///< DryRunOperation: the dry run passed
};

/// The class of `code`. Unknown codes are `outcome_unknown` for safety (a mutation answered by
/// an unknown code is never sent again).
error_class classify(std::string_view code) noexcept;

/// "throttled", "retry", ...
std::string_view to_string(error_class c) noexcept;

}  // namespace taskpoller::qcloud::v3
