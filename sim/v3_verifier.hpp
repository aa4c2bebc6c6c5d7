#pragma once
// Authentication of an API 3.0 request (TC3-HMAC-SHA256, docs/simulator.md "API 3.0"): the
// Authorization header, SecretId lookup, credential scope, signature over exactly the headers
// named in SignedHeaders, and the timestamp window. Uses lib/qcloud/tc3.hpp; I/O-free.

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>

#include "sim/config.hpp"
#include "sim/v3.hpp"

namespace taskpoller::sim::v3 {

class verifier {
  public:
    /// Copies the accounts and the timestamp window from `cfg`.
    explicit verifier(const config& cfg);

    /// Checks, in order: Authorization parses (AuthFailure.InvalidAuthorization), SecretId known
    /// (AuthFailure.SecretIdNotFound), scope date = utc_date(timestamp), scope service = host's
    /// service, SignedHeaders has content-type and host and names only headers present, then the
    /// signature (each AuthFailure.SignatureFailure; constant-time compare), then unless replay
    /// checks are off |timestamp - now| <= window (AuthFailure.SignatureExpire). `host` is the
    /// Host header as received (a port is dropped); `body` the raw payload.
    std::optional<error> verify(std::span<const header_field> headers, std::string_view host,
                                std::string_view body, std::int64_t timestamp,
                                std::int64_t now_s) const;

  private:
    std::unordered_map<std::string, std::string> keys_;  // SecretId -> SecretKey
    bool expiry_check_;
    std::int64_t window_s_;
};

}  // namespace taskpoller::sim::v3
