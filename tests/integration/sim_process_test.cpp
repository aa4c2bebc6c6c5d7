// The taskpoller-sim process: command line, TLS, signals, bad configuration.
#include "support/sim_process.hpp"

#include <gtest/gtest.h>
#include <signal.h>

#include <cstdlib>

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

}  // namespace
}  // namespace taskpoller::testing
