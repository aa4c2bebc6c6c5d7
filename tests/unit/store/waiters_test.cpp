// The Asio adapter with a real io_context: wake, timeout, cancellation, teardown.
#include "store/waiters.hpp"

#include <gtest/gtest.h>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <memory>

#include "helpers.hpp"

namespace asio = boost::asio;
namespace core = taskpoller::core;
using namespace taskpoller::store;
using namespace taskpoller::store::test;
using namespace std::chrono_literals;

namespace {

struct WaitersFixture : ::testing::Test {
    asio::io_context io;
    core::manual_clock clock;
    store s{clock, seeded_options()};
    std::optional<wait_status> result;

    template <class Awaitable>
    void spawn(Awaitable a) {
        asio::co_spawn(io, std::move(a), [this](std::exception_ptr e, wait_status st) {
            if (e) std::rethrow_exception(e);
            result = st;
        });
    }
    // Runs `fn` on the io_context after `delay`.
    template <class Fn>
    void after(std::chrono::milliseconds delay, Fn fn) {
        auto t = std::make_shared<asio::steady_timer>(io, delay);
        t->async_wait([t, fn](boost::system::error_code) { fn(); });
    }
};

TEST_F(WaitersFixture, wakes_when_task_becomes_terminal) {
    submit(s, "lb", "A", {"1"});
    auto start = std::chrono::steady_clock::now();
    spawn(async_wait_terminal(s, {"lb", "1"}, 30s));
    after(20ms, [&] { set_state(s, "lb", "1", core::task_state::succeeded); });
    io.run();
    ASSERT_TRUE(result);
    EXPECT_EQ(*result, wait_status::ready);
    EXPECT_LT(std::chrono::steady_clock::now() - start, 20s);  // woken, not timed out
    EXPECT_EQ(s.watcher_count(), 0u);
}

TEST_F(WaitersFixture, times_out_and_leaves_nothing_behind) {
    submit(s, "lb", "A", {"1"});
    spawn(async_wait_terminal(s, {"lb", "1"}, 30ms));
    io.run();
    EXPECT_EQ(result, wait_status::timed_out);
    EXPECT_EQ(s.watcher_count(), 0u);
    set_state(s, "lb", "1", core::task_state::succeeded);  // nothing dangling to call
}

TEST_F(WaitersFixture, ready_at_once_and_not_found) {
    submit(s, "lb", "A", {"1"});
    set_state(s, "lb", "1", core::task_state::failed);
    spawn(async_wait_terminal(s, {"lb", "1"}, 30s));
    io.run();
    EXPECT_EQ(result, wait_status::ready);
    io.restart();
    result.reset();
    spawn(async_wait_terminal(s, {"lb", "404"}, 30s));
    io.run();
    EXPECT_EQ(result, wait_status::not_found);
    io.restart();
    result.reset();
    spawn(async_wait_batch_terminal(s, "b-000000000000", 30s));
    io.run();
    EXPECT_EQ(result, wait_status::not_found);
}

TEST_F(WaitersFixture, batch_wait_wakes) {
    auto id = submit(s, "lb", "A", {"1", "2"});
    spawn(async_wait_batch_terminal(s, id, 30s));
    after(10ms, [&] { set_state(s, "lb", "1", core::task_state::succeeded); });
    after(20ms, [&] { s.cancel_task({"lb", "2"}); });
    io.run();
    EXPECT_EQ(result, wait_status::ready);
    EXPECT_EQ(s.get_batch(id)->state, core::batch_state::done);
}

TEST_F(WaitersFixture, changes_wait_wakes_on_next_change_or_times_out) {
    auto since = s.seq();
    spawn(async_wait_changes(s, since, 30s));
    after(10ms, [&] { s.adopt_task({"lb", "1", "A", {}, {}, {}}); });
    io.run();
    EXPECT_EQ(result, wait_status::ready);
    io.restart();
    result.reset();
    spawn(async_wait_changes(s, s.seq(), 20ms));
    io.run();
    EXPECT_EQ(result, wait_status::timed_out);
    EXPECT_EQ(s.watcher_count(), 0u);
}

TEST_F(WaitersFixture, cancellation_unregisters) {
    submit(s, "lb", "A", {"1"});
    asio::cancellation_signal signal;
    asio::co_spawn(
        io, async_wait_terminal(s, {"lb", "1"}, 30s),
        asio::bind_cancellation_slot(signal.slot(), [this](std::exception_ptr e, wait_status st) {
            if (e) std::rethrow_exception(e);
            result = st;
        }));
    after(10ms, [&] {
        EXPECT_EQ(s.watcher_count(), 1u);
        signal.emit(asio::cancellation_type::terminal);
    });
    io.run();
    EXPECT_EQ(result, wait_status::cancelled);
    EXPECT_EQ(s.watcher_count(), 0u);
}

TEST_F(WaitersFixture, destroying_the_io_context_unregisters) {
    submit(s, "lb", "A", {"1"});
    {
        asio::io_context local;
        asio::co_spawn(local, async_wait_terminal(s, {"lb", "1"}, 30s), asio::detached);
        local.run_for(10ms);
        EXPECT_EQ(s.watcher_count(), 1u);
    }  // the suspended coroutine frame is destroyed with its context
    EXPECT_EQ(s.watcher_count(), 0u);
    EXPECT_TRUE(set_state(s, "lb", "1", core::task_state::succeeded));
}

TEST(WaitersLifetime, store_destroyed_before_waiter_times_out_safely) {
    asio::io_context io;
    core::manual_clock clock;
    auto s = std::make_unique<store>(clock, seeded_options());
    submit(*s, "lb", "A", {"1"});
    std::optional<wait_status> result;
    asio::co_spawn(io, async_wait_terminal(*s, {"lb", "1"}, 30ms),
                   [&](std::exception_ptr e, wait_status st) {
                       if (e) std::rethrow_exception(e);
                       result = st;
                   });
    io.run_for(5ms);
    s.reset();
    io.run();
    EXPECT_EQ(result, wait_status::timed_out);
}

}  // namespace
