// Operator experience of the real taskpollerctl binary (issue 18): command discovery, shell
// completion, output formats, failure reasons, what cancel means, status and config.
#include <gtest/gtest.h>
#include <unistd.h>

#include <array>
#include <boost/json/parse.hpp>
#include <cstdio>
#include <fstream>
#include <map>

#include "fake_daemon.hpp"
#include "sample_json.hpp"

namespace taskpoller::ctl::test {
namespace {
namespace json = boost::json;

const std::vector<std::string> all_commands{"submit",  "track",  "get",       "list",   "wait",
                                            "watch",   "cancel", "status",    "config", "reload",
                                            "metrics", "ping",   "completion"};

// Runs `script` with bash -c; returns its standard output.
std::string run_bash(const std::string& script) {
    const std::string path = "/tmp/ctl-ux-test-" + std::to_string(::getpid()) + ".sh";
    std::ofstream(path) << script;
    std::string out;
    if (FILE* p = ::popen(("bash " + path).c_str(), "r")) {
        std::array<char, 4096> buf{};
        while (const auto n = std::fread(buf.data(), 1, buf.size(), p)) out.append(buf.data(), n);
        ::pclose(p);
    }
    std::remove(path.c_str());
    return out;
}

// A done batch with one succeeded, one failed and one timed-out task.
constexpr const char* failed_batch = R"({"id":"b-0003","state":"done","service":"cvm",
 "action":"StopInstances","region":"ap-guangzhou","code":0,"message":"",
 "created_at":"2026-11-27T23:15:20.123Z","finished_at":"2026-11-27T23:18:32.123Z","labels":{},
 "counts":{"succeeded":1,"failed":1,"timed_out":1},
 "entries":[{"resource_id":"ins-1","code":0,"message":"","request_id":"101","state":"succeeded"},
            {"resource_id":"ins-2","code":0,"message":"","request_id":"102","state":"failed"},
            {"resource_id":"ins-3","code":0,"message":"","request_id":"103","state":"timed_out"}]})";
constexpr const char* failed_tasks = R"({"tasks":[
 {"service":"cvm","request_id":"101","state":"succeeded","last_error":null},
 {"service":"cvm","request_id":"102","state":"failed","last_error":"InvalidInstanceState: ins-2 is locked"},
 {"service":"cvm","request_id":"103","state":"timed_out","last_error":null,"last_status":"STOPPING"}],
 "next_page_token":null})";

TEST(CtlUx, BareCommandPrintsTheUsageWithTheCommands) {
    const auto r = run_ctl({});
    EXPECT_EQ(r.exit_code, 3);
    for (const auto& c : all_commands) EXPECT_TRUE(has(r.err, "  " + c + " ")) << c << r.err;
    EXPECT_TRUE(has(r.err, "taskpollerctl: no command given")) << r.err;
    // Global options alone are still no command.
    EXPECT_EQ(run_ctl({"-s", "/nonexistent.sock", "--json"}).exit_code, 3);
}

TEST(CtlUx, UnknownCommandSuggestsTheClosest) {
    fake_daemon d(routes({}));
    auto r = run_ctl(with_socket(d, {"lsit"}));
    EXPECT_EQ(r.exit_code, 3);
    EXPECT_TRUE(has(r.err, "taskpollerctl: unknown command \"lsit\"; did you mean \"list\"?\n"))
        << r.err;
    r = run_ctl(with_socket(d, {"--timeout", "5s", "stauts", "--json"}));
    EXPECT_EQ(r.exit_code, 3);
    EXPECT_TRUE(has(r.err, "unknown command \"stauts\"; did you mean \"status\"?")) << r.err;
    r = run_ctl(with_socket(d, {"xyzzy"}));
    EXPECT_EQ(r.exit_code, 3);
    EXPECT_TRUE(has(r.err, "unknown command \"xyzzy\"\n")) << r.err;
    EXPECT_TRUE(d.requests().empty());
}

TEST(CtlUx, EveryCommandsHelpListsTheGlobalOptions) {
    for (const auto& c : all_commands) {
        const auto r = run_ctl({c, "--help"});
        EXPECT_EQ(r.exit_code, 0) << c;
        EXPECT_TRUE(has(r.out, "Global options")) << c;
        for (const char* g : {"--socket", "--timeout", "--json", "--output", "--no-color"}) {
            EXPECT_TRUE(has(r.out, g)) << c << " " << g;
        }
    }
}

