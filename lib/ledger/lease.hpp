#pragma once
// One node's leadership of one ledger (docs/ha.md "The lease"). I/O-free and deterministic: the
// driver (the PostgreSQL connection's coroutine) asks next_action(now) what to send and when,
// reports each statement it sends (on_sent) and each answer (on_granted, on_refused, on_error),
// and asks may_send(now) right before every submission leaves and may_poll(now) before polls.
// Time is the driver's monotonic clock, passed in; database times are the database's own clock
// as the lease statements return them (timestamptz), only ever used as differences.
//
// Roles: follower (not the leader; competes for the lease), leader (holds epoch() and may act
// strictly before local_deadline()), fenced (was leader, its local deadline passed before a
// renewal came back: it stopped at once and competes again; the epoch it held is over, even if
// it wins again: a new acquire bumps the epoch).
//
// The safety argument: a grant answered by the database at db time T ≥ the real time the
// request was sent, with expiry T + ttl on the database's clock. The local deadline is
// (the monotonic time the request was SENT) + granted duration − margin, so with clock rates
// within the drift bound the local deadline passes before the database lets anyone else acquire
// (docs/ha.md "Why a zombie cannot send"). Answers are matched to requests by id: an answer to
// a request that is no longer the one in flight (abandoned after request_timeout, or sent before
// the node was fenced) is stale and ignored.
//
// Single-threaded; every call takes the current monotonic time and first applies what time
// alone changes (a leader whose deadline passed becomes fenced). The driver's clock must keep
// counting while the host sleeps (CLOCK_BOOTTIME, not CLOCK_MONOTONIC): a suspended and resumed
// leader has to see the whole pause. An abandoned acquire may still execute later and bump the
// epoch under this node (holder = itself); its next renewal is then refused (a lost lease, never
// two leaders). The driver keeps that rare by giving lease statements a statement_timeout
// shorter than request_timeout.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/clock.hpp"

namespace taskpoller::ledger {

using time_point = std::chrono::steady_clock::time_point;
using duration = std::chrono::steady_clock::duration;

enum class lease_role : std::uint8_t { follower, leader, fenced };
std::string_view to_string(lease_role r) noexcept;

enum class lease_request : std::uint8_t {
    acquire,  ///< UPDATE ... epoch = epoch + 1 ... WHERE expired OR holder = me
    renew,    ///< UPDATE ... WHERE holder = me AND epoch = mine (no bump)
};
std::string_view to_string(lease_request r) noexcept;

struct lease_options {
    duration ttl = std::chrono::seconds(10);  ///< store.postgres.lease_ttl
    /// Safety margin = ttl * drift + margin_fixed. `drift` covers the clock-rate difference
    /// between this host and the database (it must exceed twice the worst rate error);
    /// `margin_fixed` the time between a may_send() check and the request's bytes leaving.
    double drift = 0.1;
    duration margin_fixed = std::chrono::milliseconds(250);
    /// After a refusal, a follower tries again at the holder's expiry plus this.
    duration takeover_delay = std::chrono::milliseconds(50);
    /// Retry backoff after an error (follower and leader alike): initial, doubling, capped.
    duration retry_initial = std::chrono::milliseconds(100);
    duration retry_max = std::chrono::seconds(2);
    /// A request unanswered this long is abandoned (its answer, if it comes, is stale) and
    /// the next one may be sent. Zero: ttl / 3.
    duration request_timeout{};
};

/// What the driver must do: send a statement now, or call next_action again at `until`
/// (time_point::max(): only an answer or a notification changes anything).
struct lease_action {
    enum class kind : std::uint8_t { send_acquire, send_renew, wait };
    kind what = kind::wait;
    time_point until = time_point::max();
};

/// Counters for metrics (taskpoller_ledger_lease_*). Monotonic.
struct lease_counters {
    std::uint64_t acquires_sent = 0;
    std::uint64_t renews_sent = 0;
    std::uint64_t grants = 0;           ///< answers that made or kept this node leader
    std::uint64_t refusals = 0;         ///< acquire refused (someone else holds it)
    std::uint64_t errors = 0;           ///< failed statements and lost connections
    std::uint64_t terms = 0;            ///< times this node became leader
    std::uint64_t lost = 0;             ///< renew refused: the lease was gone
    std::uint64_t self_fenced = 0;      ///< the local deadline passed while leader
    std::uint64_t stale_answers = 0;    ///< answers to a request no longer in flight
    std::uint64_t late_grants = 0;      ///< grants that came back after their own deadline
    std::uint64_t abandoned = 0;        ///< requests unanswered within request_timeout
    std::uint64_t epoch_anomalies = 0;  ///< an epoch lower than one seen before, or a renew
                                        ///< answered with another epoch (a bug somewhere)
};

class lease {
  public:
    using request_id = std::uint64_t;

