#include "engine/duration_histogram.hpp"

#include <algorithm>
#include <cmath>

namespace taskpoller::engine {

std::size_t duration_histogram::index_of(double secs) noexcept {
    if (!(secs > min_seconds)) return 0;
    const double i = std::floor(std::log2(secs / min_seconds) * buckets_per_doubling);
    if (!(i < static_cast<double>(bucket_count - 1))) return bucket_count - 1;
    return static_cast<std::size_t>(i);
}

double duration_histogram::lower_bound_of(std::size_t i) noexcept {
    return min_seconds * std::exp2(static_cast<double>(i) / buckets_per_doubling);
}

void duration_histogram::add(duration d) noexcept {
    counts_[index_of(seconds(d))] += 1.0f;
    total_ += 1.0;
    ++observations_;
    if (total_ > max_weight_) {
        total_ = 0;
        for (float& c : counts_) {
            c /= 2;
            total_ += c;
        }
    }
}

duration duration_histogram::quantile(double p) const noexcept {
    if (total_ <= 0) return duration::zero();
    p = std::clamp(p, 0.0, 1.0);
    const double want = p * total_;
    double seen = 0;
    for (std::size_t i = 0; i < bucket_count; ++i) {
        const double c = counts_[i];
        if (c <= 0) continue;
        if (seen + c >= want) {
            const double frac = std::clamp((want - seen) / c, 0.0, 1.0);
            // Geometric interpolation: log-uniform inside the bucket.
            const double secs = lower_bound_of(i) * std::exp2(frac / buckets_per_doubling);
            return from_seconds(secs);
        }
        seen += c;
    }
    return from_seconds(lower_bound_of(bucket_count));
}

}  // namespace taskpoller::engine
