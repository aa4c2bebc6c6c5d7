// Runs the real taskpollerctl binary against a fake daemon: requests it sends, output, exit codes.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <boost/json/parse.hpp>
#include <cstring>
#include <map>

#include "fake_daemon.hpp"
#include "sample_json.hpp"

namespace taskpoller::ctl::test {
namespace {
namespace json = boost::json;

TEST(CtlClient, PingReportsApiVersion) {
    canned_response pong;
    pong.content_type = "text/plain";
    pong.body = "OK";
    pong.headers = {{"Api-Version", "1"}};
    fake_daemon d(routes({{"GET /_ping", pong}}));
    auto r = run_ctl(with_socket(d, {"ping"}));
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out, "OK (api version 1)\n");
    r = run_ctl(with_socket(d, {"ping", "--json"}));
    EXPECT_EQ(json::parse(r.out), json::parse(R"({"ok":true,"api_version":"1"})"));
}

TEST(CtlClient, SocketFromEnvironment) {
    fake_daemon d(routes({{"GET /v1/status", ok_json(R"({"version":"9.9"})")}}));
    auto r = run_ctl({"status"}, {"TASKPOLLER_SOCKET=" + d.socket_path()});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_TRUE(has(r.out, "version:    9.9")) << r.out;
    // -s wins over the environment.
    r = run_ctl({"-s", d.directory() + "/none.sock", "status"},
                {"TASKPOLLER_SOCKET=" + d.socket_path()});
    EXPECT_EQ(r.exit_code, 3);
}

TEST(CtlClient, SubmitSendsTheDocumentedBodyAndPrintsTheBatch) {
    fake_daemon d(routes({{"POST /v1/batches", ok_json(running_batch, 202)}}));
    auto r = run_ctl(with_socket(d, {"submit",
                                     "cvm",
                                     "StopInstances",
                                     "--param",
                                     "instanceIds.0=ins-1",
                                     "--param",
                                     "instanceIds.1=ins-2",
                                     "--param-json",
                                     "force=true",
                                     "--region",
                                     "ap-guangzhou",
                                     "--label",
                                     "team=web",
                                     "--client-token",
                                     "t-1",
                                     "--timeout",
                                     "10m",
                                     "--poll-interval",
                                     "5s",
                                     "--poll-initial-delay",
                                     "2s",
                                     "--poll-max-interval",
                                     "1m"}));
    // One entry was rejected: exit 1 even though the rest is running.
    EXPECT_EQ(r.exit_code, 1) << r.err;
    EXPECT_TRUE(has(r.out, "ins-bad   rejected  -           9003  instance not found")) << r.out;
    const auto reqs = d.requests();
    ASSERT_EQ(reqs.size(), 1u);
    EXPECT_EQ(reqs[0].content_type, "application/json");
    EXPECT_EQ(json::parse(reqs[0].body), json::parse(R"({"service":"cvm",
        "action":"StopInstances","params":{"instanceIds":["ins-1","ins-2"],"force":true},
        "region":"ap-guangzhou","client_token":"t-1","labels":{"team":"web"},
        "poll":{"timeout":"10m","interval":"5s","initial_delay":"2s","max_interval":"1m"}})"));
}

TEST(CtlClient, SubmitJsonPrintsTheDaemonBodyExactly) {
    fake_daemon d(routes({{"POST /v1/batches", ok_json(done_batch, 202)}}));
    auto r = run_ctl(with_socket(d, {"--json", "submit", "cvm", "StopInstances", "--params-json",
                                     R"({"instanceIds":["ins-1"]})"}));
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out, std::string(done_batch) + "\n");
    EXPECT_EQ(json::parse(d.requests().at(0).body).at("params"),
              json::parse(R"({"instanceIds":["ins-1"]})"));
}

TEST(CtlClient, SubmitUsageErrorsExitThreeWithoutContactingTheDaemon) {
    fake_daemon d(routes({}));
    for (const std::vector<std::string>& args :
         {std::vector<std::string>{"submit", "cvm"},
          {"submit", "cvm", "X", "--param", "novalue"},
          {"submit", "cvm", "X", "--param", "a.1=x"},
          {"submit", "cvm", "X", "--params-json", "[1]"},
          {"submit", "cvm", "X", "--params-json", "@/nonexistent/file.json"},
          {"submit", "cvm", "X", "--timeout", "soon"},
          {"submit", "cvm", "X", "--label", "k"},
          {"list", "things"},
          {"list", "batches", "--batch", "b-1"},
          {"list", "tasks", "--limit", "1001"},  // beyond the daemon's page bound
          {"get", "lb/"},
          {"get", "b-0002", "--batch", "b-0001"},  // qualifiers choose among tasks only
          {"nosuchcommand"},
          {"--timeout", "1y", "status"}}) {
        const auto r = run_ctl(with_socket(d, args));
        EXPECT_EQ(r.exit_code, 3) << args.back();
        EXPECT_FALSE(r.err.empty()) << args.back();
    }
    EXPECT_TRUE(d.requests().empty());
}

