// notifier against a real AF_UNIX datagram socket standing in for systemd, on a real
// io_context: datagrams as received, STATUS flushing, watchdog cadence.
#include "daemon/notifier.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <thread>

#include "daemon/notify.hpp"
#include "test_util.hpp"

namespace td = taskpoller::daemon;
namespace asio = boost::asio;
using namespace std::chrono_literals;
using daemon_test::datagram_receiver;
using daemon_test::temp_dir;

namespace {

td::notify_environment env_for(const std::string& socket,
                               std::optional<std::string> watchdog_usec = std::nullopt,
                               std::optional<std::string> watchdog_pid = std::nullopt) {
    return {socket, std::move(watchdog_usec), std::move(watchdog_pid),
            static_cast<long>(::getpid())};
}

struct captured_log {
    std::vector<std::string> lines;
    taskpoller::core::logger logger() {
        return taskpoller::core::logger(
            [this](taskpoller::core::log_level, std::string_view m) { lines.emplace_back(m); },
            taskpoller::core::log_level::debug);
    }
};

}  // namespace

TEST(Notifier, noop_without_notify_socket) {
    asio::io_context io;
    td::notifier n(io, {}, td::notify_environment{std::nullopt, "1000", std::nullopt, 1});
    EXPECT_FALSE(n.enabled());
    EXPECT_EQ(n.watchdog_interval(), std::nullopt);
    n.ready("x");
    n.status("y");
    n.reloading();
    n.reloaded();
    n.stopping();
    EXPECT_EQ(io.run(), 0u) << "no timers, no work";
}

TEST(Notifier, from_process_reads_environment) {
    daemon_test::scoped_env a("NOTIFY_SOCKET", "/run/x.sock");
    daemon_test::scoped_env b("WATCHDOG_USEC", std::nullopt);
    auto e = td::notify_environment::from_process();
    EXPECT_EQ(e.notify_socket, "/run/x.sock");
    EXPECT_EQ(e.watchdog_usec, std::nullopt);
    EXPECT_EQ(e.self_pid, ::getpid());
}

TEST(Notifier, lifecycle_datagrams_on_path_socket) {
    temp_dir dir;
    datagram_receiver rx((dir.path() / "notify.sock").string());
    asio::io_context io;
    td::notifier n(io, {}, env_for(rx.address()));
    ASSERT_TRUE(n.enabled());

    n.ready("serving, 0 tasks live");
    EXPECT_EQ(rx.receive(2s), "READY=1\nSTATUS=serving, 0 tasks live");

    auto before = td::monotonic_now();
    n.reloading();
    auto after = td::monotonic_now();
    auto reload = rx.receive(2s);
    ASSERT_TRUE(reload);
    const std::string head = "RELOADING=1\nMONOTONIC_USEC=";
    ASSERT_EQ(reload->rfind(head, 0), 0u) << *reload;
    long long usec = std::stoll(reload->substr(head.size()));
    EXPECT_GE(usec, before.count());
    EXPECT_LE(usec, after.count());

    n.reloaded("serving, config reloaded");
    EXPECT_EQ(rx.receive(2s), "READY=1\nSTATUS=serving, config reloaded");
    n.stopping();
    EXPECT_EQ(rx.receive(2s), "STOPPING=1");
    n.stopping();
    n.ready();
    EXPECT_TRUE(rx.drain().empty()) << "nothing after STOPPING=1 but STATUS";
}

TEST(Notifier, abstract_socket) {
    datagram_receiver rx("@taskpoller-test-" + std::to_string(::getpid()));
    asio::io_context io;
    td::notifier n(io, {}, env_for(rx.address()));
    n.ready();
    EXPECT_EQ(rx.receive(2s), "READY=1");
}

TEST(Notifier, status_rate_limited_then_flushed_by_timer) {
    temp_dir dir;
    datagram_receiver rx((dir.path() / "n.sock").string());
    asio::io_context io;
    td::notifier n(io, {}, env_for(rx.address()), 200ms);
    auto start = std::chrono::steady_clock::now();
    n.status("1 live");
    n.status("2 live");
    n.status("3 live");
    EXPECT_EQ(rx.drain(), std::vector<std::string>{"STATUS=1 live"});
    io.run_for(5s);  // returns once the status timer has fired: nothing else is pending
    auto elapsed = std::chrono::steady_clock::now() - start;
    EXPECT_EQ(rx.drain(), std::vector<std::string>{"STATUS=3 live"});
    EXPECT_GE(elapsed, 190ms);
    EXPECT_LT(elapsed, 4s);
}

