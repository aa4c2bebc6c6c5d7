// The server over a real Unix socket: routing, errors, bodies, keep-alive, curl.
#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

#include "server_fixture.hpp"
#include "test_routes.hpp"

namespace taskpoller::control::test {
namespace {

json::object body_of(const http::response<http::string_body>& r) {
    return json::parse(r.body()).as_object();
}
std::string error_code_of(const http::response<http::string_body>& r) {
    return std::string(body_of(r).at("error").at("code").as_string());
}

TEST(Server, RoutesAnswer200And404And405) {
    test_server s(make_test_routes());
    client c(s.path);
    auto ok = c.request(http::verb::get, "/v1/items/a%20b?x=1%2B1");
    EXPECT_EQ(ok.result_int(), 200);
    EXPECT_EQ(ok[http::field::content_type], "application/json");
    EXPECT_EQ(body_of(ok).at("id").as_string(), "a b");
    EXPECT_EQ(body_of(ok).at("x").as_string(), "1+1");

    auto nf = c.request(http::verb::get, "/v1/nope");
    EXPECT_EQ(nf.result_int(), 404);
    EXPECT_EQ(error_code_of(nf), "not_found");

    auto na = c.request(http::verb::put, "/v1/items/7", "{}");
    EXPECT_EQ(na.result_int(), 405);
    EXPECT_EQ(na[http::field::allow], "DELETE, GET, HEAD");
    EXPECT_EQ(error_code_of(na), "method_not_allowed");
}

TEST(Server, KeepAliveServesTwoRequestsOnOneConnection) {
    test_server s(make_test_routes());
    client c(s.path);
    auto a = c.request(http::verb::get, "/ping");
    auto b = c.request(http::verb::get, "/v1/items/2");
    EXPECT_EQ(a.result_int(), 200);
    EXPECT_TRUE(a.keep_alive());
    EXPECT_EQ(b.result_int(), 200);
    EXPECT_EQ(body_of(b).at("id").as_string(), "2");
    EXPECT_EQ(s.on_io([&] { return s.srv->connection_count(); }), 1u);
}

TEST(Server, HeadHasLengthButNoBody) {
    test_server s(make_test_routes());
    client c(s.path);
    c.head_next = true;
    auto h = c.request(http::verb::head, "/ping");
    EXPECT_EQ(h.result_int(), 200);
    EXPECT_EQ(h[http::field::content_length], "12");  // {"ok":true}\n
    c.head_next = false;
    EXPECT_EQ(c.request(http::verb::get, "/ping").body(), "{\"ok\":true}\n");  // still in sync
}

TEST(Server, JsonBodyErrors) {
    test_server s(make_test_routes());
    client c(s.path);
    auto created = c.request(http::verb::post, "/v1/items", R"({"name":"n","count":2})");
    EXPECT_EQ(created.result_int(), 201);
    EXPECT_EQ(body_of(created).at("uid").as_int64(), static_cast<std::int64_t>(::geteuid()));

    auto malformed = c.request(http::verb::post, "/v1/items", R"({"name":)");
    EXPECT_EQ(malformed.result_int(), 400);
    EXPECT_EQ(error_code_of(malformed), "invalid_json");

    auto unknown = c.request(http::verb::post, "/v1/items", R"({"name":"n","colour":"red"})");
    EXPECT_EQ(unknown.result_int(), 400);
    EXPECT_NE(unknown.body().find("colour"), std::string::npos) << unknown.body();

    auto wrong = c.request(http::verb::post, "/v1/items", R"({"name":5})");
    EXPECT_EQ(wrong.result_int(), 400);
    EXPECT_NE(wrong.body().find("'name' must be a string"), std::string::npos);
}

TEST(Server, WrongContentTypeIs415) {
    test_server s(make_test_routes());
    client c(s.path);
    auto r =
        c.request(http::verb::post, "/v1/items", "name=n", "application/x-www-form-urlencoded");
    EXPECT_EQ(r.result_int(), 415);
    EXPECT_EQ(error_code_of(r), "unsupported_media_type");
    client c2(s.path);
    EXPECT_EQ(c2.request(http::verb::post, "/v1/items", "{}", "").result_int(), 415);
    client c3(s.path);
    EXPECT_EQ(c3.request(http::verb::post, "/v1/items", R"({"name":"x"})",
                         "Application/JSON; charset=utf-8")
                  .result_int(),
              201);
}

TEST(Server, HandlerExceptionIsGeneric500AndLogged) {
    test_server s(make_test_routes());
    client c(s.path);
    auto r = c.request(http::verb::get, "/boom");
    EXPECT_EQ(r.result_int(), 500);
    EXPECT_EQ(error_code_of(r), "internal");
    EXPECT_EQ(r.body().find("secret"), std::string::npos);
    EXPECT_TRUE(s.logs.contains("secret internal detail"));
    EXPECT_EQ(c.request(http::verb::get, "/ping").result_int(), 200);  // connection survives
}

TEST(Server, MalformedHttpIs400AndClosed) {
    test_server s(make_test_routes());
    client c(s.path);
    c.send_raw("BLAH /ping HTTP/9.9\r\n\r\n");
    std::string out = c.read_to_eof();
    EXPECT_TRUE(out.starts_with("HTTP/1.1 400")) << out;
    EXPECT_NE(out.find("\"bad_request\""), std::string::npos);
    client c2(s.path);
    c2.send_raw("GET http://elsewhere/ping HTTP/1.1\r\nHost: x\r\n\r\n");
    EXPECT_EQ(c2.read().result_int(), 400);
}

TEST(Server, MetricsCountRequests) {
    test_server s(make_test_routes());
    client c(s.path);
    c.request(http::verb::get, "/ping");
    c.request(http::verb::get, "/ping");
    c.request(http::verb::get, "/nope");
    std::string text = s.on_io([&] { return s.metrics.render(); });
    EXPECT_NE(
        text.find(
            "taskpoller_control_requests_total{method=\"GET\",route=\"/ping\",code=\"200\"} 2"),
        std::string::npos)
        << text;
    EXPECT_NE(
        text.find(
            "taskpoller_control_requests_total{method=\"GET\",route=\"unmatched\",code=\"404\"} 1"),
        std::string::npos);
    EXPECT_NE(text.find("taskpoller_control_request_duration_seconds_count{route=\"/ping\"} 2"),
              std::string::npos);
    // Zero-initialised for every route.
    EXPECT_NE(text.find("taskpoller_control_request_duration_seconds_count{route=\"/boom\"} 0"),
              std::string::npos);
    EXPECT_NE(text.find("taskpoller_control_connections 1"), std::string::npos);
}

TEST(Server, RealCurlOverUnixSocket) {
    if (run_command("command -v curl").empty()) GTEST_FAIL() << "curl is required for this test";
    test_server s(make_test_routes());
    std::string base = "curl -sS --max-time 10 --unix-socket " + s.path + " -w '\\n%{http_code}' ";
    EXPECT_EQ(run_command(base + "'http://localhost/v1/items/42?x=y'"),
              "{\"id\":\"42\",\"x\":\"y\"}\n\n200");
    EXPECT_EQ(
        run_command(base + "-X POST -H 'Content-Type: application/json' -d '{\"name\":\"c\"}' "
                           "http://localhost/v1/items"),
        "{\"name\":\"c\",\"uid\":0}\n\n201");
    std::string nf = run_command(base + "http://localhost/missing");
    EXPECT_TRUE(nf.ends_with("404")) << nf;
    EXPECT_NE(nf.find("{\"error\":{\"code\":\"not_found\""), std::string::npos);
    // Two URLs in one curl invocation reuse the connection (keep-alive).
    std::string two = run_command("curl -sS -v --max-time 10 --unix-socket " + s.path +
                                  " http://localhost/ping http://localhost/ping 2>&1");
    EXPECT_NE(two.find("Re-using existing connection"), std::string::npos) << two;
}

}  // namespace
}  // namespace taskpoller::control::test
