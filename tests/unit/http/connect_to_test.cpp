// connect_to parsing and lookup, and option validation: pure functions, no I/O.
#include "http/connect_to.hpp"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>

#include "http/client.hpp"

namespace taskpoller::http {
namespace {

TEST(ConnectTo, ParsesTargets) {
    auto v4 = parse_connect_target("127.0.0.1:8443");
    ASSERT_TRUE(v4) << v4.error().message;
    EXPECT_EQ(v4->host, "127.0.0.1");
    EXPECT_EQ(v4->port, 8443);
    auto v6 = parse_connect_target("[::1]:443");
    ASSERT_TRUE(v6) << v6.error().message;
    EXPECT_EQ(v6->host, "::1");
    EXPECT_EQ(v6->port, 443);
    auto bare = parse_connect_target("sim.local");
    ASSERT_TRUE(bare);
    EXPECT_EQ(bare->host, "sim.local");
    EXPECT_EQ(bare->port, 0);  // keep the request's port
}

TEST(ConnectTo, RejectsMalformedTargets) {
    for (const char* bad : {"", ":80", "a:0", "a:70000", "a:80x", "a:", "::1:443", "[::1", "[::1]x",
                            "[]:80", "a b:1"}) {
        auto r = parse_connect_target(bad);
        EXPECT_FALSE(r) << "accepted '" << bad << "'";
        if (!r) {
            EXPECT_NE(r.error().message.find("connect_to target"), std::string::npos);
        }
    }
}

TEST(ConnectTo, MostSpecificEntryWins) {
    auto table = connect_to_table::parse({{"*", "10.0.0.1:1"},
                                          {"sim.test", "127.0.0.1:2"},
                                          {"sim.test:8443", "127.0.0.1:3"},
                                          {"keep.test", "127.0.0.9"},
                                          {"[::1]:443", "[::2]:4"}});
    ASSERT_TRUE(table) << table.error().message;
    auto at = [&](const char* host, std::uint16_t port) {
        auto e = table->lookup(host, port);
        return e.host + ":" + std::to_string(e.port);
    };
    EXPECT_EQ(at("sim.test", 8443), "127.0.0.1:3");
    EXPECT_EQ(at("sim.test", 443), "127.0.0.1:2");
    EXPECT_EQ(at("SIM.Test", 443), "127.0.0.1:2");
    EXPECT_EQ(at("other.test", 80), "10.0.0.1:1");
    EXPECT_EQ(at("keep.test", 443), "127.0.0.9:443");
    EXPECT_EQ(at("::1", 443), "::2:4");
}

TEST(ConnectTo, EmptyTableConnectsToTheHostItself) {
    connect_to_table table;
    auto e = table.lookup("cvm.api.qcloud.com", 443);
    EXPECT_EQ(e.host, "cvm.api.qcloud.com");
    EXPECT_EQ(e.port, 443);
}

TEST(ConnectTo, RejectsBadKeys) {
    for (const char* key : {"", "a b", "host:0", "::1"}) {
        auto t = connect_to_table::parse({{key, "127.0.0.1:1"}});
        EXPECT_FALSE(t) << "accepted key '" << key << "'";
    }
}

TEST(ClientOptions, DefaultsAreValid) {
    EXPECT_TRUE(validate_options(client_options{}));
}

TEST(ClientOptions, MistakesAreNamed) {
    auto expect_bad = [](client_options o, const char* name) {
        auto r = validate_options(o);
        ASSERT_FALSE(r) << name;
        EXPECT_NE(r.error().message.find(name), std::string::npos) << r.error().message;
    };
    client_options o;
    o.max_connections_per_host = 0;
    expect_bad(o, "max_connections_per_host");
    o = {};
    o.request_timeout = std::chrono::milliseconds(0);
    expect_bad(o, "request_timeout");
    o = {};
    o.connect_to = {{"sim.test", "nope:99999"}};
    expect_bad(o, "connect_to");
    o = {};
    o.ca_file = "/nonexistent/ca.pem";
    expect_bad(o, "ca_file");
    o = {};
    o.body_limit = 0;
    expect_bad(o, "body_limit");
}

TEST(ClientOptions, ConstructorRefusesInvalidOptions) {
    boost::asio::io_context ioc;
    client_options o;
    o.connect_to = {{"x", ""}};
    EXPECT_THROW(client(ioc.get_executor(), {}, o), std::invalid_argument);
}

}  // namespace
}  // namespace taskpoller::http
