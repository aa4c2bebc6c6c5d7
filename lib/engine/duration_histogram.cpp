#include "engine/duration_histogram.hpp"

#include <algorithm>
#include <cmath>

namespace taskpoller::engine {

std::size_t duration_histogram::index_of_seconds(double secs) noexcept {
    if (!(secs > min_seconds)) return 0;
    const double i = std::floor(std::log2(secs / min_seconds) * buckets_per_doubling);
    if (!(i < static_cast<double>(bucket_count - 1))) return bucket_count - 1;
    return static_cast<std::size_t>(i);
}

std::size_t duration_histogram::index_of(duration d) noexcept {
    return index_of_seconds(seconds(d));
}

double duration_histogram::lower_bound_of(std::size_t i) noexcept {
    return min_seconds * std::exp2(static_cast<double>(i) / buckets_per_doubling);
}

void duration_histogram::add(duration d) noexcept {
    counts_[index_of(d)] += 1.0f;
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

void duration_histogram::add_running(duration age) noexcept {
    ++running_[index_of(age)];
    ++running_total_;
}

bool duration_histogram::move_running(duration from, duration to) noexcept {
    const std::size_t a = index_of(from), b = index_of(to);
    if (a == b || running_[a] == 0) return false;
    --running_[a];
    ++running_[b];
    return true;
}

void duration_histogram::remove_running(duration age) noexcept {
    auto& c = running_[index_of(age)];
    if (c == 0) return;
    --c;
    --running_total_;
}

duration duration_histogram::quantile(double p) const noexcept {
    if (total_ <= 0) return duration::zero();
    p = std::clamp(p, 0.0, 1.0);
    // Kaplan–Meier over the buckets (the actuarial life table): `at_risk` is the weight of
    // observations at or beyond bucket i; a running task censored inside bucket i is at risk for
    // half of it. The survival estimate drops by the bucket's hazard d / (at_risk - c/2); the
    // quantile is where it reaches 1 - p, interpolated as in the uncensored case (log-uniform
    // inside the bucket). Without censored observations this is the empirical quantile.
    const double want = 1.0 - p;
    double at_risk = total_ + static_cast<double>(running_total_);
    double survival = 1.0;
    std::size_t last = 0;
    for (std::size_t i = 0; i < bucket_count; ++i) {
        const double d = counts_[i];
        const double c = running_[i];
        if (d <= 0 && c <= 0) continue;
        last = i;
        if (d > 0) {
            const double exposed = at_risk - c / 2;
            const double hazard = exposed > d ? d / exposed : 1.0;
            const double next = survival * (1.0 - hazard);
            if (next <= want + 1e-12) {
                const double frac = std::clamp((survival - want) / (survival - next), 0.0, 1.0);
                return from_seconds(lower_bound_of(i) * std::exp2(frac / buckets_per_doubling));
            }
            survival = next;
        }
        at_risk -= d + c;
    }
    // The estimate never reaches 1 - p: the quantile is beyond every age observed so far.
    return from_seconds(lower_bound_of(last + 1));
}

}  // namespace taskpoller::engine
