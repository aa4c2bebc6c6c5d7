// The taskpoller-sim process: command line, TLS, signals, bad configuration.
#include "support/sim_process.hpp"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <thread>

#include "support/api.hpp"

namespace taskpoller::testing {
namespace {

TEST(SimProcess, HelpDocumentsEveryFlag) {
    std::string out;
    ASSERT_EQ(run_sim({"--help"}, out), 0);
    for (const char* flag : {"--listen", "--port-file", "--config", "--seed", "--tls-cert",
                             "--tls-key", "--no-replay-check", "--no-rate-limit", "--log-level"})
        EXPECT_NE(out.find(flag), std::string::npos) << flag;
}

TEST(SimProcess, BadConfigurationFailsAtStartWithLocation) {
    temp_dir dir;
    auto path = dir.write("bad.yaml", "faults:\n  global: {teleport: 1}\n");
    std::string out;
    EXPECT_EQ(run_sim({"--listen", "127.0.0.1:0", "--config", path}, out), 2);
    EXPECT_NE(out.find("bad.yaml:2:"), std::string::npos) << out;
    EXPECT_NE(run_sim({"--listen", "nonsense"}, out), 0);
}

TEST(SimProcess, SigtermAndSigintExitZeroEvenWithOpenConnections) {
    for (int sig : {SIGTERM, SIGINT}) {
        sim_process sim;
        http_client idle(sim.port());
        EXPECT_EQ(code(call(idle, "cvm", "DescribeInstances")), 0);  // leaves a kept-alive link
        EXPECT_EQ(sim.stop(sig), 0) << sim.stderr_text();
    }
}

TEST(SimProcess, ServesHttpsWithAGivenCertificate) {
    temp_dir dir;
    auto cert = dir.path() + "/cert.pem", key = dir.path() + "/key.pem";
    std::string cmd = std::string(OPENSSL_PROGRAM) +
                      " req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=localhost -keyout " +
                      key + " -out " + cert + " >/dev/null 2>&1";
    ASSERT_EQ(std::system(cmd.c_str()), 0);
    sim_process sim("tls_only: true\n", {"--tls-cert", cert, "--tls-key", key});
    http_client c(sim.port(), cert);
    EXPECT_EQ(code(call(c, "cvm", "DescribeInstances")), 0);
    EXPECT_EQ(code(call(c, "lb", "DeleteLoadBalancers", {{"loadBalancerIds.0", "lb-tls"}})), 0);
    EXPECT_EQ(sim.stop(SIGTERM), 0);
}

TEST(SimProcess, MissingTlsFilesFailAtStart) {
    std::string out;
    EXPECT_EQ(run_sim({"--listen", "127.0.0.1:0", "--tls-cert", "/nonexistent/c.pem", "--tls-key",
                       "/nonexistent/k.pem"},
                      out),
              2);
    EXPECT_NE(out.find("TLS"), std::string::npos) << out;
}

// Whether `pid` has ended: gone, or a zombie nobody has reaped yet (a container's init may not).
bool ended(pid_t pid) {
    auto stat = read_file("/proc/" + std::to_string(pid) + "/stat");
    if (stat.empty()) return true;
    auto close = stat.rfind(')');
    return close != std::string::npos && close + 2 < stat.size() && stat[close + 2] == 'Z';
}

// A test that ctest kills at its timeout must not leave its daemons and simulators running (and
// loading the machine for the tests after it): what spawn_program starts dies with its starter.
TEST(SimProcess, AStartedProgramDiesWithTheProcessThatStartedIt) {
    temp_dir dir;
    int fds[2];
    ASSERT_EQ(::pipe(fds), 0);
    pid_t starter = ::fork();
    ASSERT_GE(starter, 0);
    if (starter == 0) {  // stands for a test process: starts a program, then is killed
        ::close(fds[0]);
        pid_t p = spawn_program("/bin/sleep", {"60"}, dir.path() + "/out", dir.path() + "/err");
        (void)!::write(fds[1], &p, sizeof p);
        ::pause();
        ::_exit(0);
    }
    ::close(fds[1]);
    pid_t program = 0;
    ASSERT_EQ(::read(fds[0], &program, sizeof program), static_cast<ssize_t>(sizeof program));
    ::close(fds[0]);
    ASSERT_GT(program, 0);
    EXPECT_FALSE(ended(program)) << "the program did not start";
    ::kill(starter, SIGKILL);
    ASSERT_EQ(::waitpid(starter, nullptr, 0), starter);
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!ended(program) && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    EXPECT_TRUE(ended(program)) << "pid " << program << " outlived the process that started it";
    if (!ended(program)) ::kill(program, SIGKILL);
}

}  // namespace
}  // namespace taskpoller::testing
