#include "control/router.hpp"

#include <gtest/gtest.h>

namespace taskpoller::control {
namespace {

handler tagged(int tag) {
    return [tag](request_context&) -> boost::asio::awaitable<response> {
        response r;
        r.status = static_cast<unsigned>(200 + tag);
        co_return r;
    };
}

router sample() {
    router r;
    r.add("GET", "/v1/batches", tagged(0));
    r.add("POST", "/v1/batches", tagged(1));
    r.add("GET", "/v1/batches/{id}", tagged(2));
    r.add("DELETE", "/v1/batches/{id}", tagged(3));
    r.add("GET", "/v1/tasks/{service}/{request_id}", tagged(4));
    r.add("GET", "/v1/batches/stats", tagged(5));
    return r;
}

TEST(Router, FindsLiteralRoute) {
    auto r = sample();
    auto m = r.match("GET", "/v1/batches");
    ASSERT_EQ(m.kind, router::outcome::found);
    EXPECT_EQ(m.matched->pattern, "/v1/batches");
    EXPECT_FALSE(m.matched->mutation);
    EXPECT_TRUE(r.match("POST", "/v1/batches").matched->mutation);
}

TEST(Router, ExtractsAndDecodesParams) {
    auto r = sample();
    auto m = r.match("GET", "/v1/tasks/lb/a%2Fb%20c+d");
    ASSERT_EQ(m.kind, router::outcome::found);
    EXPECT_EQ(m.params.get("service"), "lb");
    // '+' is literal in a path; %2F decodes after splitting, so it stays inside the param.
    EXPECT_EQ(m.params.get("request_id"), "a/b c+d");
}

TEST(Router, LiteralBeatsParameter) {
    auto r = sample();
    auto m = r.match("GET", "/v1/batches/stats");
    ASSERT_EQ(m.kind, router::outcome::found);
    EXPECT_EQ(m.matched->pattern, "/v1/batches/stats");
    EXPECT_EQ(r.match("GET", "/v1/batches/b-1").matched->pattern, "/v1/batches/{id}");
}

TEST(Router, UnknownPathIs404) {
    auto r = sample();
    for (auto p : {"/", "/v1", "/v1/batches/", "/v1/batches/x/y", "/v2/batches", "/v1/tasks/lb"}) {
        auto m = r.match("GET", p);
        EXPECT_EQ(m.kind, router::outcome::not_found) << p;
        EXPECT_EQ(m.error.status, 404u) << p;
        EXPECT_EQ(m.error.code, "not_found");
    }
}

TEST(Router, WrongMethodIs405WithAllow) {
    auto r = sample();
    auto m = r.match("PUT", "/v1/batches/b-1");
    ASSERT_EQ(m.kind, router::outcome::method_not_allowed);
    EXPECT_EQ(m.error.status, 405u);
    EXPECT_EQ(allow_header(m.allowed), "DELETE, GET, HEAD");
    auto m2 = r.match("DELETE", "/v1/batches");
    EXPECT_EQ(allow_header(m2.allowed), "GET, HEAD, POST");
}

TEST(Router, HeadFallsBackToGet) {
    auto r = sample();
    auto m = r.match("HEAD", "/v1/batches/x");
    ASSERT_EQ(m.kind, router::outcome::found);
    EXPECT_EQ(m.matched->method, "GET");
}

TEST(Router, BadPathsAreRejected) {
    auto r = sample();
    EXPECT_EQ(r.match("GET", "v1/batches").kind, router::outcome::bad_path);
    EXPECT_EQ(r.match("GET", "http://x/v1").kind, router::outcome::bad_path);
    auto m = r.match("GET", "/v1/batches/%zz");
    EXPECT_EQ(m.kind, router::outcome::bad_path);
    EXPECT_EQ(m.error.status, 400u);
}

TEST(Router, ExplicitAccessKindOverridesMethod) {
    router r;
    r.add("POST", "/v1/query", tagged(0), access_kind::read);
    r.add("GET", "/v1/secret", tagged(0), access_kind::mutation);
    EXPECT_FALSE(r.match("POST", "/v1/query").matched->mutation);
    EXPECT_TRUE(r.match("GET", "/v1/secret").matched->mutation);
}

TEST(Router, RejectsBadPatternsAtStartup) {
    router r;
    r.add("GET", "/a/{id}", tagged(0));
    EXPECT_THROW(r.add("GET", "/a/{other}", tagged(0)), std::invalid_argument);
    EXPECT_THROW(r.add("GET", "a", tagged(0)), std::invalid_argument);
    EXPECT_THROW(r.add("GET", "/a/{}", tagged(0)), std::invalid_argument);
    EXPECT_THROW(r.add("GET", "/a/x{id}", tagged(0)), std::invalid_argument);
    EXPECT_THROW(r.add("GET", "/a/{i{d}", tagged(0)), std::invalid_argument);
    EXPECT_NO_THROW(r.add("POST", "/a/{id}", tagged(0)));
}

}  // namespace
}  // namespace taskpoller::control
