#pragma once
// API 2.0 request signing (docs/protocol.md "Signature"): canonical string, HMAC-SHA1/SHA256,
// base64.

#include <cstddef>
#include <span>
#include <string>
#include <string_view>

#include "qcloud/params.hpp"

namespace taskpoller::qcloud {

enum class signature_method { hmac_sha1, hmac_sha256 };

/// "HmacSHA1" or "HmacSHA256", as sent in the SignatureMethod parameter.
std::string_view to_string(signature_method m) noexcept;

/// What a server does with the SignatureMethod parameter: exactly "HmacSHA256" selects
/// SHA-256; anything else, or no parameter (nullptr), selects SHA-1.
signature_method signature_method_from_param(const std::string* value) noexcept;

/// A SecretId/SecretKey pair (and optional temporary-credential Token). The key is never
/// printed: this type has no operator<< and no fmt formatter, and the accessor that exposes it
/// is named for its only legitimate use.
class credentials {
  public:
    credentials(std::string secret_id, std::string secret_key, std::string token = {});

    const std::string& secret_id() const noexcept { return secret_id_; }
    const std::string& token() const noexcept { return token_; }
    /// The SecretKey, for computing an HMAC. Never log or return it to a client.
    std::string_view secret_key_for_signing() const noexcept { return secret_key_; }

  private:
    std::string secret_id_;
    std::string secret_key_;
    std::string token_;
};

/// The path every API 2.0 request addresses.
inline constexpr std::string_view api_path = "/v2/index.php";

/// The string to sign: METHOD + host + path + "?" + the parameters (every one but `Signature`)
/// with `_` replaced by `.` in names, sorted byte-wise by name, joined as raw `name=value` with
/// `&`. `method` is upper-cased.
std::string canonical_string(std::string_view method, std::string_view host, std::string_view path,
                             const param_list& params);

/// base64(HMAC(key, string_to_sign)), the value of the Signature parameter.
std::string compute_signature(std::string_view secret_key, signature_method m,
                              std::string_view string_to_sign);

/// A parameter by reference, for building a request without copying its strings.
struct param_view {
    std::string_view name;
    std::string_view value;
};

/// canonical_string() appended to `out`. Sorts `params` in place (stably, by rewritten name).
void append_canonical_string(std::string& out, std::string_view method, std::string_view host,
                             std::string_view path, std::span<param_view> params);

/// The longest signature compute_signature can return: base64 of a SHA-256 HMAC.
inline constexpr std::size_t max_signature_size = 44;

/// compute_signature() written to `out` (at least max_signature_size bytes); returns its length.
std::size_t compute_signature_into(char* out, std::string_view secret_key, signature_method m,
                                   std::string_view string_to_sign);

/// Compares two signatures in time that depends only on their lengths.
bool constant_time_equal(std::string_view a, std::string_view b) noexcept;

}  // namespace taskpoller::qcloud
