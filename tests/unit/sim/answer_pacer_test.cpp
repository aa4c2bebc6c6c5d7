// The simulator's answer rate (sim/answer_pacer.hpp): answers evenly spaced at most R a second,
// late rather than refused, with no burst saved up while idle.
#include "sim/answer_pacer.hpp"

#include <gtest/gtest.h>

namespace taskpoller::sim {
namespace {

using namespace std::chrono_literals;
using clock = answer_pacer::clock;
const clock::time_point t0 = clock::time_point(1000h);

TEST(AnswerPacer, answers_at_once_are_spaced_one_period_apart) {
    answer_pacer p(5000);  // 200 us apart
    for (int i = 0; i < 10; ++i) EXPECT_EQ(p.delay(t0), i * 200us) << i;
}

TEST(AnswerPacer, a_rate_over_a_second_holds_and_an_idle_pause_saves_no_burst) {
    answer_pacer p(1000);
    int answered = 0;
    // 3,000 requests arriving in the first 100 ms: the last is answered ~3 s later.
    clock::duration last{};
    for (int i = 0; i < 3000; ++i) {
        last = p.delay(t0 + i * 33us);
        ++answered;
    }
    EXPECT_NEAR(std::chrono::duration<double>(t0 + 2999 * 33us + last - t0).count(), 2.999, 1e-6);
    // After a long pause the next answer goes at once, the one after a period later.
    const auto later = t0 + 1h;
    EXPECT_EQ(p.delay(later), 0us);
    EXPECT_EQ(p.delay(later), 1ms);
    EXPECT_EQ(answered, 3000);
}

TEST(AnswerPacer, a_request_with_its_own_latency_keeps_it_and_takes_the_later_slot) {
    answer_pacer p(100);                  // 10 ms apart
    EXPECT_EQ(p.delay(t0, 1ms), 1ms);     // its latency, the first slot
    EXPECT_EQ(p.delay(t0, 1ms), 11ms);    // one period after the first answer
    EXPECT_EQ(p.delay(t0, 50ms), 50ms);   // its latency is later than the next slot
    EXPECT_EQ(p.delay(t0 + 50ms), 10ms);  // a period after that answer
}

}  // namespace
}  // namespace taskpoller::sim

namespace taskpoller::sim {
namespace {

// --answer-rate takes any finite rate > 0: a tiny one means "hardly ever", not an overflowing
// period (1/1e-12 s does not fit the clock's nanoseconds) that answers everything at once.
TEST(AnswerPacer, a_tiny_rate_holds_answers_back_instead_of_overflowing) {
    answer_pacer p(1e-12);
    EXPECT_EQ(p.delay(t0), 0us);
    const auto second = p.delay(t0);
    EXPECT_GT(second, 24h * 365 * 30) << second.count();
    // Further answers pile up at the end of the clock's range, never before the one ahead.
    const auto third = p.delay(t0);
    EXPECT_GE(third, second);
    for (int i = 0; i < 20; ++i) EXPECT_GE(p.delay(t0), third);
}

}  // namespace
}  // namespace taskpoller::sim