TEST(CtlClient, HelpForEveryCommandHasExamples) {
    for (const char* cmd : {"submit", "track", "get", "list", "wait", "watch", "cancel", "status",
                            "reload", "metrics", "ping", "doctor"}) {
        const auto r = run_ctl({cmd, "--help"});
        EXPECT_EQ(r.exit_code, 0) << cmd;
        EXPECT_TRUE(has(r.out, "Example")) << cmd;
        EXPECT_TRUE(has(r.out, std::string("taskpollerctl ") + cmd)) << cmd;
    }
}

TEST(CtlClient, GetDetectsBatchOrTaskBySlash) {
    fake_daemon d(routes({{"GET /v1/batches/b-0002", ok_json(done_batch)},
                          {"GET /v1/tasks/lb/6356081", ok_json(running_task)}}));
    auto r = run_ctl(with_socket(d, {"get", "b-0002"}));
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_TRUE(has(r.out, "batch b-0002  done")) << r.out;
    r = run_ctl(with_socket(d, {"get", "lb/6356081", "--json"}));
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out, std::string(running_task) + "\n");
}

TEST(CtlClient, IdsArePercentEncodedInPaths) {
    fake_daemon d(routes({}));
    run_ctl(with_socket(d, {"get", "lb/a b?c/d"}));
    ASSERT_EQ(d.requests().size(), 1u);
    EXPECT_EQ(d.requests()[0].target, "/v1/tasks/lb/a%20b%3Fc%2Fd");
}

// Tasks that share a requestId (issue 16 item 4) are chosen with --region and --batch.
TEST(CtlClient, RegionAndBatchQualifyATaskId) {
    fake_daemon d(routes({}));
    run_ctl(with_socket(d, {"get", "lb/7", "--batch", "b-0002", "--region", "ap-beijing"}));
    run_ctl(with_socket(d, {"cancel", "lb/7", "--batch", "b-0002"}));
    ASSERT_EQ(d.requests().size(), 2u);
    EXPECT_EQ(d.requests()[0].target, "/v1/tasks/lb/7?region=ap-beijing&batch=b-0002");
    EXPECT_EQ(d.requests()[1].target, "/v1/tasks/lb/7?batch=b-0002");
}

TEST(CtlClient, DaemonErrorsArePrintedWithCodeAndStatus) {
    fake_daemon d(routes({}));
    auto r = run_ctl(with_socket(d, {"get", "b-missing"}));
    EXPECT_EQ(r.exit_code, 2);  // unknown id
    EXPECT_EQ(r.err, "taskpollerctl: no route /v1/batches/b-missing (not_found, HTTP 404)\n");
    EXPECT_TRUE(r.out.empty());
    r = run_ctl(with_socket(d, {"--json", "get", "b-missing"}));
    EXPECT_EQ(json::parse(r.out).at("error").at("code"), "not_found");
}

TEST(CtlClient, MethodNotAllowedShowsAllow) {
    auto e = error_response(405, "method_not_allowed", "DELETE is not allowed here");
    e.headers = {{"Allow", "GET"}};
    fake_daemon d(routes({{"DELETE /v1/batches/b-1", e}}));
    const auto r = run_ctl(with_socket(d, {"cancel", "b-1"}));
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_EQ(r.err,
              "taskpollerctl: DELETE is not allowed here (method_not_allowed, HTTP 405) "
              "(allowed: GET)\n");
}

TEST(CtlClient, CancelTaskAndConflict) {
    fake_daemon d(routes({{"DELETE /v1/tasks/lb/1",
                           ok_json(R"({"service":"lb","request_id":"1","state":"cancelled"})")},
                          {"DELETE /v1/tasks/lb/2",
                           error_response(409, "conflict", "task lb/2 already finished")}}));
    auto r = run_ctl(with_socket(d, {"cancel", "lb/1"}));
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_TRUE(has(r.out, "task lb/1  cancelled"));
    r = run_ctl(with_socket(d, {"cancel", "lb/2"}));
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_TRUE(has(r.err, "(conflict, HTTP 409)"));
}

TEST(CtlClient, NonJsonErrorBodyIsStillReported) {
    canned_response c;
    c.status = 503;
    c.content_type = "text/plain";
    c.body = "busy";
    fake_daemon d(routes({{"GET /v1/status", c}}));
    const auto r = run_ctl(with_socket(d, {"status"}));
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_EQ(r.err, "taskpollerctl: the daemon answered HTTP 503: busy\n");
}

