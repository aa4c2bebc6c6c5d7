// Issue 18: the daemon measures its clock against the cloud's Date header. The real simulator,
// its clock shifted with clock_offset, and the real taskpollerd and taskpollerctl.
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/wait.h>

#include <boost/json.hpp>
#include <cmath>
#include <regex>
#include <thread>

#include "ctl/unix_client.hpp"
#include "support/daemon_process.hpp"
#include "support/sim_process.hpp"

namespace json = boost::json;
using namespace std::chrono_literals;
using taskpoller::testing::daemon_process;
using taskpoller::testing::sim_process;
using taskpoller::testing::temp_dir;

namespace {

std::string daemon_config(const temp_dir& dir, std::uint16_t sim_port) {
    return "cloud:\n"
           "  region: ap-guangzhou\n"
           "  scheme: http\n"
           "  connect_to: \"127.0.0.1:" +
           std::to_string(sim_port) +
           "\"\n"
           "control: {socket: " +
           dir.path() +
           "/d.sock}\n"
           "logging: {level: info}\n";
}

// /v1/status once every service's probe has answered (empty object if it never does).
json::object status_after_probes(const taskpoller::ctl::client_options& client) {
    for (int i = 0; i < 200; ++i) {
        auto r = taskpoller::ctl::send_request(client, "GET", "/v1/status");
        if (r && r->status == 200) {
            auto status = json::parse(r->body).as_object();
            if (!status.at("cloud_checks").as_array().empty()) return status;
        }
        std::this_thread::sleep_for(100ms);
    }
    return {};
}

struct ctl_run {
    int exit_code = -1;
    std::string out;
};

ctl_run run_ctl(const temp_dir& dir, const std::vector<std::string>& args) {
    const auto out = dir.path() + "/ctl.out";
    const auto err = dir.path() + "/ctl.err";
    ::unlink(out.c_str());
    auto pid = taskpoller::testing::spawn_program(TASKPOLLERCTL_PATH, args, out, err);
    const int status = taskpoller::testing::wait_for_exit(pid, 20000);
    return {WIFEXITED(status) ? WEXITSTATUS(status) : -1,
            taskpoller::testing::read_file(out) + taskpoller::testing::read_file(err)};
}

bool matches(const std::string& text, const char* pattern) {
    return std::regex_search(text, std::regex(pattern));
}

double number(const json::value& v) {
    return v.is_number() ? v.to_number<double>() : NAN;
}

struct skew_case {
    const char* clock_offset;
    double expected_skew_ms;  // cloud − local
};

// The simulator with its clock shifted by `clock_offset`, and a started daemon reaching it.
struct skewed_cloud {
    explicit skewed_cloud(const std::string& clock_offset)
        : sim("clock_offset: " + clock_offset + "\n"),
          daemon(dir.write("taskpoller.yaml", daemon_config(dir, sim.port())),
                 dir.path() + "/d.sock", dir.path() + "/daemon.log") {
        daemon.start();
        client.socket_path = daemon.socket_path();
    }
    sim_process sim;
    temp_dir dir;
    daemon_process daemon;
    taskpoller::ctl::client_options client;
};

}  // namespace

