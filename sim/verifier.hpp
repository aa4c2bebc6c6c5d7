#pragma once
// Authentication of an API 2.0 request (docs/protocol.md "Signature"): common parameters, SecretId
// lookup, signature, Timestamp window and Nonce reuse. I/O-free; the caller passes the current
// time.

#include <cstdint>
#include <optional>
#include <queue>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "qcloud/params.hpp"
#include "sim/config.hpp"
#include "sim/reply.hpp"

namespace taskpoller::sim {

/// Remembers (SecretId, Timestamp, Nonce) triples until their Timestamp leaves the window, so a
/// replayed request is recognised. Memory is bounded by the request rate times the window.
class replay_window {
  public:
    explicit replay_window(std::int64_t window_seconds) : window_(window_seconds) {}

    /// Records the triple; returns false if it was already recorded (a replay).
    bool remember(std::string_view secret_id, std::int64_t timestamp, std::string_view nonce,
                  std::int64_t now_s);
    void clear();
    std::size_t size() const noexcept { return seen_.size(); }

  private:
    void expire(std::int64_t now_s);

    std::int64_t window_;
    std::unordered_set<std::string> seen_;
    using entry = std::pair<std::int64_t, std::string>;  // (forget after, key)
    std::priority_queue<entry, std::vector<entry>, std::greater<>> expiry_;
};

/// The names every request must carry.
inline constexpr std::string_view required_common_params[] = {"Action", "Region",   "Timestamp",
                                                              "Nonce",  "SecretId", "Signature"};

class verifier {
  public:
    /// Keeps a reference to nothing: accounts and windows are copied from `cfg`.
    explicit verifier(const config& cfg);

    /// Checks, in order: common parameters present and well-formed (4000), SecretId known
    /// (4104), Signature (4100, constant-time compare), then unless replay checks are off,
    /// Timestamp within the window and (SecretId, Timestamp, Nonce) not seen before (4500).
    /// `host` is the Host header without a port. Returns nullopt when the request is authentic.
    std::optional<api_error> verify(std::string_view method, std::string_view host,
                                    const qcloud::param_list& params, std::int64_t now_s);

    /// Forgets every remembered Nonce.
    void clear() { replay_.clear(); }

  private:
    std::optional<api_error> check_signature(std::string_view method, std::string_view host,
                                             const qcloud::param_list& params,
                                             const std::string& secret_key) const;

    std::unordered_map<std::string, std::string> keys_;  // SecretId -> SecretKey
    bool replay_check_;
    std::int64_t window_s_;
    replay_window replay_;
};

/// Parses a string of decimal digits (no sign, no spaces, fits in 63 bits); nullopt otherwise.
std::optional<std::int64_t> parse_decimal(std::string_view s) noexcept;

}  // namespace taskpoller::sim