TEST(CtlClient, InvalidJsonFromTheDaemonIsAProtocolError) {
    fake_daemon d(routes({{"GET /v1/status", ok_json("{not json")}}));
    const auto r = run_ctl(with_socket(d, {"status"}));
    EXPECT_EQ(r.exit_code, 3);
    EXPECT_TRUE(has(r.err, "invalid JSON response"));
}

TEST(CtlClient, ClosedConnectionIsAConnectionError) {
    canned_response c;
    c.how = canned_response::mode::close;
    fake_daemon d([c](const recorded_request&) { return c; });
    const auto r = run_ctl(with_socket(d, {"status"}));
    EXPECT_EQ(r.exit_code, 3);
    EXPECT_TRUE(has(r.err, "closed the connection")) << r.err;
    EXPECT_TRUE(has(r.err, d.socket_path())) << r.err;
}

TEST(CtlClient, SilentDaemonTimesOut) {
    canned_response c;
    c.how = canned_response::mode::hang;
    fake_daemon d([c](const recorded_request&) { return c; });
    const auto r = run_ctl(with_socket(d, {"--timeout", "300ms", "status"}));
    EXPECT_EQ(r.exit_code, 3);
    EXPECT_TRUE(has(r.err, "no answer from the daemon")) << r.err;
}

TEST(CtlClient, MissingSocketNamesThePathAndCause) {
    const auto r = run_ctl({"-s", "/tmp/ctl-test-no-such-dir/x.sock", "status"});
    EXPECT_EQ(r.exit_code, 3);
    EXPECT_EQ(r.err,
              "taskpollerctl: cannot connect to /tmp/ctl-test-no-such-dir/x.sock: no such "
              "socket (is taskpollerd running? pick another socket with -s PATH or "
              "TASKPOLLER_SOCKET)\n");
}

TEST(CtlClient, StaleSocketIsConnectionRefused) {
    // A socket file nobody listens on (a daemon that died without cleaning up).
    char tmpl[] = "/tmp/ctl-test-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    const std::string sock = std::string(tmpl) + "/stale.sock";
    const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, sock.c_str(), sizeof addr.sun_path - 1);
    ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    ::close(fd);
    const auto r = run_ctl({"-s", sock, "status"});
    ::unlink(sock.c_str());
    ::rmdir(tmpl);
    EXPECT_EQ(r.exit_code, 3);
    EXPECT_TRUE(has(r.err, "connection refused")) << r.err;
}

TEST(CtlClient, PermissionDeniedHintsAtTheGroup) {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root to run the client as nobody";
    fake_daemon d(routes({}));
    ::chmod(d.directory().c_str(), 0755);
    ::chmod(d.socket_path().c_str(), 0600);
    const auto r = run_ctl(with_socket(d, {"status"}), {}, false, /*as_nobody=*/true);
    EXPECT_EQ(r.exit_code, 3) << r.err;
    EXPECT_TRUE(has(r.err, "permission denied")) << r.err;
    EXPECT_TRUE(has(r.err, "group")) << r.err;
}

TEST(CtlClient, ListFollowsPagesWithAll) {
    const std::string page1 =
        std::string(R"({"tasks":[)") + running_task + R"(],"next_page_token":"p2"})";
    const std::string page2 = R"({"tasks":[{"service":"cvm","request_id":"9","state":"failed"}],
        "next_page_token":null})";
    fake_daemon d(routes(
        {{"GET /v1/tasks?state=running&label=team%3Dweb&limit=1", ok_json(page1)},
         {"GET /v1/tasks?state=running&label=team%3Dweb&limit=1&page_token=p2", ok_json(page2)}}));
    auto r = run_ctl(with_socket(d, {"list", "tasks", "--state", "running", "--label", "team=web",
                                     "--limit", "1", "--all", "--json"}));
    EXPECT_EQ(r.exit_code, 0) << r.err;
    const auto merged = json::parse(r.out);
    EXPECT_EQ(merged.at("tasks").as_array().size(), 2u);
    EXPECT_TRUE(merged.at("next_page_token").is_null());
    // Without --all: one page, and a hint on stderr.
    r = run_ctl(with_socket(
        d, {"list", "tasks", "--state", "running", "--label", "team=web", "--limit", "1"}));
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_TRUE(has(r.out, "lb/6356081  running")) << r.out;
    EXPECT_TRUE(has(r.err, "--page-token p2")) << r.err;
}

TEST(CtlClient, ListBatchesDefaultAndFilters) {
    const std::string page =
        std::string(R"({"batches":[)") + done_batch + R"(],"next_page_token":null})";
    fake_daemon d(routes({{"GET /v1/batches", ok_json(page)},
                          {"GET /v1/batches?service=cvm&action=StopInstances", ok_json(page)}}));
    auto r = run_ctl(with_socket(d, {"list"}));
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_TRUE(has(r.out, "b-0002  done")) << r.out;
    r = run_ctl(
        with_socket(d, {"list", "batches", "--service", "cvm", "--action", "StopInstances"}));
    EXPECT_EQ(r.exit_code, 0) << r.err;
}

