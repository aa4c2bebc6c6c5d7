#include "control/json_body.hpp"

#include <gtest/gtest.h>

#include <array>

namespace taskpoller::control {
namespace {

constexpr std::array<field_spec, 4> batch_fields{{
    {"service", json_kind::string, true},
    {"action", json_kind::string, true},
    {"params", json_kind::object, false},
    {"labels", json_kind::object, false},
}};

TEST(JsonBody, AcceptsValidObject) {
    auto o = parse_json_object(R"({"service":"cvm","action":"StopInstances","params":{}})",
                               batch_fields);
    ASSERT_TRUE(o) << o.error().message;
    EXPECT_EQ(o->at("service").as_string(), "cvm");
}

TEST(JsonBody, MalformedIsInvalidJson) {
    for (auto bad :
         {"", "  ", "{", "{\"service\":}", "{\"a\":1,}", "/*c*/{}", "{} {}", "{\"a\":\"\xff\"}"}) {
        auto o = parse_json_object(bad, batch_fields);
        ASSERT_FALSE(o) << bad;
        EXPECT_EQ(o.error().status, 400u);
        EXPECT_EQ(o.error().code, "invalid_json") << bad;
    }
}

TEST(JsonBody, NonObjectIsInvalidJson) {
    auto o = parse_json_object("[1,2]", batch_fields);
    ASSERT_FALSE(o);
    EXPECT_NE(o.error().message.find("got array"), std::string::npos);
}

TEST(JsonBody, UnknownFieldsAreAllNamed) {
    auto o =
        parse_json_object(R"({"service":"a","action":"b","sevice":1,"extra":2})", batch_fields);
    ASSERT_FALSE(o);
    EXPECT_EQ(o.error().code, "bad_request");
    EXPECT_NE(o.error().message.find("unknown fields 'sevice', 'extra'"), std::string::npos)
        << o.error().message;
    EXPECT_NE(o.error().message.find("allowed: service, action, params, labels"),
              std::string::npos);
}

TEST(JsonBody, WrongTypeIsNamed) {
    auto o = parse_json_object(R"({"service":"a","action":7})", batch_fields);
    ASSERT_FALSE(o);
    EXPECT_EQ(o.error().message, "field 'action' must be a string, got integer");
    auto n = parse_json_object(R"({"service":"a","action":"b","params":null})", batch_fields);
    ASSERT_FALSE(n);
    EXPECT_EQ(n.error().message, "field 'params' must be an object, got null");
}

TEST(JsonBody, MissingRequiredIsNamed) {
    auto o = parse_json_object(R"({"service":"a"})", batch_fields);
    ASSERT_FALSE(o);
    EXPECT_EQ(o.error().message, "missing required field 'action'");
}

TEST(JsonBody, NestedObjectsUsePrefix) {
    constexpr std::array<field_spec, 2> poll{
        {{"timeout", json_kind::string}, {"interval", json_kind::string}}};
    boost::json::object o{{"timeout", 5}, {"x", 1}};
    auto r = check_fields(o, poll, "poll.");
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find("unknown field 'poll.x'"), std::string::npos)
        << r.error().message;
    o.erase("x");
    auto t = check_fields(o, poll, "poll.");
    ASSERT_FALSE(t);
    EXPECT_EQ(t.error().message, "field 'poll.timeout' must be a string, got integer");
}

TEST(JsonBody, DeepNestingRejected) {
    std::string deep(100, '[');
    deep += std::string(100, ']');
    auto o = parse_json_object("{\"params\":" + deep + "}", batch_fields);
    ASSERT_FALSE(o);
    EXPECT_EQ(o.error().code, "invalid_json");
}

TEST(JsonBody, IntegerAndNumberKinds) {
    constexpr std::array<field_spec, 2> f{{{"i", json_kind::integer}, {"n", json_kind::number}}};
    EXPECT_TRUE(parse_json_object(R"({"i":3,"n":3})", f));
    EXPECT_TRUE(parse_json_object(R"({"i":3,"n":3.5})", f));
    EXPECT_FALSE(parse_json_object(R"({"i":3.5})", f));
}

TEST(JsonBody, DuplicateKeysAreRefusedAtAnyDepthNamingTheKey) {
    const std::pair<const char*, const char*> cases[] = {
        {R"({"service":"cvm","action":"A","service":"lb"})", "'service'"},
        {R"({"service":"cvm","action":"A","params":{"a":1,"b":2,"a":3}})", "'params.a'"},
        {R"({"service":"cvm","action":"A","params":{"x":[{"k":1},{"k":1,"k":2}]}})",
         "'params.x[1].k'"},
        {R"({"service":"cvm","action":"A","labels":{"t\u0065am":"a","team":"b"}})",
         "'labels.team'"},  // the same key once escaped
    };
    for (const auto& [body, named] : cases) {
        auto o = parse_json_object(body, batch_fields);
        ASSERT_FALSE(o) << body;
        EXPECT_EQ(o.error().status, 400u);
        EXPECT_EQ(o.error().code, "invalid_json");
        EXPECT_NE(o.error().message.find(named), std::string::npos) << o.error().message;
    }
    // The same key in different objects is fine.
    EXPECT_TRUE(parse_json_object(
        R"({"service":"cvm","action":"A","params":{"a":{"a":1},"b":[{"a":1},{"a":2}]}})",
        batch_fields));
}

}  // namespace
}  // namespace taskpoller::control
