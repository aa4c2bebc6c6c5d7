#pragma once
// Token buckets per (service, action) with AIMD adaptation (docs/design.md "Policies"). I/O-free:
// the caller passes steady-clock time to every call.
//
// Bucket: `rate` tokens/s up to `burst`. acquire() always takes a token; when none is left it
// goes into debt and answers the time the token becomes available. Debt makes reservations
// first-come-first-served: each caller's ready time is no earlier than the previous caller's,
// so queued polls are served in the order they asked and none is ever dropped.
//
// AIMD: on_throttled() (a 4400) halves the rate (never below `floor_rate`) and empties the
// bucket of spare tokens; several 4400s within `decrease_cooldown` of a halving count once
// (they are answers to requests sent at the old rate). The rate then recovers additively *per
// call*: each token granted at once adds recovery_per_second / rate, so a bucket sending at its
// full rate gains `recovery_per_second` calls/s per second, while an idle bucket (or a queue of
// reservations not yet sent) does not climb back blindly. The burst is one `burst_seconds` of the
// *current* rate, so a slowed-down bucket cannot burst at the old rate after a pause.
//
// Reservations already answered keep their time when the rate changes, so a caller should
// acquire a token only for a request it is about to send, not for a long queue of future work:
// use available() and next_ready() to look without taking (see docs/polling.md).

#include <cstdint>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "engine/types.hpp"

namespace taskpoller::engine {

struct rate_limiter_options {
    double default_rate = 20.0;        ///< tokens/s for a key without its own limit
    double burst_seconds = 1.0;        ///< burst = max(1, rate * burst_seconds)
    double floor_rate = 0.5;           ///< AIMD never goes below this (or the configured rate)
    double recovery_per_second = 1.0;  ///< additive increase, tokens/s gained per second
    duration decrease_cooldown = std::chrono::seconds(1);
};

/// Counters and state of one bucket, for metrics and `GET /v1/status`.
struct bucket_stats {
    double configured_rate = 0;  ///< tokens/s from configuration
    double rate = 0;             ///< current (possibly reduced) tokens/s
    double burst = 0;
    double tokens = 0;            ///< negative: that many reservations are queued
    std::uint64_t granted = 0;    ///< acquire() calls answered "go now"
    std::uint64_t delayed = 0;    ///< acquire() calls answered with a later time
    std::uint64_t throttled = 0;  ///< on_throttled() calls that halved the rate
};

class rate_limiter {
  public:
    using bucket_id = std::uint32_t;

    /// Answer of acquire(): `now` (or earlier) means go now; later means send at `ready_at`.
    /// In both cases the token is already taken: do not call acquire() again for this request.
    struct grant {
        time_point ready_at;
        bool immediate = false;
    };

    explicit rate_limiter(rate_limiter_options o = {});

    /// The bucket for `key`, created at `now` with the default rate if new. Ids stay valid for
    /// the limiter's lifetime (buckets are never removed).
    bucket_id bucket(const action_key& key, time_point now);

    /// Sets the configured rate (tokens/s, > 0) of `key`'s bucket, creating it. Resets AIMD.
    /// Returns false (and changes nothing) for a non-positive or non-finite rate.
    bool configure(const action_key& key, double rate, time_point now);

    /// Takes one token. Never fails, never drops: see `grant`. Here and below, an id not
    /// returned by bucket() is a bug (std::out_of_range), except for stats().
    grant acquire(bucket_id id, time_point now);
    grant acquire(const action_key& key, time_point now) { return acquire(bucket(key, now), now); }

    /// Whole tokens available at `now` (0 when in debt). Takes nothing. A poller pops at most
    /// this many due tasks for the bucket, so every token it takes is sent at once and a rate
    /// cut takes effect on the very next request.
    std::size_t available(bucket_id id, time_point now);

    /// When a token taken now would be ready (`now` if one is available). Takes nothing.
    time_point next_ready(bucket_id id, time_point now);

    /// When `n` whole tokens will be available at once (`n` is capped to the burst, and is at
    /// least 1; `next_ready` for 1). Takes nothing. A caller with a queue of requests waits for
    /// several tokens instead of waking once per token.
    time_point ready_for(bucket_id id, std::size_t n, time_point now);

    /// How many tokens are worth waiting for together: the bucket's current rate over `window`,
    /// at least 1 and at most half its burst (so that a timer firing late loses no token to the
    /// burst's cap).
    std::size_t batch(bucket_id id, duration window) const;

    /// Returns one unused token (a reserved request that will not be sent, e.g. its task was
    /// cancelled). Later reservations are not moved earlier; the token serves the next caller.
    void refund(bucket_id id, time_point now);

    /// A 4400 for this bucket's action: halve its rate (see file comment).
    void on_throttled(bucket_id id, time_point now);
    void on_throttled(const action_key& key, time_point now) {
        on_throttled(bucket(key, now), now);
    }

    /// State of one bucket, brought up to `now`; all zeros for an id never returned by bucket().
    bucket_stats stats(bucket_id id, time_point now);
    /// Every bucket, for metrics.
    std::vector<std::pair<action_key, bucket_stats>> all_stats(time_point now);

    std::size_t size() const noexcept { return buckets_.size(); }

  private:
    struct bucket_state {
        action_key key;
        double configured = 0, rate = 0, tokens = 0;
        time_point updated{};
        time_point last_decrease{};
        time_point last_ready{};
        bool decreased = false;
        bucket_stats counters;
    };
    void advance(bucket_state& b, time_point now) const;
    double burst_at(double rate) const;
    bucket_state make(const action_key& key, double rate, time_point now) const;

    rate_limiter_options opt_;
    std::vector<bucket_state> buckets_;
    std::unordered_map<action_key, bucket_id, action_key_hash> index_;
};

}  // namespace taskpoller::engine
