#include "ledger/lease.hpp"

#include <gtest/gtest.h>

#include <stdexcept>

namespace taskpoller::ledger {
namespace {

using namespace std::chrono_literals;
using kind = lease_action::kind;

const time_point t0 = time_point{} + 1h;
const core::sys_time db0 = core::sys_time{std::chrono::seconds{1767225600}};

lease_options opts() {
    lease_options o;
    o.ttl = 9s;  // margin = 0.9 s + 250 ms
    return o;
}

// Grants `l`'s acquire sent at `sent`, answered at `at`, with `epoch` and the database's full ttl.
void grant_acquire(lease& l, time_point sent, time_point at, std::uint64_t epoch) {
    const auto id = l.on_sent(lease_request::acquire, sent);
    l.on_granted(id, epoch, db0 + l.options().ttl, db0, at);
}

TEST(Lease, follower_acquires_at_once_and_counts_the_grant_from_its_send) {
    lease l(opts());
    EXPECT_EQ(l.role(), lease_role::follower);
    EXPECT_FALSE(l.may_send(t0));
    EXPECT_EQ(l.next_action(t0).what, kind::send_acquire);
    const auto id = l.on_sent(lease_request::acquire, t0);
    // While the acquire is in flight nothing else is asked for.
    EXPECT_EQ(l.next_action(t0 + 1ms).what, kind::wait);
    l.on_granted(id, 7, db0 + 9s, db0, t0 + 400ms);
    EXPECT_EQ(l.role(), lease_role::leader);
    EXPECT_EQ(l.epoch(), 7u);
    EXPECT_EQ(l.margin(9s), 1150ms);
    EXPECT_EQ(l.local_deadline(), t0 + 9s - 1150ms);  // from the send, not the answer
    EXPECT_TRUE(l.may_send(t0 + 400ms));
    EXPECT_TRUE(l.may_poll(t0 + 400ms));
    EXPECT_TRUE(l.may_send(t0 + 9s - 1151ms));
    EXPECT_FALSE(l.may_send(t0 + 9s - 1150ms));  // strictly before the deadline
    EXPECT_EQ(l.counters().terms, 1u);
}

TEST(Lease, a_shorter_grant_from_the_database_shortens_the_deadline) {
    lease l(opts());
    const auto id = l.on_sent(lease_request::acquire, t0);
    l.on_granted(id, 1, db0 + 5s, db0, t0 + 10ms);
    EXPECT_EQ(l.local_deadline(), t0 + 5s - 1150ms);
}

TEST(Lease, leader_renews_every_third_of_the_ttl_and_extends_from_the_renewal_send) {
    lease l(opts());
    grant_acquire(l, t0, t0 + 10ms, 3);
    const lease_action a = l.next_action(t0 + 10ms);
    EXPECT_EQ(a.what, kind::wait);
    EXPECT_EQ(a.until, t0 + 3s);
    EXPECT_EQ(l.next_action(t0 + 3s).what, kind::send_renew);
    const auto id = l.on_sent(lease_request::renew, t0 + 3s);
    l.on_granted(id, 3, db0 + 12s, db0 + 3s + 5ms, t0 + 3s + 20ms);
    EXPECT_EQ(l.role(), lease_role::leader);
    EXPECT_EQ(l.epoch(), 3u);
    // The database granted 9 s - 5 ms from its reading; counted from our send.
    EXPECT_EQ(l.local_deadline(), t0 + 3s + 9s - 5ms - 1150ms);
    EXPECT_EQ(l.next_action(t0 + 3s + 20ms).until, t0 + 6s);
    EXPECT_EQ(l.counters().renews_sent, 1u);
    EXPECT_EQ(l.counters().grants, 2u);
    EXPECT_EQ(l.counters().terms, 1u);
}

TEST(Lease, a_refused_renewal_loses_the_lease_at_once) {
    lease l(opts());
    grant_acquire(l, t0, t0 + 10ms, 3);
    const auto id = l.on_sent(lease_request::renew, t0 + 3s);
    l.on_refused(id, "host-b", 4, db0 + 20s, db0 + 11s, t0 + 3s + 10ms);
    EXPECT_EQ(l.role(), lease_role::follower);
    EXPECT_FALSE(l.may_send(t0 + 3s + 10ms));
    EXPECT_EQ(l.counters().lost, 1u);
    // Competes again when host-b's lease would have expired (9 s later) plus the delay.
    const lease_action a = l.next_action(t0 + 3s + 10ms);
    EXPECT_EQ(a.what, kind::wait);
    EXPECT_EQ(a.until, t0 + 3s + 10ms + 9s + 50ms);
    EXPECT_EQ(l.next_action(a.until).what, kind::send_acquire);
}

TEST(Lease, refused_acquire_waits_for_the_holders_expiry_or_a_notification) {
    lease l(opts());
    const auto id = l.on_sent(lease_request::acquire, t0);
    l.on_refused(id, "host-b", 12, db0 + 4s, db0, t0 + 20ms);
    EXPECT_EQ(l.counters().refusals, 1u);
    EXPECT_EQ(l.next_action(t0 + 1s).until, t0 + 20ms + 4s + 50ms);
    l.on_notify(t0 + 2s);
    EXPECT_EQ(l.next_action(t0 + 2s).what, kind::send_acquire);
    // The epoch seen in the refusal is the floor: a grant must exceed it.
    const auto id2 = l.on_sent(lease_request::acquire, t0 + 2s);
    l.on_granted(id2, 13, db0 + 11s, db0 + 2s, t0 + 2s + 5ms);
    EXPECT_EQ(l.role(), lease_role::leader);
}

TEST(Lease, a_follower_takes_over_when_the_silent_leaders_lease_expires) {
    // Two nodes, one database row; A leads and then goes silent (crashed or paused).
    lease a(opts()), b(opts());
    grant_acquire(a, t0, t0 + 5ms, 1);  // the database read db0 at t0 + 2 ms: expiry db0 + 9 s
    const time_point tb = t0 + 1s;      // B asks; the database reads db0 + 998 ms
    const auto id = b.on_sent(lease_request::acquire, tb);
    b.on_refused(id, "a", 1, db0 + 9s, db0 + 998ms, tb + 4ms);
    const lease_action wait = b.next_action(tb + 4ms);
    ASSERT_EQ(wait.what, kind::wait);
    // B tries when A's lease expired by B's reckoning, with the takeover delay on top ...
    EXPECT_EQ(wait.until, tb + 4ms + 9s - 998ms + 50ms);
    // ... by which time A, had it kept running, would long have stopped.
    EXPECT_LT(a.local_deadline(), wait.until);
    EXPECT_FALSE(a.may_send(wait.until));
    const auto id2 = b.on_sent(lease_request::acquire, wait.until);
    b.on_granted(id2, 2, db0 + 9s + 60ms + 9s, db0 + 9s + 60ms, wait.until + 3ms);
    EXPECT_EQ(b.role(), lease_role::leader);
    EXPECT_EQ(b.epoch(), 2u);
    EXPECT_TRUE(b.may_send(wait.until + 3ms));
    // A comes back: fenced before anything else, and its acquire is refused.
    EXPECT_FALSE(a.may_send(wait.until + 3ms));
    EXPECT_EQ(a.next_action(wait.until + 10ms).what, kind::send_acquire);
    const auto id3 = a.on_sent(lease_request::acquire, wait.until + 10ms);
    a.on_refused(id3, "b", 2, db0 + 18s + 60ms, db0 + 9s + 70ms, wait.until + 12ms);
    EXPECT_EQ(a.role(), lease_role::follower);
    EXPECT_EQ(a.counters().self_fenced, 1u);
}

TEST(Lease, a_paused_leader_is_fenced_the_moment_it_resumes_before_any_answer) {
    lease l(opts());
    grant_acquire(l, t0, t0 + 10ms, 5);
    ASSERT_TRUE(l.may_send(t0 + 10ms));
    // Paused for a whole ttl: the first thing it asks on resuming says no, with no answer and
    // no statement needed.
    const time_point resumed = t0 + 9s;
    EXPECT_FALSE(l.may_send(resumed));
    EXPECT_FALSE(l.may_poll(resumed));
    EXPECT_EQ(l.role(resumed), lease_role::fenced);
    // Driving it makes the fence explicit and competes again (a new acquire: a new epoch).
    EXPECT_EQ(l.next_action(resumed).what, kind::send_acquire);
    EXPECT_EQ(l.role(), lease_role::fenced);
    EXPECT_EQ(l.counters().self_fenced, 1u);
    EXPECT_EQ(l.epoch(), 5u);  // the epoch it last held, for the driver's log
    const auto id = l.on_sent(lease_request::acquire, resumed);
    l.on_refused(id, "host-b", 6, db0 + 30s, db0 + 25s, resumed + 5ms);
    EXPECT_EQ(l.role(), lease_role::follower);
}

TEST(Lease, a_renewal_answered_after_the_deadline_cannot_revive_the_term) {
    lease l(opts());
    grant_acquire(l, t0, t0 + 10ms, 5);
    const auto id = l.on_sent(lease_request::renew, t0 + 3s);
    // The answer is delayed (a stalled network) past the deadline t0 + 7.85 s.
    EXPECT_EQ(l.next_action(t0 + 3s + 1ms).until, t0 + 6s);  // request timeout = ttl / 3
    const time_point late = t0 + 8s;
    EXPECT_FALSE(l.may_send(late));
    l.on_granted(id, 5, db0 + 12s, db0 + 3s, late);
    EXPECT_FALSE(l.may_send(late));
    EXPECT_NE(l.role(), lease_role::leader);
    EXPECT_EQ(l.counters().stale_answers, 1u);
}

TEST(Lease, a_grant_that_comes_back_after_its_own_deadline_does_not_make_a_leader) {
    lease l(opts());
    const auto id = l.on_sent(lease_request::acquire, t0);
    // Abandoned after ttl/3, but say the driver has no timeout and the answer comes anyway:
    // with request_timeout long enough the answer is current yet useless.
    lease_options o = opts();
    o.request_timeout = 1h;
    l.set_options(o, t0);
    l.on_granted(id, 2, db0 + 9s, db0 + 1s, t0 + 8s);
    EXPECT_EQ(l.role(), lease_role::follower);
    EXPECT_FALSE(l.may_send(t0 + 8s));
    EXPECT_EQ(l.counters().late_grants, 1u);
    EXPECT_EQ(l.next_action(t0 + 8s).what, kind::send_acquire);
}

TEST(Lease, answers_to_abandoned_requests_are_stale) {
    lease l(opts());
    const auto first = l.on_sent(lease_request::acquire, t0);
    // No answer within ttl/3: abandoned; the first retry goes at once.
    EXPECT_EQ(l.next_action(t0 + 3s).what, kind::send_acquire);
    EXPECT_EQ(l.counters().abandoned, 1u);
    const auto second = l.on_sent(lease_request::acquire, t0 + 3s);
    l.on_granted(first, 1, db0 + 9s, db0, t0 + 3s + 10ms);
    EXPECT_EQ(l.role(), lease_role::follower);
    EXPECT_EQ(l.counters().stale_answers, 1u);
    l.on_error(first, t0 + 3s + 11ms);
    EXPECT_EQ(l.counters().stale_answers, 2u);
    l.on_granted(second, 2, db0 + 12s, db0 + 3s, t0 + 3s + 20ms);
    EXPECT_EQ(l.role(), lease_role::leader);
    EXPECT_EQ(l.epoch(), 2u);
    EXPECT_EQ(l.local_deadline(), t0 + 3s + 9s - 1150ms);
}

TEST(Lease, a_failing_leader_retries_at_once_then_backs_off_until_its_deadline) {
    lease l(opts());
    grant_acquire(l, t0, t0, 1);
    time_point now = t0 + 3s;
    auto id = l.on_sent(lease_request::renew, now);
    l.on_error(id, now + 1ms);
    EXPECT_EQ(l.counters().errors, 1u);
    EXPECT_TRUE(l.may_send(now + 1ms));  // the grant held still counts
    EXPECT_EQ(l.next_action(now + 1ms).what, kind::send_renew);
    id = l.on_sent(lease_request::renew, now + 1ms);
    l.on_error(id, now + 2ms);
    EXPECT_EQ(l.next_action(now + 2ms).until, now + 2ms + 100ms);
    id = l.on_sent(lease_request::renew, now + 102ms);
    l.on_error(id, now + 103ms);
    EXPECT_EQ(l.next_action(now + 103ms).until, now + 103ms + 200ms);
    // Errors all along: fenced at the deadline, not a moment later.
    const time_point deadline = l.local_deadline();
    EXPECT_TRUE(l.may_send(deadline - 1ns));
    EXPECT_FALSE(l.may_send(deadline));
    EXPECT_EQ(l.next_action(deadline).what, kind::send_acquire);
    EXPECT_EQ(l.role(), lease_role::fenced);
}

TEST(Lease, the_leaders_timer_fires_at_its_deadline_while_a_renewal_hangs) {
    lease_options o = opts();
    o.request_timeout = 20s;
    lease l(o);
    grant_acquire(l, t0, t0, 1);
    l.on_sent(lease_request::renew, t0 + 3s);
    EXPECT_EQ(l.next_action(t0 + 3s).until, l.local_deadline());
}

TEST(Lease, an_epoch_going_backwards_is_a_lost_lease) {
    lease l(opts());
    grant_acquire(l, t0, t0, 5);
    const auto id = l.on_sent(lease_request::renew, t0 + 3s);
    l.on_granted(id, 4, db0 + 12s, db0 + 3s, t0 + 3s + 1ms);
    EXPECT_EQ(l.role(), lease_role::follower);
    EXPECT_FALSE(l.may_send(t0 + 3s + 1ms));
    EXPECT_EQ(l.counters().epoch_anomalies, 1u);
    EXPECT_EQ(l.counters().lost, 1u);
    // An acquire answered with an epoch that did not move forward is not a grant either.
    const auto a = l.on_sent(lease_request::acquire, t0 + 4s);
    l.on_granted(a, 4, db0 + 13s, db0 + 4s, t0 + 4s + 1ms);
    EXPECT_EQ(l.role(), lease_role::follower);
    EXPECT_EQ(l.counters().epoch_anomalies, 2u);
    // The row is the truth: the next acquire (epoch 5 again) wins.
    const auto b = l.on_sent(lease_request::acquire, t0 + 5s);
    l.on_granted(b, 5, db0 + 14s, db0 + 5s, t0 + 5s + 1ms);
    EXPECT_EQ(l.role(), lease_role::leader);
}

TEST(Lease, ttl_reload_applies_from_the_next_renewal_and_never_overstates_the_deadline) {
    lease l(opts());
    grant_acquire(l, t0, t0, 1);
    const time_point old_deadline = l.local_deadline();
    lease_options o = opts();
    o.ttl = 3s;  // margin 0.3 s + 0.25 s
    l.set_options(o, t0 + 100ms);
    EXPECT_EQ(l.local_deadline(), old_deadline);          // the grant held was for 9 s
    EXPECT_EQ(l.next_action(t0 + 100ms).until, t0 + 1s);  // renew every new ttl / 3
    l.on_sent(lease_request::renew, t0 + 1s);
    // The database overwrites the expiry with now() + 3 s: the old 9 s grant no longer holds.
    EXPECT_EQ(l.local_deadline(), t0 + 1s + 3s - 550ms);
    EXPECT_FALSE(l.may_send(t0 + 4s));
}

TEST(Lease, invalid_options_and_misuse_are_refused) {
    lease_options o = opts();
    o.ttl = 400ms;  // margin 290 ms: no room for a renewal
    EXPECT_THROW(lease{o}, std::invalid_argument);
    o = opts();
    o.drift = -0.1;
    EXPECT_THROW(lease{o}, std::invalid_argument);
    o = opts();
    o.retry_max = 1ms;
    EXPECT_THROW(lease{o}, std::invalid_argument);
    lease l(opts());
    EXPECT_THROW(l.on_sent(lease_request::renew, t0), std::logic_error);
    o = opts();
    o.ttl = 0s;
    EXPECT_THROW(l.set_options(o, t0), std::invalid_argument);
    EXPECT_EQ(l.options().ttl, 9s);  // unchanged
}

}  // namespace
}  // namespace taskpoller::ledger
