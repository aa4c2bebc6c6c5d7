// core/supervise.hpp: the pieces every supervised coroutine uses.
#include "core/supervise.hpp"

#include <gtest/gtest.h>

#include <stdexcept>

namespace taskpoller::core {
namespace {

using namespace std::chrono_literals;

TEST(Supervise, restart_budget_allows_a_few_restarts_per_window) {
    restart_budget b(2, 10s);
    const auto t0 = std::chrono::steady_clock::time_point(1h);
    EXPECT_TRUE(b.allow(t0));
    EXPECT_TRUE(b.allow(t0 + 1s));
    EXPECT_FALSE(b.allow(t0 + 2s));  // the third within 10 s
    EXPECT_TRUE(b.allow(t0 + 20s));  // a new window
}

TEST(Supervise, fatal_on_exception_logs_critical_and_calls_the_handler) {
    std::vector<std::pair<log_level, std::string>> lines;
    logger log([&](log_level l, std::string_view s) { lines.emplace_back(l, s); });
    std::string got;
    auto h = fatal_on_exception(log, "the piece", [&](const std::string& why) { got = why; });
    h(nullptr);  // a normal completion: nothing
    EXPECT_TRUE(lines.empty());
    EXPECT_TRUE(got.empty());
    h(std::make_exception_ptr(std::runtime_error("boom")));
    EXPECT_EQ(got, "the piece failed: boom");
    ASSERT_EQ(lines.size(), 1u);
    EXPECT_EQ(lines[0].first, log_level::critical);
    EXPECT_NE(lines[0].second.find("the piece failed: boom"), std::string::npos);
}

TEST(Supervise, describe_names_any_exception) {
    EXPECT_EQ(describe(std::make_exception_ptr(std::logic_error("x"))), "x");
    EXPECT_EQ(describe(std::make_exception_ptr(42)), "an exception that is not a std::exception");
}

TEST(Supervise, scope_exit_runs_on_exceptions_too) {
    int released = 0;
    try {
        scope_exit guard([&] { ++released; });
        throw std::runtime_error("x");
    } catch (const std::exception&) {
    }
    EXPECT_EQ(released, 1);
}

}  // namespace
}  // namespace taskpoller::core
