#pragma once
// Builds a signed API 2.0 request (docs/protocol.md "Requests", "Signature"). Pure: time and
// randomness are injected.

#include <cstdint>
#include <functional>
#include <span>
#include <string>

#include "core/result.hpp"
#include "qcloud/params.hpp"
#include "qcloud/signer.hpp"

namespace taskpoller::qcloud {

enum class http_method { get, post };

/// "GET" or "POST".
std::string_view to_string(http_method m) noexcept;

struct request_spec {
    std::string host;  ///< e.g. "cvm.api.qcloud.com": the Host header and the signed host
    http_method method = http_method::post;
    std::string action;  ///< e.g. "StopInstances"
    std::string region;  ///< e.g. "ap-guangzhou"; empty sends no Region parameter
    param_list params;   ///< action parameters; common parameter names are refused
    signature_method signature = signature_method::hmac_sha256;
};

/// request_spec by reference: what build_request reads, without copies of the caller's strings.
struct request_view {
    std::string_view host;
    http_method method = http_method::post;
    std::string_view action;
    std::string_view region;
    std::span<const param_view> params;
    signature_method signature = signature_method::hmac_sha256;
};

struct signed_request {
    http_method method = http_method::post;
    std::string host;
    std::string target;  ///< "/v2/index.php" (POST) or "/v2/index.php?<query>" (GET)
    std::string body;    ///< form-encoded parameters for POST; empty for GET
    std::int64_t timestamp = 0;
    std::uint64_t nonce = 0;
};

/// Unix time in seconds.
using clock_fn = std::function<std::int64_t()>;
/// A random positive integer, fresh each call.
using nonce_fn = std::function<std::uint64_t()>;

/// A nonce source over [1, 2^31-1] seeded from std::random_device (not thread-safe: one per
/// thread).
nonce_fn random_nonce_source();

/// The system clock as unix seconds.
std::int64_t system_unix_seconds();

/// Whether `name` is an API 2.0 common parameter that build_request sets itself (Action, Region,
/// Timestamp, Nonce, SecretId, Signature, SignatureMethod, Token); exact, case-sensitive match.
bool is_common_name(std::string_view name) noexcept;

/// Adds the common parameters (Action, Region, Timestamp, Nonce, SecretId, SignatureMethod,
/// Token when set), signs, and encodes. Each call takes a fresh timestamp and nonce, so a retry
/// is a new request. Fails if an action parameter uses a common parameter's name, if the host or
/// action is empty, or if the nonce source returns 0.
core::result<signed_request> build_request(const credentials& creds, const request_spec& spec,
                                           const clock_fn& clock, const nonce_fn& nonce);

/// The same from a request_view.
core::result<signed_request> build_request(const credentials& creds, const request_view& spec,
                                           const clock_fn& clock, const nonce_fn& nonce);

}  // namespace taskpoller::qcloud