    /// Throws std::invalid_argument unless 0 < margin(ttl) < ttl and the durations are sane.
    explicit lease(lease_options o);

    /// What to do at `now`. Never asks for a send while a request is in flight (unless it was
    /// abandoned) and never a renew unless leader.
    lease_action next_action(time_point now);

    /// The driver sent a statement of `kind` at `now` (right before handing it to libpq). Returns
    /// the id its answer must be reported with. A renew when not leader throws std::logic_error.
    request_id on_sent(lease_request kind, time_point now);

    /// The statement `id` updated the row: this node holds `epoch` until `db_expires_at`, the
    /// database's clock read `db_now` when it did.
    void on_granted(request_id id, std::uint64_t epoch, core::sys_time db_expires_at,
                    core::sys_time db_now, time_point now);
    /// The statement `id` updated nothing: `holder` holds `epoch` until `db_expires_at`.
    void on_refused(request_id id, std::string_view holder, std::uint64_t epoch,
                    core::sys_time db_expires_at, core::sys_time db_now, time_point now);
    /// The statement `id` failed, timed out or its connection was lost: no answer will come.
    void on_error(request_id id, time_point now);
    /// A notification on the lease channel (a release or a takeover): a follower asks at once.
    void on_notify(time_point now);

    /// Replaces the options (configuration reload). A grant already held keeps its deadline;
    /// the next renewal asks for the new ttl. Throws like the constructor.
    void set_options(lease_options o, time_point now);

    /// True only for a leader strictly before its local deadline. Check it right before every
    /// submission is sent. Pure: time passing can only turn it false.
    bool may_send(time_point now) const noexcept;
    /// Same rule for polls (their results are written under the epoch check anyway, but a
    /// fenced node must not spend rate-limit tokens the new leader needs).
    bool may_poll(time_point now) const noexcept { return may_send(now); }

    /// The role at `now` (a leader past its deadline reads as fenced).
    lease_role role(time_point now) const noexcept;
    lease_role role() const noexcept { return role_; }
    /// The epoch held as leader (or last held, while fenced); 0 if never leader.
    std::uint64_t epoch() const noexcept { return epoch_; }
    /// The leader's local deadline (time_point::min() when not leader).
    time_point local_deadline() const noexcept { return deadline_; }
    const lease_counters& counters() const noexcept { return counters_; }
    const lease_options& options() const noexcept { return opt_; }

    /// margin(ttl) = ttl * drift + margin_fixed.
    duration margin(duration ttl) const noexcept;

  private:
    struct in_flight {
        request_id id = 0;
        lease_request kind = lease_request::acquire;
        time_point sent{};
        duration ttl{};           // what the statement asks for
        std::uint64_t epoch = 0;  // a renew's epoch
    };

    void advance(time_point now);  // leader past its deadline → fenced; abandon old requests
    bool current(request_id id, time_point now);  // advance, then: is `id` the one in flight?
    void become_follower(time_point retry_at);
    void note_epoch(std::uint64_t epoch);
    bool epoch_regressed(std::uint64_t epoch) const noexcept;
    duration request_timeout() const noexcept;
    duration backoff() noexcept;  // next error backoff, doubling

    lease_options opt_;
    lease_role role_ = lease_role::follower;
    std::uint64_t epoch_ = 0;
    std::uint64_t highest_epoch_ = 0;  // highest seen in any answer
    time_point deadline_ = time_point::min();
    time_point next_attempt_ = time_point::min();  // follower/fenced: next acquire
    time_point next_renew_ = time_point::max();    // leader: next renew
    time_point granted_sent_{};                    // when the grant held was requested
    std::optional<in_flight> flight_;
    request_id next_id_ = 1;
    std::uint32_t failures_ = 0;  // consecutive errors, for the backoff
    lease_counters counters_;
};

}  // namespace taskpoller::ledger
