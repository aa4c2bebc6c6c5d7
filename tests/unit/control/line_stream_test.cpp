#include "control/line_stream.hpp"

#include <gtest/gtest.h>

#include "control/waiters.hpp"

namespace taskpoller::control {
namespace {

TEST(LineStream, QueuesAndBatches) {
    line_stream s(10, 1000);
    int wakes = 0;
    s.set_waker([&] { ++wakes; });
    EXPECT_TRUE(s.push("{\"seq\":1}"));
    EXPECT_TRUE(s.push("{\"seq\":2}\n"));
    EXPECT_EQ(wakes, 2);
    auto chunk = s.take(1000);
    ASSERT_TRUE(chunk);
    EXPECT_EQ(*chunk, "{\"seq\":1}\n{\"seq\":2}\n");
    EXPECT_FALSE(s.take(1000));
}

TEST(LineStream, TakeRespectsChunkSizeButAlwaysMakesProgress) {
    line_stream s(10, 1000);
    s.push(std::string(50, 'a'));
    s.push(std::string(50, 'b'));
    EXPECT_EQ(s.take(10)->size(), 51u);  // one line even if larger than the chunk size
    EXPECT_EQ(s.take(10)->size(), 51u);
}

TEST(LineStream, OverflowEndsWithSlowReader) {
    line_stream s(3, 1'000'000);
    std::optional<line_stream::end_reason> seen;
    s.on_end([&](line_stream::end_reason r) { seen = r; });
    EXPECT_TRUE(s.push("1"));
    EXPECT_TRUE(s.push("2"));
    EXPECT_TRUE(s.push("3"));
    EXPECT_FALSE(s.push("4"));
    ASSERT_TRUE(seen);
    EXPECT_EQ(*seen, line_stream::end_reason::slow_reader);
    EXPECT_EQ(s.queued_lines(), 0u);  // backlog dropped
    EXPECT_FALSE(s.push("5"));
    EXPECT_NE(s.final_line().find("\"code\":\"slow_reader\""), std::string::npos);
    EXPECT_EQ(s.final_line().back(), '\n');
}

TEST(LineStream, ByteBoundAlsoCounts) {
    line_stream s(1000, 100);
    EXPECT_TRUE(s.push(std::string(60, 'x')));
    EXPECT_FALSE(s.push(std::string(60, 'x')));
    EXPECT_EQ(s.reason(), line_stream::end_reason::slow_reader);
}

TEST(LineStream, FinishKeepsQueuedLines) {
    line_stream s(10, 1000);
    s.push("a");
    s.finish();
    EXPECT_TRUE(s.ended());
    EXPECT_EQ(*s.take(100), "a\n");
    EXPECT_EQ(s.final_line(), "");
    s.end(line_stream::end_reason::client_closed);  // first reason wins
    EXPECT_EQ(s.reason(), line_stream::end_reason::finished);
}

TEST(LineStream, OnEndAfterEndRunsImmediately) {
    line_stream s(10, 1000);
    s.end(line_stream::end_reason::shutting_down);
    bool ran = false;
    s.on_end([&](line_stream::end_reason r) { ran = r == line_stream::end_reason::shutting_down; });
    EXPECT_TRUE(ran);
    EXPECT_NE(s.final_line().find("shutting_down"), std::string::npos);
}

TEST(Waiters, LimitAndRelease) {
    waiter_limit w(2);
    auto a = w.try_acquire();
    auto b = w.try_acquire();
    ASSERT_TRUE(a && b);
    EXPECT_FALSE(w.try_acquire());
    EXPECT_EQ(w.active(), 2u);
    a.reset();
    EXPECT_EQ(w.active(), 1u);
    auto c = w.try_acquire();
    EXPECT_TRUE(c);
    waiter_slot moved = std::move(*c);
    c.reset();
    EXPECT_EQ(w.active(), 2u);
}

}  // namespace
}  // namespace taskpoller::control
