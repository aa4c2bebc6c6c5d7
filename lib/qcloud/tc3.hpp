#pragma once
// API 3.0 request signing, TC3-HMAC-SHA256 (docs/protocol.md "API 3.0: signature"). Pure
// functions: the caller passes the exact bytes it sends (payload, Content-Type) and the time it
// signs at; nothing here reads a clock. Used by the daemon (signing) and by taskpoller-sim
// (verification).

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "qcloud/signer.hpp"  // credentials

namespace taskpoller::qcloud::tc3 {

inline constexpr std::string_view algorithm = "TC3-HMAC-SHA256";
/// What the official SDKs sign, and all this client ever signs.
inline constexpr std::string_view default_signed_headers = "content-type;host";

/// The UTC calendar date of a unix timestamp, "YYYY-MM-DD" (never local time). Defined for
/// timestamps from 1970 to 9999.
std::string utc_date(std::int64_t unix_seconds);

/// The signing service of a host: its first label ("cvm" for
/// "cvm.ap-guangzhou.tencentcloudapi.com"); a ":port" suffix is ignored. Empty for an empty host.
std::string_view service_of_host(std::string_view host) noexcept;

/// The host without a ":port" suffix: what is signed.
std::string_view host_without_port(std::string_view host) noexcept;

/// One signed header: `name` lowercase; `value` exactly as sent (it is trimmed of surrounding
/// spaces when canonicalised).
struct header {
    std::string_view name;
    std::string_view value;
};

/// Lowercase hex SHA-256 of `bytes` (64 characters).
std::string sha256_hex(std::string_view bytes);

/// "POST\n/\n\n" + canonical headers + "\n" + signed header names + "\n" + sha256_hex(payload).
/// `headers` are sorted by name here (a copy); each line is "name:trimmed value\n"; the signed
/// header list is the names joined with ';'.
std::string canonical_request(std::string_view method, std::span<const header> headers,
                              std::string_view payload);

/// "TC3-HMAC-SHA256\n<timestamp>\n<date>/<service>/tc3_request\n" + sha256_hex(canonical).
std::string string_to_sign(std::int64_t unix_seconds, std::string_view service,
                           std::string_view canonical_request);

/// The derived key HMAC(HMAC(HMAC("TC3"+key, date), service), "tc3_request"): depends only on
/// the key, the UTC date and the service, so a caller may keep it for the day.
using signing_key = std::array<unsigned char, 32>;
signing_key derive_key(std::string_view secret_key, std::string_view date,
                       std::string_view service);

/// Derived keys by service, each kept for its UTC day: a signer derives a key once per day and
/// service, not per request (the day is compared as a number: no date string per request). Not
/// thread-safe; clear() when the secret key changes.
class key_cache {
  public:
    const signing_key& get(std::string_view secret_key, std::int64_t unix_seconds,
                           std::string_view service);
    void clear() noexcept { keys_.clear(); }
    /// Keys derived so far (for tests and statistics).
    std::uint64_t derived() const noexcept { return derived_; }

  private:
    struct entry {
        std::int64_t day = 0;
        signing_key key{};
    };
    std::map<std::string, entry, std::less<>> keys_;
    std::uint64_t derived_ = 0;
};

/// Lowercase hex HMAC-SHA256(key, string_to_sign).
std::string signature(const signing_key& key, std::string_view string_to_sign);

/// What a client signs: a JSON POST to "/" with Content-Type and Host signed.
struct request {
    std::string_view host;          ///< as sent in Host; a ":port" is dropped for signing
    std::string_view content_type;  ///< exactly as sent
    std::string_view payload;       ///< exactly the body sent
    std::int64_t timestamp = 0;     ///< X-TC-Timestamp, unix seconds
};

/// The Authorization header value for `r`:
/// "TC3-HMAC-SHA256 Credential=<id>/<date>/<service>/tc3_request, SignedHeaders=content-type;host,
/// Signature=<hex>". The service is service_of_host(r.host); the date utc_date(r.timestamp).
std::string authorization(const credentials& creds, const request& r);

/// As authorization(), with a key already derived for (utc_date(r.timestamp), service).
std::string authorization_with_key(std::string_view secret_id, const signing_key& key,
                                   const request& r);

/// The parts of an Authorization header, as a server reads them. Views into the header.
struct parsed_authorization {
    std::string_view secret_id;
    std::string_view date;            ///< "YYYY-MM-DD" from the credential scope
    std::string_view service;         ///< from the credential scope
    std::string_view signed_headers;  ///< "content-type;host" or more, ';'-separated
    std::string_view signature;       ///< 64 lowercase hex digits
};

/// Parses "TC3-HMAC-SHA256 Credential=ID/DATE/SERVICE/tc3_request, SignedHeaders=...,
/// Signature=...". nullopt if the shape is wrong (algorithm, scope terminator, missing part).
/// The three parts may come in any order, separated by commas and optional spaces, each once;
/// the date must be "YYYY-MM-DD" and the signature 64 lowercase hex digits.
std::optional<parsed_authorization> parse_authorization(std::string_view value) noexcept;

}  // namespace taskpoller::qcloud::tc3
