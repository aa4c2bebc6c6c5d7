// notify_sequencer and watchdog_interval: the exact datagrams, in order, with injected time.
#include <gtest/gtest.h>

#include "daemon/notify.hpp"

namespace td = taskpoller::daemon;
using namespace std::chrono_literals;
using clock_type = td::notify_sequencer::clock;

namespace {
const clock_type::time_point t0 = clock_type::time_point(100s);
}

TEST(NotifySequencer, ready_once_with_status) {
    td::notify_sequencer s;
    EXPECT_EQ(s.ready("3 tasks live", t0), "READY=1\nSTATUS=3 tasks live");
    EXPECT_EQ(s.state(), td::notify_state::ready);
    EXPECT_EQ(s.ready("again", t0 + 10s), std::nullopt);
}

TEST(NotifySequencer, ready_without_status) {
    td::notify_sequencer s;
    EXPECT_EQ(s.ready("", t0), "READY=1");
}

TEST(NotifySequencer, reload_is_one_datagram_then_ready) {
    td::notify_sequencer s;
    EXPECT_EQ(s.reloading(5us), std::nullopt) << "no reload before the first READY";
    ASSERT_TRUE(s.ready("", t0));
    EXPECT_EQ(s.reloading(123456789us), "RELOADING=1\nMONOTONIC_USEC=123456789");
    EXPECT_EQ(s.state(), td::notify_state::reloading);
    EXPECT_EQ(s.reloading(123456790us), std::nullopt) << "already reloading";
    EXPECT_EQ(s.reloaded("reload rejected: bad key", t0 + 1s),
              "READY=1\nSTATUS=reload rejected: bad key");
    EXPECT_EQ(s.reloaded("", t0 + 2s), std::nullopt) << "no reload in progress";
    EXPECT_EQ(s.reloading(200us), "RELOADING=1\nMONOTONIC_USEC=200") << "a second reload";
}

TEST(NotifySequencer, stopping_once_from_any_state) {
    td::notify_sequencer a;
    EXPECT_EQ(a.stopping(), "STOPPING=1");
    EXPECT_EQ(a.stopping(), std::nullopt);
    EXPECT_EQ(a.ready("", t0), std::nullopt) << "never READY after STOPPING";

    td::notify_sequencer b;
    ASSERT_TRUE(b.ready("", t0));
    ASSERT_TRUE(b.reloading(1us));
    EXPECT_EQ(b.stopping(), "STOPPING=1");
    EXPECT_EQ(b.reloaded("", t0), std::nullopt);
    EXPECT_EQ(b.status("draining 2 requests", t0 + 5s), "STATUS=draining 2 requests");
}

TEST(NotifySequencer, status_only_on_change) {
    td::notify_sequencer s(1000ms);
    EXPECT_EQ(s.status("a", t0), "STATUS=a");
    EXPECT_EQ(s.status("a", t0 + 5s), std::nullopt);
    EXPECT_EQ(s.status_due(), std::nullopt);
    EXPECT_EQ(s.status("b", t0 + 6s), "STATUS=b");
}

TEST(NotifySequencer, status_rate_limited_newest_wins) {
    td::notify_sequencer s(1000ms);
    ASSERT_EQ(s.status("1 live", t0), "STATUS=1 live");
    EXPECT_EQ(s.status("2 live", t0 + 100ms), std::nullopt);
    EXPECT_EQ(s.status("3 live", t0 + 200ms), std::nullopt);
    ASSERT_EQ(s.status_due(), t0 + 1000ms);
    EXPECT_EQ(s.flush_status(t0 + 999ms), std::nullopt) << "not due yet";
    EXPECT_EQ(s.flush_status(t0 + 1000ms), "STATUS=3 live");
    EXPECT_EQ(s.status_due(), std::nullopt);
    EXPECT_EQ(s.flush_status(t0 + 5s), std::nullopt);
}

