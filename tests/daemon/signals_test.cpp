// signal_handler on a real io_context with real signals raised to this process; the second
// SIGTERM/SIGINT (which _exits) in a forked child.
#include "daemon/signals.hpp"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <csignal>

#include "test_util.hpp"

namespace td = taskpoller::daemon;
namespace asio = boost::asio;
using namespace std::chrono_literals;

TEST(SignalHandler, sighup_reloads_sigterm_shuts_down) {
    asio::io_context io;
    int reloads = 0;
    std::vector<int> shutdowns;
    td::signal_handler h(io, {[&] { ++reloads; }, [&](int s) { shutdowns.push_back(s); }}, {});
    asio::post(io, [] { ::raise(SIGHUP); });
    io.run_for(200ms);
    EXPECT_EQ(reloads, 1);
    asio::post(io, [] { ::raise(SIGHUP); });
    io.run_for(200ms);
    EXPECT_EQ(reloads, 2);
    EXPECT_FALSE(h.shutting_down());

    asio::post(io, [] { ::raise(SIGTERM); });
    io.run_for(200ms);
    EXPECT_EQ(shutdowns, std::vector<int>{SIGTERM});
    EXPECT_TRUE(h.shutting_down());

    asio::post(io, [] { ::raise(SIGHUP); });
    io.run_for(200ms);
    EXPECT_EQ(reloads, 2) << "no reload once shutdown began";
}

TEST(SignalHandler, sigint_shuts_down_and_cancel_lets_run_return) {
    asio::io_context io;
    std::vector<int> shutdowns;
    td::signal_handler h(io, {{}, [&](int s) { shutdowns.push_back(s); }}, {});
    asio::post(io, [] { ::raise(SIGINT); });
    io.run_for(200ms);
    EXPECT_EQ(shutdowns, std::vector<int>{SIGINT});
    h.cancel();
    auto start = std::chrono::steady_clock::now();
    io.restart();
    io.run_for(5s);
    EXPECT_LT(std::chrono::steady_clock::now() - start, 2s) << "nothing left to wait for";
}

TEST(SignalHandler, sigpipe_ignored) {
    asio::io_context io;
    td::signal_handler h(io, {}, {});
    struct sigaction sa {};
    ASSERT_EQ(::sigaction(SIGPIPE, nullptr, &sa), 0);
    EXPECT_EQ(sa.sa_handler, SIG_IGN);
    ::raise(SIGPIPE);  // would kill the test process otherwise
    SUCCEED();
}

namespace {

// In a child: the first signal starts a "shutdown" that never finishes; the second must end
// the process at once with 128 + signo. Returns the child's wait status.
std::optional<int> second_signal_status(int signo) {
    pid_t pid = ::fork();
    if (pid < 0) return std::nullopt;
    if (pid == 0) {
        asio::io_context io;
        td::signal_handler h(io, {{}, [](int s) { ::raise(s); }}, {});  // hangs "forever"
        asio::post(io, [signo] { ::raise(signo); });
        io.run_for(10s);
        ::_exit(0);  // not reached when the second signal works
    }
    daemon_test::child_process child(pid);
    return child.wait(20s);
}

}  // namespace

TEST(SignalHandler, second_sigterm_exits_immediately_with_143) {
    auto st = second_signal_status(SIGTERM);
    ASSERT_TRUE(st);
    ASSERT_TRUE(WIFEXITED(*st)) << "killed by a signal instead of exiting";
    EXPECT_EQ(WEXITSTATUS(*st), 143);
    EXPECT_EQ(td::forced_exit_status(SIGTERM), 143);
}

TEST(SignalHandler, second_sigint_exits_immediately_with_130) {
    auto st = second_signal_status(SIGINT);
    ASSERT_TRUE(st);
    ASSERT_TRUE(WIFEXITED(*st));
    EXPECT_EQ(WEXITSTATUS(*st), 130);
}
