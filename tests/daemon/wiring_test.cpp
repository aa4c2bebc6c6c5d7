// The pieces wired the way daemon/main.cpp is meant to wire them, on one io_context: SIGHUP
// reloads (RELOADING=1 ... READY=1), SIGTERM stops (STOPPING=1), and run() returns by itself
// once the signal handler and the notifier have been told to stop.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <csignal>

#include "daemon/logging.hpp"
#include "daemon/notifier.hpp"
#include "daemon/signals.hpp"
#include "test_util.hpp"

namespace td = taskpoller::daemon;
namespace asio = boost::asio;
using namespace std::chrono_literals;

TEST(Wiring, reload_and_shutdown_sequence) {
    daemon_test::temp_dir dir;
    daemon_test::datagram_receiver rx((dir.path() / "notify.sock").string());
    int log_fd = ::open((dir.path() / "log").c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
    ASSERT_GE(log_fd, 0);

    asio::io_context io;
    td::logging logs({}, log_fd, /*journal=*/true);
    auto log = logs.get();
    td::notifier notify(io, log, {rx.address(), "2000000", std::nullopt, ::getpid()});
    std::optional<td::signal_handler> signals;
    signals.emplace(
        io,
        td::signal_callbacks{[&] {
                                 notify.reloading();
                                 logs.apply({taskpoller::core::log_level::debug, {}, {}});
                                 notify.reloaded("serving, configuration reloaded");
                             },
                             [&](int) {
                                 notify.stopping();
                                 signals->cancel();  // the daemon would first drain its server
                             }},
        log);
    notify.ready("serving");
    asio::post(io, [] { ::raise(SIGHUP); });
    asio::post(io, [] { ::raise(SIGTERM); });

    auto start = std::chrono::steady_clock::now();
    io.run_for(10s);
    EXPECT_LT(std::chrono::steady_clock::now() - start, 5s) << "run() should return by itself";
    ::close(log_fd);

    std::vector<std::string> got;
    for (auto& d : rx.drain()) {
        if (d != "WATCHDOG=1") got.push_back(d);
    }
    ASSERT_EQ(got.size(), 4u);
    EXPECT_EQ(got[0], "READY=1\nSTATUS=serving");
    EXPECT_EQ(got[1].rfind("RELOADING=1\nMONOTONIC_USEC=", 0), 0u) << got[1];
    EXPECT_EQ(got[2], "READY=1\nSTATUS=serving, configuration reloaded");
    EXPECT_EQ(got[3], "STOPPING=1");
}