// The simulated cloud 10 minutes behind this machine: the daemon's probes are refused as the
// cloud refuses an expired signature, /v1/status shows the skew, doctor says FAIL.
TEST(ClockSkew, a_clock_ten_minutes_off_is_measured_refused_and_reported) {
    ::setenv("TASKPOLLER_SECRET_ID", "AKIDz8krbsJ5yKBZQpn74WFkmLPx3gnPhESA", 1);
    ::setenv("TASKPOLLER_SECRET_KEY", "Gu5t9xGARNpq86cd98joQYCN3Cozk1qA", 1);
    skewed_cloud setup("-10m");
    auto& [sim, dir, daemon, client] = setup;
    auto status = status_after_probes(client);
    ASSERT_FALSE(status.empty()) << daemon.log_tail();

    const auto& checks = status.at("cloud_checks").as_array();
    ASSERT_GE(checks.size(), 2u) << daemon.log_tail();
    bool saw_v2 = false, saw_v3 = false;
    for (const auto& c : checks) {
        const auto text = json::serialize(c);
        EXPECT_EQ(c.at("result").as_string(), "refused") << text;
        EXPECT_NEAR(number(c.at("clock_skew_ms")), -600'000.0, 2'000.0) << text;
        EXPECT_GE(number(c.at("rtt_ms")), 0.0) << text;
        const std::string message(c.at("message").as_string());
        // As the cloud refuses an expired signature: 2.0 code 4500, 3.0 SignatureExpire.
        saw_v2 = saw_v2 || message.find("code 4500: Timestamp is outside") != std::string::npos;
        saw_v3 = saw_v3 || message.find("AuthFailure.SignatureExpire") != std::string::npos;
        // 600 s within the reading's ±2 s.
        EXPECT_TRUE(matches(message, R"(\(this machine's clock is (59[89]|60[01])\.\d s ahead of )"
                                     R"(the cloud \(±\d\.\d s\)\))"))
            << text;
    }
    EXPECT_TRUE(saw_v2 && saw_v3) << json::serialize(checks);

    const auto& clock = status.at("clock").as_object();
    EXPECT_NEAR(number(clock.at("skew_ms")), -600'000.0, 2'000.0) << json::serialize(clock);
    EXPECT_EQ(clock.at("level").as_string(), "fail") << json::serialize(clock);
    EXPECT_FALSE(clock.at("service").as_string().empty());
    EXPECT_GE(number(clock.at("uncertainty_ms")), 500.0);

    const auto log = taskpoller::testing::read_file(dir.path() + "/daemon.log");
    EXPECT_NE(log.find("beyond the cloud's 300 s signature window"), std::string::npos)
        << daemon.log_tail();

    auto metrics = taskpoller::ctl::send_request(client, "GET", "/metrics");
    ASSERT_TRUE(metrics.has_value());
    const auto at = metrics->body.find("\ntaskpoller_cloud_clock_skew_seconds ");
    ASSERT_NE(at, std::string::npos) << metrics->body;
    EXPECT_NEAR(std::stod(metrics->body.substr(at + 37)), -600.0, 2.0);

    auto doctor = run_ctl(dir, {"-s", daemon.socket_path(), "doctor"});
    EXPECT_EQ(doctor.exit_code, 1) << doctor.out;
    EXPECT_TRUE(matches(doctor.out, R"(\nFAIL clock: (59[89]|60[01])\.\d s ahead of the cloud )"
                                    R"(\(±\d\.\d s, measured \d+ s ago via [a-z]+\))"))
        << doctor.out;
    EXPECT_NE(doctor.out.find("beyond the cloud's 300 s signature window"), std::string::npos)
        << doctor.out;
    EXPECT_EQ(daemon.stop(SIGTERM), 0) << daemon.log_tail();
}

// The same set-up with clocks in step (and with one a little off, within the window): the
// probes pass, the skew is measured near the offset, doctor's clock line says ok or warn.
TEST(ClockSkew, clocks_in_step_or_a_little_off_pass) {
    for (const auto& [offset, expected] : {skew_case{"0s", 0.0}, skew_case{"+90s", 90'000.0}}) {
        ::setenv("TASKPOLLER_SECRET_ID", "AKIDz8krbsJ5yKBZQpn74WFkmLPx3gnPhESA", 1);
        ::setenv("TASKPOLLER_SECRET_KEY", "Gu5t9xGARNpq86cd98joQYCN3Cozk1qA", 1);
        skewed_cloud setup(offset);
        auto& [sim, dir, daemon, client] = setup;
        auto status = status_after_probes(client);
        ASSERT_FALSE(status.empty()) << daemon.log_tail();
        for (const auto& c : status.at("cloud_checks").as_array()) {
            EXPECT_EQ(c.at("result").as_string(), "ok") << json::serialize(c);
            EXPECT_NEAR(number(c.at("clock_skew_ms")), expected, 2'000.0) << json::serialize(c);
        }
        const auto& clock = status.at("clock").as_object();
        EXPECT_NEAR(number(clock.at("skew_ms")), expected, 2'000.0) << json::serialize(clock);
        auto doctor = run_ctl(dir, {"-s", daemon.socket_path(), "doctor"});
        EXPECT_EQ(doctor.exit_code, 0) << doctor.out;
        if (expected == 0.0) {
            EXPECT_TRUE(
                matches(doctor.out,
                        R"(\nok   clock: (in step with|[01]\.\d s (behind|ahead of)) the cloud)"))
                << doctor.out;
        } else {
            EXPECT_TRUE(matches(
                doctor.out,
                R"(\nwarn clock: (8[89]|9[01])\.\d s behind the cloud .*: more than 60 s off)"))
                << doctor.out;
        }
        EXPECT_EQ(daemon.stop(SIGTERM), 0) << daemon.log_tail();
    }
}