TEST(CtlClient, TrackSendsTheTaskBody) {
    fake_daemon d(routes({{"POST /v1/tasks", ok_json(running_task, 201)}}));
    const auto r = run_ctl(with_socket(
        d, {"track", "lb", "6356081", "--action", "ModifyLoadBalancerBackends", "--resource",
            "lb-xyz", "--resource", "lb-2", "--label", "ticket=OPS-7", "--timeout", "30m"}));
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_TRUE(has(r.out, "task lb/6356081  running"));
    EXPECT_EQ(json::parse(d.requests().at(0).body), json::parse(R"({"service":"lb",
        "request_id":"6356081","action":"ModifyLoadBalancerBackends",
        "resources":["lb-xyz","lb-2"],"labels":{"ticket":"OPS-7"},"poll":{"timeout":"30m"}})"));
}

TEST(CtlClient, ReloadSuccessAndValidationErrors) {
    fake_daemon ok(
        routes({{"POST /v1/reload",
                 ok_json(R"({"reloaded":true,"restart_required":["control.socket"]})")}}));
    auto r = run_ctl(with_socket(ok, {"reload"}));
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out,
              "configuration reloaded\nchanges that need a restart to take effect: "
              "control.socket\n");
    canned_response bad;
    bad.status = 400;
    bad.body = R"({"error":{"code":"invalid_config","message":"configuration is invalid",
        "details":["a.yaml:3:5: polling.interval: bad duration","a.yaml:9:1: x: unknown key"]}})";
    fake_daemon d(routes({{"POST /v1/reload", bad}}));
    r = run_ctl(with_socket(d, {"reload"}));
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_EQ(r.err,
              "taskpollerctl: configuration is invalid (invalid_config, HTTP 400)\n"
              "  a.yaml:3:5: polling.interval: bad duration\n"
              "  a.yaml:9:1: x: unknown key\n");
}

TEST(CtlClient, MetricsAreRawText) {
    canned_response m;
    m.content_type = "text/plain; version=0.0.4";
    m.body = "# TYPE taskpoller_tasks gauge\ntaskpoller_tasks{state=\"running\"} 3\n";
    fake_daemon d(routes({{"GET /metrics", m}}));
    const auto r = run_ctl(with_socket(d, {"metrics"}));
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out, m.body);
}

TEST(CtlClient, NoColourWhenNotATerminalColourOnAPty) {
    fake_daemon d(routes({{"GET /v1/batches/b-0002", ok_json(done_batch)}}));
    auto r = run_ctl(with_socket(d, {"get", "b-0002"}));
    EXPECT_EQ(r.exit_code, 0);
    EXPECT_FALSE(has(r.out, "\x1b["));
    r = run_ctl(with_socket(d, {"get", "b-0002"}), {}, /*stdout_tty=*/true);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_TRUE(has(r.out, "\x1b[32m")) << r.out;
    r = run_ctl(with_socket(d, {"get", "b-0002"}), {"NO_COLOR=1"}, true);
    EXPECT_FALSE(has(r.out, "\x1b[")) << r.out;
    r = run_ctl(with_socket(d, {"--no-color", "get", "b-0002"}), {}, true);
    EXPECT_FALSE(has(r.out, "\x1b[")) << r.out;
}

// taskpollerctl doctor against a daemon whose probe of cvm was refused: the report, exit 1.
TEST(CtlClient, DoctorReportsRefusedCredentialsAndExitsOne) {
    fake_daemon d(routes(
        {{"GET /v1/status",
          ok_json(R"({"version":"0.1.0","uptime_seconds":3,"journal":{"enabled":false},)"
                  R"("cloud_checks":[{"service":"cvm","action":"DescribeInstances",)"
                  R"("result":"refused","message":"refused: AuthFailure.SignatureFailure"}]})")},
         {"GET /v1/config",
          ok_json(
              R"({"cloud":{"region":"ap-guangzhou","protocol":"v2","endpoint":"nearest",)"
              R"("scheme":"https"},"credentials":{"source":"files","source_detail":"files a, b"}})")}}));
    auto r = run_ctl(with_socket(d, {"doctor"}));
    EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
    EXPECT_TRUE(has(r.out, "FAIL cloud access cvm (DescribeInstances): refused")) << r.out;
    EXPECT_TRUE(has(r.out, "ok   credentials from files a, b")) << r.out;
}

}  // namespace
}  // namespace taskpoller::ctl::test
