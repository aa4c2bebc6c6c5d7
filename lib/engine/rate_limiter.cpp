#include "engine/rate_limiter.hpp"

#include <algorithm>
#include <cmath>

namespace taskpoller::engine {

rate_limiter::rate_limiter(rate_limiter_options o) : opt_(o) {
    if (!(opt_.default_rate > 0) || !std::isfinite(opt_.default_rate)) opt_.default_rate = 20.0;
    if (!(opt_.floor_rate > 0) || !std::isfinite(opt_.floor_rate)) opt_.floor_rate = 0.5;
    if (!(opt_.burst_seconds > 0) || !std::isfinite(opt_.burst_seconds)) opt_.burst_seconds = 1.0;
    if (!(opt_.recovery_per_second >= 0) || !std::isfinite(opt_.recovery_per_second))
        opt_.recovery_per_second = 1.0;
}

rate_limiter::bucket_state rate_limiter::make(const action_key& key, double rate,
                                              time_point now) const {
    bucket_state b;
    b.key = key;
    b.configured = b.rate = rate;
    b.tokens = burst_at(rate);
    b.updated = b.last_ready = now;
    b.counters.configured_rate = rate;
    return b;
}

rate_limiter::bucket_id rate_limiter::bucket(const action_key& key, time_point now) {
    if (auto it = index_.find(key); it != index_.end()) return it->second;
    const auto id = static_cast<bucket_id>(buckets_.size());
    buckets_.push_back(make(key, opt_.default_rate, now));
    index_.emplace(key, id);
    return id;
}

bool rate_limiter::configure(const action_key& key, double rate, time_point now) {
    if (!(rate > 0) || !std::isfinite(rate)) return false;
    const bucket_id id = bucket(key, now);
    bucket_state& b = buckets_[id];
    advance(b, now);
    bucket_state fresh = make(key, rate, now);
    fresh.tokens = std::min(b.tokens, burst_at(rate));  // keep queued debt: reservations stand
    fresh.last_ready = b.last_ready;
    fresh.counters = b.counters;
    fresh.counters.configured_rate = rate;
    b = std::move(fresh);
    return true;
}

double rate_limiter::burst_at(double rate) const {
    return std::max(1.0, rate * opt_.burst_seconds);
}

void rate_limiter::advance(bucket_state& b, time_point now) const {
    if (now <= b.updated) return;
    b.tokens = std::min(burst_at(b.rate), b.tokens + b.rate * seconds(now - b.updated));
    b.updated = now;
}

rate_limiter::grant rate_limiter::acquire(bucket_id id, time_point now) {
    bucket_state& b = buckets_.at(id);
    advance(b, now);
    b.tokens -= 1;
    time_point ready = now;
    if (b.tokens < 0) ready = now + from_seconds(-b.tokens / b.rate);
    ready = std::max(ready, b.last_ready);  // first come, first served
    b.last_ready = ready;
    if (ready <= now) {
        // Additive increase per call sent at once: a bucket sending at its full rate gains
        // recovery_per_second calls/s per second. Queued reservations prove nothing yet.
        b.rate = std::min(b.configured, b.rate + opt_.recovery_per_second / b.rate);
        ++b.counters.granted;
        return {now, true};
    }
    ++b.counters.delayed;
    return {ready, false};
}

std::size_t rate_limiter::available(bucket_id id, time_point now) {
    bucket_state& b = buckets_.at(id);
    advance(b, now);
    if (b.last_ready > now || b.tokens < 1) return 0;
    return static_cast<std::size_t>(b.tokens);
}

time_point rate_limiter::next_ready(bucket_id id, time_point now) {
    bucket_state& b = buckets_.at(id);
    advance(b, now);
    time_point ready = now;
    if (b.tokens < 1) ready = now + from_seconds((1 - b.tokens) / b.rate);
    return std::max(ready, b.last_ready);
}

time_point rate_limiter::ready_for(bucket_id id, std::size_t n, time_point now) {
    bucket_state& b = buckets_.at(id);
    advance(b, now);
    const double want = std::clamp(static_cast<double>(n), 1.0, std::floor(burst_at(b.rate)));
    time_point ready = now;
    if (b.tokens < want) ready = now + from_seconds((want - b.tokens) / b.rate);
    return std::max(ready, b.last_ready);
}

std::size_t rate_limiter::batch(bucket_id id, duration window) const {
    const bucket_state& b = buckets_.at(id);
    const double half_burst = std::floor(burst_at(b.rate) / 2);
    const double n = std::min(std::floor(b.rate * seconds(window)), half_burst);
    return n >= 1 ? static_cast<std::size_t>(n) : 1;
}

void rate_limiter::refund(bucket_id id, time_point now) {
    bucket_state& b = buckets_.at(id);
    advance(b, now);
    b.tokens = std::min(burst_at(b.rate), b.tokens + 1);
}

void rate_limiter::on_throttled(bucket_id id, time_point now) {
    bucket_state& b = buckets_.at(id);
    advance(b, now);
    if (b.decreased && now - b.last_decrease < opt_.decrease_cooldown) return;
    const double floor = std::min(opt_.floor_rate, b.configured);
    b.rate = std::max(floor, b.rate / 2);
    b.tokens = std::min(b.tokens, 0.0);  // no burst right after being told to slow down
    b.last_decrease = now;
    b.decreased = true;
    ++b.counters.throttled;
}

bucket_stats rate_limiter::stats(bucket_id id, time_point now) {
    if (id >= buckets_.size()) return {};
    bucket_state& b = buckets_[id];
    advance(b, now);
    bucket_stats s = b.counters;
    s.configured_rate = b.configured;
    s.rate = b.rate;
    s.burst = burst_at(b.rate);
    s.tokens = b.tokens;
    return s;
}

std::vector<std::pair<action_key, bucket_stats>> rate_limiter::all_stats(time_point now) {
    std::vector<std::pair<action_key, bucket_stats>> out;
    out.reserve(buckets_.size());
    for (bucket_id i = 0; i < buckets_.size(); ++i)
        out.emplace_back(buckets_[i].key, stats(i, now));
    return out;
}

}  // namespace taskpoller::engine
