// Supervision of the poller's coroutines (engine/poller.hpp, docs/design.md "Faults"): a fault
// injected into one poll is logged at critical and that poll's task is polled again; a fault in
// the loop itself calls on_fault (the daemon then ends with a non-zero status).
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <stdexcept>

#include "core/clock.hpp"
#include "engine/cloud.hpp"
#include "engine/poller.hpp"
#include "engine/rate_limiter.hpp"
#include "engine/registry.hpp"
#include "engine/stats.hpp"
#include "store/store.hpp"

namespace taskpoller::engine {
namespace {

using namespace std::chrono_literals;
namespace asio = boost::asio;

// A cloud whose first task poll throws (a bug in the protocol code, say); later polls answer
// "succeeded".
class faulty_cloud final : public cloud {
  public:
    int polls = 0;
    core::result<std::unique_ptr<prepared_submission>> prepare(
        const service_profile&, const action_profile&, std::string_view,
        const boost::json::object&) const override {
        return core::error{"not used"};
    }
    asio::awaitable<submission_answer> async_submit(const service_profile&, const action_profile&,
                                                    std::string_view, const prepared_submission&,
                                                    std::size_t) override {
        co_return submission_answer{};
    }
    asio::awaitable<task_poll_answer> async_poll_task(const service_profile&, std::string_view,
                                                      std::string_view) override {
        if (++polls == 1) throw std::runtime_error("injected poll fault");
        co_return task_poll_answer{std::nullopt, remote_status::succeeded};
    }
    asio::awaitable<instances_answer> async_poll_instances(const service_profile&, std::string_view,
                                                           std::span<const std::string>) override {
        co_return instances_answer{};
    }
    std::size_t max_instances_per_call() const noexcept override { return 100; }
    const api_stats& stats() const noexcept override { return stats_; }
    void reconfigure(qcloud::credentials, const api_settings&) override {}

  private:
    api_stats stats_;
};

// The real clock, which can be made to throw: the loop reads it first on every turn.
class faulty_clock final : public core::clock {
  public:
    bool armed = false;
    core::sys_time system_now() const override { return real_.system_now(); }
    core::steady_time steady_now() const override {
        if (armed) throw std::runtime_error("injected loop fault");
        return real_.steady_now();
    }

  private:
    core::real_clock real_;
};

struct log_lines {
    std::vector<std::pair<core::log_level, std::string>> lines;
    core::logger logger() {
        return core::logger(
            [this](core::log_level l, std::string_view s) { lines.emplace_back(l, s); },
            core::log_level::debug);
    }
    bool has(core::log_level l, std::string_view needle) const {
        for (const auto& [level, s] : lines)
            if (level == l && s.find(needle) != std::string::npos) return true;
        return false;
    }
};

struct Supervision : ::testing::Test {
    asio::io_context io;
    faulty_clock clock;
    store::store st{clock};
    registry reg;
    rate_limiter limiter;
    faulty_cloud api;
    log_lines logs;
    std::vector<std::string> faults;

    poller_options options() {
        poller_options o;
        o.schedule.poll = {10ms, 10ms, 1.0, 10ms, jitter_mode::none, 1h};
        o.schedule.retry = {10ms, 1.0, 10ms, jitter_mode::none};
        o.schedule.learning.enabled = false;
        return o;
    }
    poller make_poller() {
        return poller(io.get_executor(), st, reg, api, limiter, clock, options(), logs.logger(),
                      [this](const std::string& why) { faults.push_back(why); });
    }
    void adopt(poller& p, const std::string& id) {
        ASSERT_TRUE(st.adopt_task({"lb", id, "DeleteLoadBalancers", {}, {}, {}, "ap-guangzhou"}));
        auto now = clock.steady_now();
        ASSERT_TRUE(
            p.track({{"lb", id}, "DeleteLoadBalancers", "ap-guangzhou", {}, now, now + 1h}));
    }
};

TEST_F(Supervision, a_fault_in_one_poll_is_logged_critical_and_its_task_polled_again) {
    auto p = make_poller();
    adopt(p, "101");
    p.start();
    for (int i = 0; i < 500 && st.get_task({"lb", "101"})->state != core::task_state::succeeded;
         ++i) {
        io.run_for(10ms);
    }
    EXPECT_EQ(st.get_task({"lb", "101"})->state, core::task_state::succeeded);
    EXPECT_EQ(api.polls, 2);
    EXPECT_EQ(p.internal_errors(), 1u);
    EXPECT_TRUE(logs.has(core::log_level::critical,
                         "internal error in a poll of 1 task(s) (first lb/101): injected poll "
                         "fault; polling them again later"));
    EXPECT_TRUE(faults.empty());  // a poll is restarted, not fatal
    EXPECT_EQ(p.inflight(), 0u);  // the slot was released by its scope guard
    p.stop();
    io.run_for(50ms);
}

TEST_F(Supervision, a_fault_in_the_poll_loop_calls_on_fault) {
    auto p = make_poller();
    adopt(p, "102");
    clock.armed = true;
    p.start();
    io.run_for(50ms);
    ASSERT_EQ(faults.size(), 1u);
    EXPECT_EQ(faults[0], "the poll loop failed: injected loop fault");
    EXPECT_TRUE(logs.has(core::log_level::critical, "the poll loop failed: injected loop fault"));
    clock.armed = false;
    p.stop();
    io.run_for(50ms);
}

TEST_F(Supervision, drain_callback_runs_once_the_last_call_has_ended) {
    auto p = make_poller();
    bool idle = false;
    p.stop();
    p.set_idle_callback([&] { idle = true; });
    EXPECT_TRUE(idle);  // nothing in flight: at once
    auto q = make_poller();
    bool idle_q = false;
    q.set_idle_callback([&] { idle_q = true; });  // set before stop()
    EXPECT_FALSE(idle_q);
    q.stop();
    EXPECT_TRUE(idle_q);
}

}  // namespace
}  // namespace taskpoller::engine
