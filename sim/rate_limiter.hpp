#pragma once
// Token buckets per (SecretId, Action), as the cloud throttles (docs/protocol.md "Completion").
// I/O-free.

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>

namespace taskpoller::sim {

class rate_limiter {
  public:
    /// Takes one token from the bucket of (secret_id, action), which refills at `rate` tokens
    /// per second up to a burst of max(1, rate) tokens and starts full. `rate` <= 0 means
    /// unlimited. `now_ms` must not go backwards (a backwards step refills nothing).
    /// Returns false when the bucket is empty: the request is throttled (4400).
    bool try_acquire(std::string_view secret_id, std::string_view action, double rate,
                     std::int64_t now_ms);

    void clear() { buckets_.clear(); }

  private:
    struct bucket {
        double tokens = 0;
        std::int64_t last_ms = 0;
    };
    std::unordered_map<std::string, bucket> buckets_;
};

}  // namespace taskpoller::sim