TEST(NotifySequencer, pending_status_dropped_when_back_to_shown_value) {
    td::notify_sequencer s(1000ms);
    ASSERT_TRUE(s.status("idle", t0));
    EXPECT_EQ(s.status("busy", t0 + 10ms), std::nullopt);
    EXPECT_EQ(s.status("idle", t0 + 20ms), std::nullopt);
    EXPECT_EQ(s.status_due(), std::nullopt);
    EXPECT_EQ(s.flush_status(t0 + 2s), std::nullopt);
}

TEST(NotifySequencer, ready_status_counts_for_rate_limit_and_supersedes_pending) {
    td::notify_sequencer s(1000ms);
    ASSERT_TRUE(s.status("starting", t0));
    EXPECT_EQ(s.status("loading journal", t0 + 10ms), std::nullopt);
    EXPECT_EQ(s.ready("serving", t0 + 20ms), "READY=1\nSTATUS=serving");
    EXPECT_EQ(s.status_due(), std::nullopt);
    EXPECT_EQ(s.status("serving, 1 live", t0 + 500ms), std::nullopt);
    EXPECT_EQ(s.status_due(), t0 + 1020ms);
}

TEST(NotifySequencer, newlines_cannot_inject_assignments) {
    td::notify_sequencer s;
    EXPECT_EQ(s.status("x\nREADY=1\r", t0), "STATUS=x READY=1 ");
    EXPECT_EQ(s.ready("a\nb", t0 + 2s), "READY=1\nSTATUS=a b");
}

TEST(NotifySequencer, watchdog_datagram) {
    EXPECT_EQ(td::notify_sequencer::watchdog(), "WATCHDOG=1");
}

TEST(WatchdogInterval, half_of_watchdog_usec) {
    auto r = td::watchdog_interval("30000000", nullptr, 42);
    ASSERT_TRUE(r);
    EXPECT_EQ(*r, std::chrono::microseconds(15'000'000));
    r = td::watchdog_interval("3", nullptr, 42);
    ASSERT_TRUE(r);
    EXPECT_EQ(*r, std::chrono::microseconds(1));
}

TEST(WatchdogInterval, pid_must_match) {
    auto mine = td::watchdog_interval("1000000", "42", 42);
    ASSERT_TRUE(mine);
    EXPECT_EQ(*mine, std::chrono::microseconds(500'000));
    auto other = td::watchdog_interval("1000000", "43", 42);
    ASSERT_TRUE(other);
    EXPECT_EQ(*other, std::nullopt);
}

TEST(WatchdogInterval, disabled) {
    auto unset = td::watchdog_interval(nullptr, "42", 42);
    ASSERT_TRUE(unset);
    EXPECT_EQ(*unset, std::nullopt);
    auto zero = td::watchdog_interval("0", nullptr, 42);
    ASSERT_TRUE(zero);
    EXPECT_EQ(*zero, std::nullopt);
}

TEST(WatchdogInterval, malformed_is_an_error) {
    for (const char* bad : {"", "abc", "10s", "-5", "1 ", "99999999999999999999999"}) {
        auto r = td::watchdog_interval(bad, nullptr, 42);
        ASSERT_FALSE(r) << bad;
        EXPECT_NE(r.error().message.find("WATCHDOG_USEC"), std::string::npos);
    }
    auto bad_pid = td::watchdog_interval("1000", "x", 42);
    ASSERT_FALSE(bad_pid);
    EXPECT_NE(bad_pid.error().message.find("WATCHDOG_PID"), std::string::npos);
}

TEST(NotifySocket, rejects_unsupported_addresses) {
    for (const char* bad : {"", "relative/path", "@", "vsock:2:1234"}) {
        auto r = td::notify_socket::open(bad);
        ASSERT_FALSE(r) << bad;
        EXPECT_NE(r.error().message.find("NOTIFY_SOCKET"), std::string::npos);
    }
    EXPECT_FALSE(td::notify_socket::open("/" + std::string(200, 'x')));
}
