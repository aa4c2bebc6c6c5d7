#include "ledger/lease.hpp"

#include <algorithm>
#include <stdexcept>

namespace taskpoller::ledger {

namespace {

// Database durations are bounded so that a holder's 'infinity' (an operator's manual lock) or a
// wild clock cannot overflow steady-clock arithmetic.
constexpr duration max_db_span = std::chrono::hours(1);

duration db_span(core::sys_time from, core::sys_time to) {
    if (to <= from) return duration::zero();
    const auto d = to - from;
    if (d >= std::chrono::duration_cast<core::sys_time::duration>(max_db_span)) return max_db_span;
    return std::chrono::duration_cast<duration>(d);
}

void validate(const lease_options& o, duration margin) {
    if (o.ttl <= duration::zero()) throw std::invalid_argument("lease ttl must be positive");
    if (!(o.drift >= 0 && o.drift < 0.5))
        throw std::invalid_argument("lease drift must be in [0, 0.5)");
    if (o.margin_fixed < duration::zero() || o.takeover_delay < duration::zero() ||
        o.request_timeout < duration::zero())
        throw std::invalid_argument("lease durations must not be negative");
    if (o.retry_initial <= duration::zero() || o.retry_max < o.retry_initial)
        throw std::invalid_argument("lease retry backoff must be positive and capped above it");
    // At least the renewal at ttl/3 and one retry fit before the deadline.
    if (margin * 2 >= o.ttl)
        throw std::invalid_argument("lease ttl too short for its safety margin");
}

}  // namespace

std::string_view to_string(lease_role r) noexcept {
    switch (r) {
        case lease_role::follower:
            return "follower";
        case lease_role::leader:
            return "leader";
        case lease_role::fenced:
            return "fenced";
    }
    return "?";
}

std::string_view to_string(lease_request r) noexcept {
    return r == lease_request::acquire ? "acquire" : "renew";
}

lease::lease(lease_options o) : opt_(o) {
    validate(opt_, margin(opt_.ttl));
}

duration lease::margin(duration ttl) const noexcept {
    const auto scaled = std::chrono::duration<double>(ttl) * opt_.drift;
    return std::chrono::round<duration>(scaled) + opt_.margin_fixed;
}

duration lease::request_timeout() const noexcept {
    return opt_.request_timeout > duration::zero() ? opt_.request_timeout : opt_.ttl / 3;
}

duration lease::backoff() noexcept {
    // The first retry goes at once; then retry_initial, doubling, capped at retry_max.
    const std::uint32_t n = failures_++;
    if (n == 0) return duration::zero();
    duration d = opt_.retry_initial;
    for (std::uint32_t i = 1; i < n && d < opt_.retry_max; ++i) d *= 2;
    return std::min(d, opt_.retry_max);
}

void lease::advance(time_point now) {
    if (role_ == lease_role::leader && now >= deadline_) {
        // Self-fencing: the term is over whatever answer is still on its way; a renewal in
        // flight can no longer extend it (its answer becomes stale).
        role_ = lease_role::fenced;
        ++counters_.self_fenced;
        deadline_ = time_point::min();
        next_renew_ = time_point::max();
        flight_.reset();
        failures_ = 0;
        next_attempt_ = now;
    }
    if (flight_ && now - flight_->sent >= request_timeout()) {
        ++counters_.abandoned;
        flight_.reset();
        const duration d = backoff();
        if (role_ == lease_role::leader)
            next_renew_ = now + d;
        else
            next_attempt_ = now + d;
    }
}

bool lease::current(request_id id, time_point now) {
    advance(now);
    if (flight_ && flight_->id == id) return true;
    ++counters_.stale_answers;
    return false;
}

void lease::become_follower(time_point retry_at) {
    role_ = lease_role::follower;
    deadline_ = time_point::min();
    next_renew_ = time_point::max();
    next_attempt_ = retry_at;
}

bool lease::epoch_regressed(std::uint64_t epoch) const noexcept {
    return epoch < highest_epoch_;
}

void lease::note_epoch(std::uint64_t epoch) {
    if (epoch_regressed(epoch)) {
        // The row went back in time (a restored database, a hand edit): count it and take the
        // new value as the baseline, so that the next acquire can still win.
        ++counters_.epoch_anomalies;
        highest_epoch_ = epoch;
        return;
    }
    highest_epoch_ = std::max(highest_epoch_, epoch);
}

lease_action lease::next_action(time_point now) {
    advance(now);
    if (flight_) {
        time_point until = flight_->sent + request_timeout();
        if (role_ == lease_role::leader) until = std::min(until, deadline_);
        return {lease_action::kind::wait, until};
    }
    if (role_ == lease_role::leader) {
        if (now >= next_renew_) return {lease_action::kind::send_renew, now};
        return {lease_action::kind::wait, std::min(next_renew_, deadline_)};
    }
    if (now >= next_attempt_) return {lease_action::kind::send_acquire, now};
    return {lease_action::kind::wait, next_attempt_};
}

lease::request_id lease::on_sent(lease_request kind, time_point now) {
    advance(now);
    if (kind == lease_request::renew && role_ != lease_role::leader)
        throw std::logic_error("lease: renew sent while not leader");
    if (flight_) ++counters_.abandoned;  // replaced: its answer is stale from now on
    flight_ = in_flight{next_id_++, kind, now, opt_.ttl, epoch_};
    if (kind == lease_request::renew) {
        ++counters_.renews_sent;
        next_renew_ = time_point::max();
        // From here on the deadline rests on this renewal's ttl: if the ttl shrank (reload), the
        // grant held so far bounds nothing once a statement that may set now() + the new ttl
        // runs. (lease_sql never shortens expires_at; this does not rely on it.)
        deadline_ = std::min(deadline_, now + opt_.ttl - margin(opt_.ttl));
    } else {
        ++counters_.acquires_sent;
    }
    return flight_->id;
}

void lease::on_granted(request_id id, std::uint64_t epoch, core::sys_time db_expires_at,
                       core::sys_time db_now, time_point now) {
    if (!current(id, now)) return;
    const in_flight f = *flight_;
    flight_.reset();
    // An acquire always bumps the epoch past every one seen before; a renew keeps it.
    const bool anomaly =
        f.kind == lease_request::renew ? epoch != f.epoch : epoch <= highest_epoch_;
    if (anomaly) {
        ++counters_.epoch_anomalies;
        highest_epoch_ = epoch;  // the row is the truth: the next acquire can still win
        if (role_ == lease_role::leader) ++counters_.lost;
        failures_ = 0;
        become_follower(now);
        return;
    }
    note_epoch(epoch);
    // Counted from the SEND: the database granted at or after that instant.
    const duration granted = std::min(db_span(db_now, db_expires_at), f.ttl);
    const time_point deadline = f.sent + granted - margin(f.ttl);
    failures_ = 0;
    if (deadline <= now) {
        ++counters_.late_grants;
        if (role_ == lease_role::leader) {
            ++counters_.self_fenced;
            role_ = lease_role::fenced;
            deadline_ = time_point::min();
            next_renew_ = time_point::max();
        }
        next_attempt_ = now;  // we hold the row: the next acquire wins with a new epoch
        return;
    }
    ++counters_.grants;
    if (f.kind == lease_request::acquire) {
        ++counters_.terms;
        epoch_ = epoch;
        role_ = lease_role::leader;
    }
    deadline_ = deadline;
    granted_sent_ = f.sent;
    next_renew_ = f.sent + opt_.ttl / 3;
}

void lease::on_refused(request_id id, std::string_view holder, std::uint64_t epoch,
                       core::sys_time db_expires_at, core::sys_time db_now, time_point now) {
    (void)holder;  // the driver logs it; the decision does not depend on who holds it
    if (!current(id, now)) return;
    const in_flight f = *flight_;
    flight_.reset();
    note_epoch(epoch);
    failures_ = 0;
    if (f.kind == lease_request::renew) {
        ++counters_.lost;
    } else {
        ++counters_.refusals;
    }
    // Try again when the holder's lease would have expired, measured from this answer's arrival
    // (later than the database's reading, so never early by more than the clock-rate error).
    become_follower(now + db_span(db_now, db_expires_at) + opt_.takeover_delay);
}

void lease::on_error(request_id id, time_point now) {
    if (!current(id, now)) return;
    flight_.reset();
    ++counters_.errors;
    const duration d = backoff();
    if (role_ == lease_role::leader)
        next_renew_ = now + d;  // keep trying until the deadline fences us
    else
        next_attempt_ = now + d;
}

void lease::on_notify(time_point now) {
    advance(now);
    if (role_ != lease_role::leader) next_attempt_ = std::min(next_attempt_, now);
}

void lease::set_options(lease_options o, time_point now) {
    const lease_options old = opt_;
    opt_ = o;
    try {
        validate(opt_, margin(opt_.ttl));
    } catch (...) {
        opt_ = old;
        throw;
    }
    advance(now);
    if (role_ == lease_role::leader && !flight_)
        next_renew_ = std::min(next_renew_, granted_sent_ + opt_.ttl / 3);
}

lease_role lease::role(time_point now) const noexcept {
    if (role_ == lease_role::leader && now >= deadline_) return lease_role::fenced;
    return role_;
}

bool lease::may_send(time_point now) const noexcept {
    return role_ == lease_role::leader && now < deadline_;
}

}  // namespace taskpoller::ledger
