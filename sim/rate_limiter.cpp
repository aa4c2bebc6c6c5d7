#include "sim/rate_limiter.hpp"

#include <algorithm>

namespace taskpoller::sim {

bool rate_limiter::try_acquire(std::string_view secret_id, std::string_view action, double rate,
                               std::int64_t now_ms) {
    if (rate <= 0) return true;
    const double burst = std::max(1.0, rate);
    std::string key;
    key.reserve(secret_id.size() + action.size() + 1);
    key.append(secret_id).append(1, '\0').append(action);
    auto [it, fresh] = buckets_.try_emplace(std::move(key), bucket{burst, now_ms});
    auto& b = it->second;
    if (!fresh && now_ms > b.last_ms) {
        b.tokens =
            std::min(burst, b.tokens + rate * static_cast<double>(now_ms - b.last_ms) / 1000.0);
        b.last_ms = now_ms;
    }
    if (b.tokens < 1.0) return false;
    b.tokens -= 1.0;
    return true;
}

}  // namespace taskpoller::sim
