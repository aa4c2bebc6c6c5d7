#pragma once
// Internal to lib/qcloud: the HMAC and hex helpers API 2.0 (signer.cpp) and API 3.0 (tc3.cpp)
// share. OpenSSL 3 EVP_MAC underneath; the HMAC algorithm is fetched once per process.

#include <cstddef>
#include <string>
#include <string_view>

namespace taskpoller::qcloud::detail {

enum class hmac_digest { sha1, sha256 };

/// The largest MAC hmac() writes (EVP_MAX_MD_SIZE).
inline constexpr std::size_t max_mac_size = 64;

/// HMAC(key, message) written to `out` (at least max_mac_size bytes); returns its length (20 for
/// SHA-1, 32 for SHA-256). Keeps a keyed context per (key, digest) in a small per-thread cache,
/// so that a key used again (a SecretKey, a TC3 day key) is not re-keyed for every message.
std::size_t hmac(hmac_digest d, std::string_view key, std::string_view message, unsigned char* out);

/// As hmac(), without touching the cache: for keys used once (TC3's intermediate keys).
std::size_t hmac_once(hmac_digest d, std::string_view key, std::string_view message,
                      unsigned char* out);

/// Lowercase hex of `size` bytes, appended to `out`.
void append_lower_hex(std::string& out, const unsigned char* bytes, std::size_t size);

}  // namespace taskpoller::qcloud::detail
