// pg_connection when the server goes away: its backend terminated while idle and in the middle
// of a statement, the whole server restarted; each time the error says the connection is lost
// and connecting again works.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <thread>

#include "ledger/pg_connection.hpp"
#include "support/pg_test.hpp"

namespace taskpoller::ledger {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using testing::run_coro;
using steady = std::chrono::steady_clock;

class PgFailure : public testing::pg_test {};

TEST_F(PgFailure, BackendTerminatedWhileIdle) {
    pg_connection c(io_.get_executor(), conninfo());
    ASSERT_TRUE(run_coro(io_, c.async_connect()));
    int pid = c.backend_pid();
    ASSERT_TRUE(cluster().terminate_backend(pid));
    std::this_thread::sleep_for(100ms);  // the FATAL message and EOF reach the socket

    auto r = run_coro(io_, c.async_exec("SELECT 1"));
    ASSERT_FALSE(r);
    EXPECT_TRUE(r.error().connection_lost) << r.error().message;
    EXPECT_FALSE(c.connected());

    ASSERT_TRUE(run_coro(io_, c.async_connect()));
    EXPECT_NE(c.backend_pid(), pid);
    auto one = run_coro(io_, c.async_exec("SELECT 1"));
    ASSERT_TRUE(one) << one.error().message;
    EXPECT_EQ(one->get_int(0, 0), 1);
}

TEST_F(PgFailure, BackendTerminatedDuringAStatement) {
    pg_connection victim(io_.get_executor(), conninfo());
    pg_connection admin(io_.get_executor(), conninfo());
    ASSERT_TRUE(run_coro(io_, victim.async_connect()));
    ASSERT_TRUE(run_coro(io_, admin.async_connect()));
    int pid = victim.backend_pid();

    // The admin connection (same io_context) terminates the victim 300 ms into its 10 s sleep.
    std::optional<pg_outcome<pg_result>> killed;
    asio::co_spawn(
        io_,
        [&]() -> asio::awaitable<void> {
            asio::steady_timer t(io_, 300ms);
            co_await t.async_wait(asio::use_awaitable);
            std::vector<pg_param> p{std::to_string(pid)};
            killed =
                co_await admin.async_exec("SELECT pg_terminate_backend($1::int)", std::move(p));
        },
        asio::detached);
    auto start = steady::now();
    auto r = run_coro(io_, victim.async_exec("SELECT pg_sleep(10)", {}, 20s));
    auto took = steady::now() - start;
    ASSERT_TRUE(killed.has_value());
    ASSERT_TRUE(*killed) << killed->error().message;
    EXPECT_EQ((*killed)->get(0, 0), "t");
    ASSERT_FALSE(r);
    EXPECT_TRUE(r.error().connection_lost) << r.error().message;
    EXPECT_FALSE(r.error().timed_out);
    EXPECT_EQ(r.error().sqlstate, "57P01") << r.error().message;  // admin_shutdown
    EXPECT_LT(took, 5s);

    ASSERT_TRUE(run_coro(io_, victim.async_connect()));
    auto one = run_coro(io_, victim.async_exec("SELECT 1"));
    ASSERT_TRUE(one) << one.error().message;
}

TEST_F(PgFailure, ServerRestartedAndReconnectWithBackoff) {
    pg_connection c(io_.get_executor(), conninfo());
    ASSERT_TRUE(run_coro(io_, c.async_connect()));
    ASSERT_TRUE(run_coro(io_, c.async_exec_script("CREATE TABLE kept (v int); "
                                                  "INSERT INTO kept VALUES (7)")));

    cluster().stop("fast");
    auto down = run_coro(io_, c.async_exec("SELECT 1"));
    ASSERT_FALSE(down);
    EXPECT_TRUE(down.error().connection_lost);
    auto refused = run_coro(io_, c.async_connect(2s));
    ASSERT_FALSE(refused);
    EXPECT_TRUE(refused.error().connection_lost);

    // The server comes back 1 s later (pg_ctl in another thread) while the connection retries.
    std::thread starter([] {
        std::this_thread::sleep_for(1s);
        cluster().start();
    });
    auto start = steady::now();
    auto back = run_coro(io_, c.async_connect_with_backoff(30s, 50ms, 400ms));
    auto took = steady::now() - start;
    starter.join();
    ASSERT_TRUE(back) << back.error().message;
    EXPECT_GE(took, 900ms);
    auto v = run_coro(io_, c.async_exec("SELECT v FROM kept"));
    ASSERT_TRUE(v) << v.error().message;
    EXPECT_EQ(v->get_int(0, 0), 7);
}

TEST_F(PgFailure, BackoffGivesUpWithTheLastError) {
    pg_connection c(io_.get_executor(),
                    "host=" + cluster().dir() + "/nowhere port=5432 user=postgres");
    auto start = steady::now();
    auto r = run_coro(io_, c.async_connect_with_backoff(500ms, 50ms, 100ms));
    auto took = steady::now() - start;
    ASSERT_FALSE(r);
    EXPECT_TRUE(r.error().connection_lost);
    EXPECT_GE(took, 300ms);
    EXPECT_LT(took, 3s);
}

TEST_F(PgFailure, ListenerLearnsItsBackendWasTerminated) {
    pg_connection listener(io_.get_executor(), conninfo());
    ASSERT_TRUE(run_coro(io_, listener.async_connect()));
    ASSERT_TRUE(run_coro(io_, listener.async_exec("LISTEN tp_changes")));
    std::thread killer([&, pid = listener.backend_pid()] {
        std::this_thread::sleep_for(300ms);
        cluster().terminate_backend(pid);
    });
    auto start = steady::now();
    auto r = run_coro(io_, listener.async_wait_notification(20s));
    auto took = steady::now() - start;
    killer.join();
    ASSERT_FALSE(r);
    EXPECT_TRUE(r.error().connection_lost) << r.error().message;
    EXPECT_FALSE(r.error().timed_out);
    EXPECT_LT(took, 5s);
    EXPECT_FALSE(listener.connected());
}

TEST_F(PgFailure, ConnectTriesTheNextHostOnANewSocket) {
    // The first host has no server: libpq closes that socket and opens another for the second.
    pg_connection c(io_.get_executor(), "host=" + cluster().dir() + "/nowhere," + cluster().dir() +
                                            " port=5432 user=postgres dbname=" + db_);
    auto r = run_coro(io_, c.async_connect(10s));
    ASSERT_TRUE(r) << r.error().message;
    auto one = run_coro(io_, c.async_exec("SELECT 1"));
    ASSERT_TRUE(one) << one.error().message;
}

TEST_F(PgFailure, ConnectTimesOutOnAServerThatNeverAnswers) {
    // A Unix socket that accepts connections (the backlog) and never says a word.
    auto dir = cluster().dir() + "/mute-" + db_;
    std::filesystem::create_directory(dir);
    int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
    ASSERT_GE(fd, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    auto path = dir + "/.s.PGSQL.5432";
    ASSERT_LT(path.size(), sizeof addr.sun_path);
    std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
    ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    ASSERT_EQ(::listen(fd, 4), 0);

    pg_connection c(io_.get_executor(), "host=" + dir + " port=5432 user=postgres");
    auto start = steady::now();
    auto r = run_coro(io_, c.async_connect(300ms));
    auto took = steady::now() - start;
    ::close(fd);
    std::filesystem::remove_all(dir);
    ASSERT_FALSE(r);
    EXPECT_TRUE(r.error().timed_out);
    EXPECT_TRUE(r.error().connection_lost);
    EXPECT_GE(took, 300ms);
    EXPECT_LT(took, 3s);
    EXPECT_FALSE(c.connected());
}

}  // namespace
}  // namespace taskpoller::ledger
