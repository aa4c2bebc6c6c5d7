// connection_table: per-uid caps, the admin reservation and eviction of the longest-idle
// connection (control/admission.hpp).
#include "control/admission.hpp"

#include <gtest/gtest.h>

namespace taskpoller::control {
namespace {

using namespace std::chrono_literals;
using verdict = admission_verdict;
const auto t0 = std::chrono::steady_clock::time_point{} + 1h;

TEST(Admission, AdmitsUntilTheLimitThenRefusesWhenNothingIsIdle) {
    connection_table t;
    admission_limits l{4, 100, 0};
    for (std::uint64_t id = 1; id <= 4; ++id) {
        EXPECT_EQ(t.decide(1000, false, l).verdict, verdict::admit);
        t.add(id, 1000);
    }
    EXPECT_EQ(t.decide(1001, false, l).verdict, verdict::refuse_total);
    EXPECT_EQ(t.decide(0, true, l).verdict, verdict::refuse_total);
}

TEST(Admission, EvictsTheLongestIdleConnectionAtTheLimit) {
    connection_table t;
    admission_limits l{3, 100, 0};
    t.add(1, 1000);
    t.add(2, 1000);
    t.add(3, 1001);
    t.set_idle(2, t0 + 1s);
    t.set_idle(3, t0);  // idle longest
    auto d = t.decide(1002, false, l);
    EXPECT_EQ(d.verdict, verdict::admit_after_evicting);
    EXPECT_EQ(d.victim, 3u);
    t.set_busy(3);  // a request arrived: no longer a candidate
    EXPECT_EQ(t.decide(1002, false, l).victim, 2u);
    t.set_idle(2, t0 + 5s);  // idle again, later: stays the only candidate
    EXPECT_EQ(t.decide(1002, false, l).victim, 2u);
    t.remove(2);
    t.remove(2);  // twice (evicted, then its session ends): harmless
    EXPECT_EQ(t.size(), 2u);
    EXPECT_EQ(t.idle_count(), 0u);
    EXPECT_EQ(t.decide(1002, false, l).verdict, verdict::admit);
}

TEST(Admission, PerUidCapEvictsOnlyThatUidsIdleConnections) {
    connection_table t;
    admission_limits l{100, 2, 0};
    t.add(1, 1000);
    t.add(2, 1000);
    t.add(3, 1001);
    t.set_idle(3, t0);  // another uid's idle connection is not a victim for uid 1000
    EXPECT_EQ(t.decide(1000, false, l).verdict, verdict::refuse_uid);
    EXPECT_EQ(t.count(1000), 2u);
    t.set_idle(2, t0 + 1s);
    auto d = t.decide(1000, false, l);
    EXPECT_EQ(d.verdict, verdict::admit_after_evicting);
    EXPECT_EQ(d.victim, 2u);
    EXPECT_EQ(t.decide(1001, false, l).verdict, verdict::admit);
    EXPECT_EQ(t.decide(1000, true, l).verdict, verdict::admit);  // admins have no per-uid cap
}

TEST(Admission, ReservedSlotsAreForAdminsOnly) {
    connection_table t;
    admission_limits l{4, 100, 2};
    t.add(1, 1000);
    t.add(2, 1001);
    EXPECT_EQ(t.decide(1002, false, l).verdict, verdict::refuse_total);
    EXPECT_EQ(t.decide(0, true, l).verdict, verdict::admit);
    t.add(3, 0);
    t.add(4, 0);
    EXPECT_EQ(t.decide(0, true, l).verdict, verdict::refuse_total);
    admission_limits all_reserved{2, 100, 5};  // more reserved than exist: non-admins get none
    connection_table empty;
    EXPECT_EQ(empty.decide(1000, false, all_reserved).verdict, verdict::refuse_total);
    EXPECT_EQ(empty.decide(0, true, all_reserved).verdict, verdict::admit);
}

}  // namespace
}  // namespace taskpoller::control