TEST(Notifier, watchdog_cadence_is_half_of_watchdog_usec) {
    temp_dir dir;
    datagram_receiver rx((dir.path() / "n.sock").string());
    asio::io_context io;
    td::notifier n(io, {}, env_for(rx.address(), "200000", std::to_string(::getpid())));
    ASSERT_EQ(n.watchdog_interval(), std::chrono::microseconds(100'000));
    io.run_for(1000ms);
    auto got = rx.drain();
    for (const auto& d : got) EXPECT_EQ(d, "WATCHDOG=1");
    // One at once, then every 100ms: ~11 in a second. Generous bounds for a loaded machine.
    EXPECT_GE(got.size(), 5u);
    EXPECT_LE(got.size(), 13u);

    // stopping() ends the pings and leaves no timer behind, so run() returns.
    n.stopping();
    EXPECT_EQ(rx.receive(1s), "STOPPING=1");
    auto start = std::chrono::steady_clock::now();
    io.restart();
    io.run_for(3s);
    EXPECT_LT(std::chrono::steady_clock::now() - start, 1s);
    EXPECT_TRUE(rx.drain().empty());
}

TEST(Notifier, stuck_loop_stops_watchdog_pings) {
    temp_dir dir;
    datagram_receiver rx((dir.path() / "n.sock").string());
    std::vector<std::chrono::steady_clock::time_point> arrivals;
    std::atomic<bool> done{false};
    std::thread reader([&] {
        while (!done) {
            if (auto d = rx.receive(20ms); d && *d == "WATCHDOG=1") {
                arrivals.push_back(std::chrono::steady_clock::now());
            }
        }
    });
    asio::io_context io;
    td::notifier n(io, {}, env_for(rx.address(), "100000"));  // ping every 50ms
    asio::steady_timer stall(io, 300ms);
    stall.async_wait([](auto) { std::this_thread::sleep_for(800ms); });  // a stuck handler
    io.run_for(1500ms);
    n.stopping();
    std::this_thread::sleep_for(100ms);
    done = true;
    reader.join();

    ASSERT_GE(arrivals.size(), 4u);
    std::chrono::steady_clock::duration max_gap{};
    std::size_t after_stall = 0;
    for (std::size_t i = 1; i < arrivals.size(); ++i) {
        max_gap = std::max(max_gap, arrivals[i] - arrivals[i - 1]);
    }
    for (auto t : arrivals) after_stall += t - arrivals.front() > 1100ms ? 1 : 0;
    EXPECT_GE(max_gap, 700ms) << "pings must stop while the loop is stuck";
    EXPECT_GE(after_stall, 1u) << "and resume once it runs again";
}

TEST(Notifier, watchdog_for_another_pid_is_disabled) {
    temp_dir dir;
    datagram_receiver rx((dir.path() / "n.sock").string());
    asio::io_context io;
    td::notifier n(io, {}, env_for(rx.address(), "100000", std::to_string(::getpid() + 1)));
    EXPECT_EQ(n.watchdog_interval(), std::nullopt);
    EXPECT_EQ(io.run_for(300ms), 0u);
    EXPECT_TRUE(rx.drain().empty());
}

TEST(Notifier, bad_environment_is_logged_not_fatal) {
    captured_log log;
    asio::io_context io;
    td::notifier bad_socket(io, log.logger(), env_for("relative"));
    EXPECT_FALSE(bad_socket.enabled());
    ASSERT_EQ(log.lines.size(), 1u);
    EXPECT_NE(log.lines[0].find("sd_notify disabled"), std::string::npos);

    temp_dir dir;
    datagram_receiver rx((dir.path() / "n.sock").string());
    td::notifier bad_watchdog(io, log.logger(), env_for(rx.address(), "soon"));
    EXPECT_TRUE(bad_watchdog.enabled());
    EXPECT_EQ(bad_watchdog.watchdog_interval(), std::nullopt);
    EXPECT_NE(log.lines.back().find("WATCHDOG_USEC"), std::string::npos);
}

TEST(Notifier, vanished_receiver_logs_once_per_minute) {
    captured_log log;
    temp_dir dir;
    std::string path = (dir.path() / "gone.sock").string();
    asio::io_context io;
    td::notifier n(io, log.logger(), env_for(path), 0ms);
    n.ready();
    n.status("a");
    n.status("b");
    ASSERT_EQ(log.lines.size(), 1u);
    EXPECT_NE(log.lines[0].find(path), std::string::npos) << log.lines[0];
}

TEST(NotifySocket, full_receiver_never_blocks) {
    temp_dir dir;
    datagram_receiver rx((dir.path() / "slow.sock").string());  // never read until the end
    auto s = td::notify_socket::open(rx.address());
    ASSERT_TRUE(s);
    auto start = std::chrono::steady_clock::now();
    int failures = 0;
    std::string error;
    for (int i = 0; i < 5000; ++i) {
        if (auto r = s->send("WATCHDOG=1"); !r) {
            ++failures;
            error = r.error().message;
        }
    }
    EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
    EXPECT_GT(failures, 0) << "the receive queue should have filled up";
    EXPECT_NE(error.find("Resource temporarily unavailable"), std::string::npos) << error;
    EXPECT_FALSE(rx.drain().empty());
}
