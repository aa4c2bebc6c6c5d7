// The test cluster itself (support/pg_cluster.hpp): when the process that started it dies
// (SIGTERM from a ctest timeout, SIGKILL), its watchdog stops the server and removes the
// directory. The dying process is this executable started again with TP_PG_CLUSTER_CHILD set.
#include "support/pg_cluster.hpp"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

namespace taskpoller::testing {
namespace {

using namespace std::chrono_literals;

constexpr const char* child_variable = "TP_PG_CLUSTER_CHILD";

// In the child (before main): starts a cluster, writes its directory to the file the variable
// names, and waits to be killed.
[[maybe_unused]] const int child_mode = [] {
    const char* out = std::getenv(child_variable);
    if (out == nullptr) return 0;
    try {
        auto* cluster = new pg_cluster();  // never destroyed: only the watchdog may clean up
        std::ofstream(std::string(out) + ".tmp") << cluster->dir() << "\n";
        std::filesystem::rename(std::string(out) + ".tmp", out);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "child: %s\n", e.what());
        std::_Exit(3);
    }
    for (;;) ::pause();
}();

bool process_exists(pid_t pid) {
    return ::kill(pid, 0) == 0 || errno != ESRCH;
}

void cleaned_up_after(int sig) {
    char tmpl[] = "/tmp/tp-pg-child-XXXXXX";
    int fd = ::mkstemp(tmpl);
    ASSERT_GE(fd, 0);
    ::close(fd);
    std::filesystem::remove(tmpl);
    std::string report = tmpl;

    pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
        ::setenv(child_variable, report.c_str(), 1);
        ::execl("/proc/self/exe", "pg_cluster_child", static_cast<char*>(nullptr));
        ::_exit(127);
    }
    std::string dir;
    for (int i = 0; i < 600 && dir.empty(); ++i) {
        std::ifstream in(report);
        std::getline(in, dir);
        if (dir.empty()) std::this_thread::sleep_for(50ms);
    }
    std::filesystem::remove(report);
    ASSERT_FALSE(dir.empty()) << "the child did not start a cluster";
    std::ifstream pidfile(dir + "/data/postmaster.pid");
    pid_t postmaster = 0;
    pidfile >> postmaster;
    ASSERT_GT(postmaster, 0);
    ASSERT_TRUE(process_exists(postmaster));

    ASSERT_EQ(::kill(child, sig), 0);
    int status = 0;
    ASSERT_EQ(::waitpid(child, &status, 0), child);
    EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == sig);

    auto deadline = std::chrono::steady_clock::now() + 20s;
    while ((std::filesystem::exists(dir) || process_exists(postmaster)) &&
           std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(50ms);
    }
    EXPECT_FALSE(std::filesystem::exists(dir)) << dir;
    EXPECT_FALSE(process_exists(postmaster)) << "postmaster " << postmaster << " still runs";
}

TEST(PgCluster, TheWatchdogCleansUpAfterSigterm) {
    cleaned_up_after(SIGTERM);
}

TEST(PgCluster, TheWatchdogCleansUpAfterSigkill) {
    cleaned_up_after(SIGKILL);
}

TEST(PgCluster, RunsSqlAndGivesEachTestItsOwnDatabase) {
    auto& c = shared_pg_cluster();
    auto a = c.create_database("Some Test/Name");
    auto b = c.create_database("Some Test/Name");
    EXPECT_NE(a, b);
    EXPECT_EQ(c.psql(a, "SELECT current_database()"), a);
    EXPECT_EQ(c.psql("postgres", "SELECT count(*) FROM pg_database WHERE datname IN ('" + a +
                                     "', '" + b + "')"),
              "2");
    EXPECT_THROW(c.psql(a, "SELECT * FROM no_such_table"), std::runtime_error);
    // Only the Unix socket in its directory: no TCP listener.
    EXPECT_EQ(c.psql("postgres", "SHOW listen_addresses"), "");
    EXPECT_TRUE(std::filesystem::exists(c.dir() + "/.s.PGSQL.5432"));
}

}  // namespace
}  // namespace taskpoller::testing