TEST(CtlUx, BashCompletionCompletesCommandsOptionsAndValues) {
    const auto r = run_ctl({"completion", "bash"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    auto complete = [&](const std::string& words, int cword) {
        return run_bash(r.out + "\nCOMP_WORDS=(" + words +
                        "); COMP_CWORD=" + std::to_string(cword) +
                        "; _taskpollerctl; printf '%s\\n' \"${COMPREPLY[@]}\"\n");
    };
    EXPECT_EQ(complete("taskpollerctl li", 1), "list\n");
    EXPECT_EQ(complete("taskpollerctl -s /x.sock w", 3), "wait\nwatch\n");
    EXPECT_EQ(complete("taskpollerctl list t", 2), "tasks\n");
    EXPECT_EQ(complete("taskpollerctl list --pa", 2), "--page-token\n");
    EXPECT_EQ(complete("taskpollerctl get b-1 -o y", 4), "yaml\n");
    EXPECT_EQ(complete("taskpollerctl completion z", 2), "zsh\n");
    EXPECT_EQ(complete("taskpollerctl get --no-c", 2), "--no-color\n");
}

TEST(CtlUx, EveryShellsScriptNamesEveryCommand) {
    for (const char* shell : {"bash", "zsh", "fish"}) {
        const auto r = run_ctl({"completion", shell});
        EXPECT_EQ(r.exit_code, 0) << shell << r.err;
        EXPECT_FALSE(r.out.empty()) << shell;
        for (const auto& c : all_commands) EXPECT_TRUE(has(r.out, " " + c)) << shell << " " << c;
        EXPECT_TRUE(has(r.out, "page-token")) << shell;  // fish writes -l page-token
        EXPECT_TRUE(has(r.out, "batches tasks")) << shell;
        EXPECT_TRUE(has(r.out, "table wide json yaml name")) << shell;
    }
    EXPECT_EQ(run_ctl({"completion", "tcsh"}).exit_code, 3);
}

TEST(CtlUx, OutputFormats) {
    const std::string tasks =
        std::string(R"({"tasks":[)") + running_task + R"(],"next_page_token":null})";
    fake_daemon d(routes({{"GET /v1/batches/b-0002", ok_json(done_batch)},
                          {"GET /v1/tasks", ok_json(tasks)},
                          {"GET /v1/tasks/lb/6356081", ok_json(running_task)}}));
    auto r = run_ctl(with_socket(d, {"get", "b-0002", "-o", "name"}));
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out, "b-0002\n");
    r = run_ctl(with_socket(d, {"list", "tasks", "--output=name"}));
    EXPECT_EQ(r.out, "lb/6356081\n");
    r = run_ctl(with_socket(d, {"-o", "json", "get", "lb/6356081"}));
    EXPECT_EQ(r.out, std::string(running_task) + "\n");  // as --json: the daemon's bytes
    r = run_ctl(with_socket(d, {"get", "b-0002", "-o", "yaml"}));
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_TRUE(has(r.out, "id: b-0002\nstate: done\n")) << r.out;
    EXPECT_TRUE(has(r.out, "created_at: \"2026-11-27T23:15:20.123Z\"\n")) << r.out;
    EXPECT_TRUE(has(r.out, "entries:\n- resource_id: ins-1\n  code: 0\n  message: \"\"\n"))
        << r.out;
    r = run_ctl(with_socket(d, {"list", "tasks"}));
    EXPECT_TRUE(has(r.out, "POLLS  AGE")) << r.out;
    EXPECT_TRUE(has(r.out, "DURATION")) << r.out;
    EXPECT_FALSE(has(r.out, "LAST_STATUS")) << r.out;
    r = run_ctl(with_socket(d, {"list", "tasks", "-o", "wide"}));
    EXPECT_TRUE(has(r.out, "LAST_STATUS  ERROR")) << r.out;
    r = run_ctl(with_socket(d, {"list", "tasks", "-o", "xml"}));
    EXPECT_EQ(r.exit_code, 3);
}

TEST(CtlUx, BatchTableShowsWhyTasksFailed) {
    const std::string page =
        std::string(R"({"batches":[)") + failed_batch + R"(],"next_page_token":null})";
    fake_daemon d(routes({{"GET /v1/batches/b-0003", ok_json(failed_batch)},
                          {"GET /v1/tasks?batch=b-0003&limit=1000", ok_json(failed_tasks)},
                          {"GET /v1/batches", ok_json(page)}}));
    auto r = run_ctl(with_socket(d, {"get", "b-0003"}));
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_TRUE(has(r.out, "batch b-0003  done (1 failed, 1 timed_out)  cvm/StopInstances"))
        << r.out;
    EXPECT_TRUE(has(r.out,
                    "ins-2     failed     102         0     "
                    "InvalidInstanceState: ins-2 is locked\n"))
        << r.out;
    EXPECT_TRUE(has(r.out, "ins-3     timed_out  103         0     STOPPING\n")) << r.out;
    EXPECT_TRUE(has(r.out, "ins-1     succeeded  101         0     -\n")) << r.out;
    r = run_ctl(with_socket(d, {"get", "b-0003"}), {}, /*stdout_tty=*/true);
    EXPECT_TRUE(has(r.out, "\x1b[31mdone (1 failed, 1 timed_out)\x1b[0m")) << r.out;
    r = run_ctl(with_socket(d, {"list"}));
    EXPECT_TRUE(has(r.out, "b-0003  done (1 failed, 1 timed_out)  cvm/StopInstances")) << r.out;
    r = run_ctl(with_socket(d, {"list"}), {"NO_COLOR=1"}, true);
    EXPECT_FALSE(has(r.out, "\x1b[")) << r.out;
    // The raw formats are the daemon's document, untouched.
    r = run_ctl(with_socket(d, {"get", "b-0003", "--json"}));
    EXPECT_EQ(r.out, std::string(failed_batch) + "\n");
}

// wait's final table gives the reasons too.
TEST(CtlUx, WaitFinalTableShowsWhyTasksFailed) {
    fake_daemon d(routes({{"GET /v1/batches/b-0003", ok_json(failed_batch)},
                          {"GET /v1/tasks?batch=b-0003&limit=1000", ok_json(failed_tasks)}}));
    const auto r = run_ctl(with_socket(d, {"wait", "b-0003"}));
    EXPECT_EQ(r.exit_code, 2) << r.err;  // a task timed out
    EXPECT_TRUE(has(r.out, "batch b-0003  done (1 failed, 1 timed_out)")) << r.out;
    EXPECT_TRUE(has(r.out, "InvalidInstanceState: ins-2 is locked\n")) << r.out;
}

TEST(CtlUx, CancelSaysTheCloudOperationGoesOn) {
    fake_daemon d(routes({{"DELETE /v1/tasks/lb/1",
                           ok_json(R"({"service":"lb","request_id":"1","state":"cancelled"})")}}));
    auto r = run_ctl(with_socket(d, {"cancel", "lb/1"}));
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_TRUE(has(r.out, "only tracking stopped: the cloud operation itself goes on")) << r.out;
    r = run_ctl(with_socket(d, {"cancel", "lb/1", "--json"}));
    EXPECT_EQ(json::parse(r.out).at("state"), "cancelled");  // stdout stays one document
    EXPECT_TRUE(has(r.err, "the cloud operation itself goes on")) << r.err;
    r = run_ctl({"cancel", "--help"});
    EXPECT_TRUE(has(r.out, "the cloud operation itself goes on")) << r.out;
}

TEST(CtlUx, StatusInWordsAndRawWithJson) {
    const std::string status = R"({"version":"0.1.0","api_version":1,"uptime_seconds":192,
        "tasks":{"running":2},"journal":{"enabled":true,"path":"/j","durability":"batch",
        "healthy":true,"durable":true,"error":null,"compaction_error":null}})";
    fake_daemon d(routes({{"GET /v1/status", ok_json(status)}}));
    auto r = run_ctl(with_socket(d, {"status"}));
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_TRUE(has(r.out, "uptime:     3m12s\n")) << r.out;
    EXPECT_TRUE(has(r.out, "journal:    healthy, durability batch, /j\n")) << r.out;
    EXPECT_FALSE(has(r.out, "compaction:")) << r.out;
    r = run_ctl(with_socket(d, {"status", "-o", "json"}));
    EXPECT_EQ(r.out, status + "\n");
}

TEST(CtlUx, ConfigAsYamlByDefaultJsonRaw) {
    const std::string config =
        R"({"cloud":{"region":"ap-guangzhou","scheme":"https"},"credentials":{"secret_id":)"
        R"("<redacted>","signature_method":"HmacSHA256"},"control":{"admin_uids":[0,1000]}})";
    fake_daemon d(routes({{"GET /v1/config", ok_json(config)}}));
    auto r = run_ctl(with_socket(d, {"config"}));
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out,
              "cloud:\n  region: ap-guangzhou\n  scheme: https\n"
              "credentials:\n  secret_id: \"<redacted>\"\n  signature_method: HmacSHA256\n"
              "control:\n  admin_uids:\n  - 0\n  - 1000\n");
    r = run_ctl(with_socket(d, {"config", "-o", "json"}));
    EXPECT_EQ(r.out, config + "\n");
    ASSERT_FALSE(d.requests().empty());
    EXPECT_EQ(d.requests()[0].target, "/v1/config");
}

}  // namespace
}  // namespace taskpoller::ctl::test
