// Streaming, graceful shutdown, socket creation/adoption and the peer-credential policy.
#include <fcntl.h>
#include <grp.h>
#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <cstring>

#include "server_fixture.hpp"
#include "test_routes.hpp"

namespace taskpoller::control::test {
namespace {

std::vector<std::string> lines_of(const std::string& body) {
    std::vector<std::string> out;
    std::size_t pos = 0;
    while (pos < body.size()) {
        auto nl = body.find('\n', pos);
        if (nl == std::string::npos) nl = body.size();
        out.push_back(body.substr(pos, nl - pos));
        pos = nl + 1;
    }
    return out;
}

TEST(Stream, FastReaderGetsEveryLineAndACleanEnd) {
    test_server s(make_test_routes());
    client c(s.path);
    auto r = c.request(http::verb::get, "/stream?n=2000&size=20");
    EXPECT_EQ(r.result_int(), 200);
    EXPECT_TRUE(r.chunked());
    EXPECT_EQ(r[http::field::content_type], "application/x-ndjson");
    auto lines = lines_of(r.body());
    ASSERT_EQ(lines.size(), 2000u);
    for (int i = 0; i < 2000; ++i)
        ASSERT_EQ(json::parse(lines[i]).at("seq").as_int64(), i) << "gap or duplicate at " << i;
}

TEST(Stream, SlowReaderIsCutOffWithAFinalLine) {
    server_options o;
    o.stream_max_lines = 100;
    test_server s(make_test_routes(), o);
    client c(s.path);
    http::request<http::string_body> req{http::verb::get, "/stream?n=20000&size=1000", 11};
    req.set(http::field::host, "x");
    c.write(req);
    std::this_thread::sleep_for(1s);  // read nothing while the producer runs ahead
    auto r = c.read();                // the response still ends cleanly (terminating chunk)
    auto lines = lines_of(r.body());
    ASSERT_GE(lines.size(), 2u);
    auto last = json::parse(lines.back());
    EXPECT_EQ(last.at("error").at("code").as_string(), "slow_reader") << lines.back();
    EXPECT_LT(lines.size(), 20000u);
    for (std::size_t i = 0; i + 1 < lines.size(); ++i)  // what did arrive is a gap-free prefix
        ASSERT_EQ(json::parse(lines[i]).at("seq").as_int64(), static_cast<std::int64_t>(i));
}

TEST(Shutdown, InFlightRequestFinishes) {
    test_server s(make_test_routes());
    client c(s.path);
    http::request<http::string_body> req{http::verb::get, "/slow?for=500ms", 11};
    req.set(http::field::host, "x");
    c.write(req);
    std::this_thread::sleep_for(100ms);
    client idle(s.path);  // an idle keep-alive connection is closed at once
    auto start = std::chrono::steady_clock::now();
    ASSERT_TRUE(s.stop(5s));
    EXPECT_LT(std::chrono::steady_clock::now() - start, 4s);
    auto r = c.read();
    EXPECT_EQ(r.result_int(), 200);
    EXPECT_FALSE(r.keep_alive());  // Connection: close during shutdown
    EXPECT_EQ(idle.read_to_eof(), "");
    EXPECT_FALSE(std::filesystem::exists(s.path));  // socket file removed; nobody can connect
}

TEST(Shutdown, RequestArrivingDuringShutdownIs503) {
    test_server s(make_test_routes());
    client busy(s.path), late(s.path);
    http::request<http::string_body> req{http::verb::get, "/slow?for=800ms", 11};
    req.set(http::field::host, "x");
    busy.write(req);
    late.send_raw("GET /ping HTTP/1.1\r\n");  // started, not finished: not an idle connection
    std::this_thread::sleep_for(100ms);
    auto stopped = std::async(std::launch::async, [&] { return s.stop(5s); });
    std::this_thread::sleep_for(200ms);
    late.send_raw("Host: x\r\n\r\n");
    auto r = late.read();
    EXPECT_EQ(r.result_int(), 503);
    EXPECT_NE(r.body().find("\"shutting_down\""), std::string::npos);
    EXPECT_EQ(busy.read().result_int(), 200);
    EXPECT_TRUE(stopped.get());
}

TEST(Shutdown, GraceExpiryCancelsStuckHandlers) {
    test_server s(make_test_routes());
    client c(s.path);
    http::request<http::string_body> req{http::verb::get, "/slow?for=60s", 11};
    req.set(http::field::host, "x");
    c.write(req);
    std::this_thread::sleep_for(100ms);
    auto start = std::chrono::steady_clock::now();
    ASSERT_TRUE(s.stop(300ms));
    auto took = std::chrono::steady_clock::now() - start;
    EXPECT_GE(took, 250ms);
    EXPECT_LT(took, 10s);
    EXPECT_EQ(c.read_to_eof(), "");  // cancelled: closed without an answer
}

TEST(Shutdown, WakesLongWaitersAndEndsStreamsCleanly) {
    test_server s(make_test_routes());
    client waiter(s.path), streamer(s.path);
    http::request<http::string_body> w{http::verb::get, "/wait", 11};
    w.set(http::field::host, "x");
    waiter.write(w);
    http::request<http::string_body> st{http::verb::get, "/stream?n=3&forever", 11};
    st.set(http::field::host, "x");
    streamer.write(st);
    std::this_thread::sleep_for(200ms);
    ASSERT_TRUE(s.stop(5s));
    auto wr = waiter.read();
    EXPECT_EQ(wr.result_int(), 200);
    EXPECT_EQ(wr.body(), "{\"shutdown\":true}\n");
    auto sr = streamer.read();
    auto lines = lines_of(sr.body());
    ASSERT_EQ(lines.size(), 4u) << sr.body();
    EXPECT_EQ(json::parse(lines[3]).at("error").at("code").as_string(), "shutting_down");
}

TEST(Socket, ModeAndGroupAreApplied) {
    temp_dir d;
    server_options o;
    o.socket_path = d.path() + "/s.sock";
    o.socket_mode = 0660;
    o.socket_group = "nogroup";
    test_server s(make_test_routes(), o);
    struct stat st {};
    ASSERT_EQ(::stat(o.socket_path.c_str(), &st), 0);
    EXPECT_TRUE(S_ISSOCK(st.st_mode));
    EXPECT_EQ(st.st_mode & 07777, 0660u);
    EXPECT_EQ(st.st_gid, *resolve_group("nogroup"));
}

TEST(Socket, StaleSocketIsReplacedButOthersAreRefused) {
    temp_dir d;
    std::string path = d.path() + "/s.sock";
    {  // a socket file nobody listens on, as a crashed daemon leaves it
        int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
        sockaddr_un a{};
        a.sun_family = AF_UNIX;
        std::memcpy(a.sun_path, path.c_str(), path.size() + 1);
        ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
        ::close(fd);
    }
    server_options o;
    o.socket_path = path;
    test_server live(make_test_routes(), o);
    client c(path);
    EXPECT_EQ(c.request(http::verb::get, "/ping").result_int(), 200);
    // A second server must not steal a live socket.
    asio::io_context ioc;
    server second(ioc, make_test_routes(), o, {});
    auto r = second.open();
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find("another process is listening"), std::string::npos);
    // Nor replace a regular file.
    std::string file = d.path() + "/file";
    ::close(::open(file.c_str(), O_CREAT | O_WRONLY, 0600));
    o.socket_path = file;
    server third(ioc, make_test_routes(), o, {});
    auto r3 = third.open();
    ASSERT_FALSE(r3);
    EXPECT_NE(r3.error().message.find("not a socket"), std::string::npos);
}

TEST(Socket, AdoptsAListeningFd) {
    temp_dir d;
    std::string path = d.path() + "/act.sock";
    int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::memcpy(a.sun_path, path.c_str(), path.size() + 1);
    ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    ASSERT_EQ(::listen(fd, 16), 0);
    server_options o;
    o.listen_fd = fd;
    test_server s(make_test_routes(), o);
    client c(path);
    EXPECT_EQ(c.request(http::verb::get, "/ping").result_int(), 200);

    asio::io_context ioc;
    server_options bad;
    bad.listen_fd = ::open("/dev/null", O_RDONLY);
    server not_socket(ioc, make_test_routes(), bad, {});
    EXPECT_FALSE(not_socket.open());
    ::close(bad.listen_fd);
}

TEST(Access, NobodyCanReadButNotMutate) {
    if (run_command("command -v setpriv").empty() || run_command("command -v curl").empty())
        GTEST_FAIL() << "setpriv and curl are required for this test";
    if (::geteuid() != 0) GTEST_SKIP() << "needs root to switch to nobody";  // reported as skipped
    server_options o;
    o.socket_mode = 0666;
    test_server s(make_test_routes(), o);
    const std::string as_nobody =
        "setpriv --reuid=nobody --regid=nogroup --clear-groups curl -sS --max-time 10 "
        "-o /dev/null -w '%{http_code}' --unix-socket " +
        s.path + " ";
    EXPECT_EQ(run_command(as_nobody + "http://localhost/ping"), "200");
    EXPECT_EQ(run_command(as_nobody + "-X POST -H 'Content-Type: application/json' "
                                      "-d '{\"name\":\"x\"}' http://localhost/v1/items"),
              "403");
    EXPECT_EQ(run_command(as_nobody + "-X DELETE http://localhost/v1/items/1"), "403");
    std::string body = run_command(
        "setpriv --reuid=nobody --regid=nogroup --clear-groups curl -sS --max-time 10 "
        "--unix-socket " +
        s.path + " -X DELETE http://localhost/v1/items/1");
    EXPECT_NE(body.find("\"forbidden\""), std::string::npos) << body;
    EXPECT_NE(body.find("uid 65534"), std::string::npos) << body;
}

TEST(Access, AdminGroupMemberMayMutate) {
    if (run_command("command -v setpriv").empty() || run_command("command -v curl").empty())
        GTEST_FAIL() << "setpriv and curl are required for this test";
    if (::geteuid() != 0) GTEST_SKIP() << "needs root to switch to nobody";
    server_options o;
    o.socket_mode = 0666;
    o.access.admin_gids = {*resolve_group("nogroup")};
    test_server s(make_test_routes(), o);
    EXPECT_EQ(run_command("setpriv --reuid=nobody --regid=nogroup --clear-groups curl -sS "
                          "--max-time 10 -o /dev/null -w '%{http_code}' --unix-socket " +
                          s.path + " -X DELETE http://localhost/v1/items/1"),
              "200");
    EXPECT_TRUE(s.logs.contains("DELETE /v1/items/1 -> 200 by uid=65534"));
}

TEST(Access, ReconfigureAppliesPolicyAndLimitsToTheNextRequest) {
    if (run_command("command -v setpriv").empty() || run_command("command -v curl").empty())
        GTEST_FAIL() << "setpriv and curl are required for this test";
    if (::geteuid() != 0) GTEST_SKIP() << "needs root to switch to nobody";
    server_options o;
    o.socket_mode = 0666;
    test_server s(make_test_routes(), o);
    const std::string delete_as_nobody =
        "setpriv --reuid=nobody --regid=nogroup --clear-groups curl -sS --max-time 10 "
        "-o /dev/null -w '%{http_code}' --unix-socket " +
        s.path + " -X DELETE http://localhost/v1/items/1";
    EXPECT_EQ(run_command(delete_as_nobody), "403");
    client before(s.path);
    EXPECT_NE(before.request(http::verb::post, "/v1/items", std::string(5000, ' ')).result_int(),
              413);

    server_options reloaded = o;
    reloaded.access.admin_uids = {65534};  // nobody
    reloaded.body_limit = 1000;
    s.on_io([&] {
        s.srv->reconfigure(reloaded);
        return 0;
    });
    EXPECT_EQ(run_command(delete_as_nobody), "200");
    client after(s.path);
    EXPECT_EQ(after.request(http::verb::post, "/v1/items", std::string(5000, ' ')).result_int(),
              413);
}

}  // namespace
}  // namespace taskpoller::control::test
