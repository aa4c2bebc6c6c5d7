#include "ctl/params_builder.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <cstdio>
#include <cstdlib>
#include <fstream>

namespace taskpoller::ctl {
namespace {
namespace json = boost::json;

json::object build(std::initializer_list<std::string> strings,
                   std::initializer_list<std::string> jsons = {}, std::string base = {}) {
    params_builder b;
    if (!base.empty()) {
        EXPECT_TRUE(b.set_base(base));
    }
    for (const auto& s : strings) EXPECT_TRUE(b.add_string(s)) << s;
    for (const auto& s : jsons) EXPECT_TRUE(b.add_json(s)) << s;
    auto r = b.build();
    EXPECT_TRUE(r);
    return r ? *r : json::object{};
}

std::string error_of(std::initializer_list<std::string> strings,
                     std::initializer_list<std::string> jsons = {}) {
    params_builder b;
    for (const auto& s : strings) {
        if (auto r = b.add_string(s); !r) return r.error().message;
    }
    for (const auto& s : jsons) {
        if (auto r = b.add_json(s); !r) return r.error().message;
    }
    auto r = b.build();
    return r ? std::string("no error") : r.error().message;
}

TEST(ParamsBuilder, FlatKeysAreStringsEvenWhenNumericOrCommaSeparated) {
    EXPECT_EQ(build({"limit=10", "ids=ins-1,ins-2", "empty=", "eq=a=b"}),
              json::parse(R"({"limit":"10","ids":"ins-1,ins-2","empty":"","eq":"a=b"})"));
}

TEST(ParamsBuilder, DottedKeysBuildNestedObjectsAndArrays) {
    EXPECT_EQ(build({"backends.0.instanceId=ins-1", "backends.0.port=80",
                     "backends.1.instanceId=ins-2", "loadBalancerId=lb-1", "a.b.c=d"}),
              json::parse(R"({"backends":[{"instanceId":"ins-1","port":"80"},
                              {"instanceId":"ins-2"}],"loadBalancerId":"lb-1",
                              "a":{"b":{"c":"d"}}})"));
    EXPECT_EQ(build({"instanceIds.0=ins-1", "instanceIds.1=ins-2"}),
              json::parse(R"({"instanceIds":["ins-1","ins-2"]})"));
}

TEST(ParamsBuilder, ArraysMayBeFilledInAnyOrderAcrossOptions) {
    EXPECT_EQ(build({"ids.1=b"}, {"ids.0=1"}), json::parse(R"({"ids":[1,"b"]})"));
    EXPECT_EQ(build({"ids.2=c", "ids.0=a", "ids.1=b"}), json::parse(R"({"ids":["a","b","c"]})"));
}

TEST(ParamsBuilder, ParamJsonKeepsTypes) {
    EXPECT_EQ(build({}, {"weight=10", "on=true", "ids=[\"a\",\"b\"]", "o={\"k\":1.5}"}),
              json::parse(R"({"weight":10,"on":true,"ids":["a","b"],"o":{"k":1.5}})"));
    EXPECT_EQ(build({"backends.0.instanceId=ins-1"}, {"backends.0.weight=10"}),
              json::parse(R"({"backends":[{"instanceId":"ins-1","weight":10}]})"));
}

TEST(ParamsBuilder, BaseObjectIsOverriddenAndExtended) {
    EXPECT_EQ(build({"a=override", "c.0=x"}, {}, R"({"a":"base","b":[1,2]})"),
              json::parse(R"({"a":"override","b":[1,2],"c":["x"]})"));
    // Appending to an array that came from the base.
    EXPECT_EQ(build({"b.2=three"}, {}, R"({"b":[1,2]})"), json::parse(R"({"b":[1,2,"three"]})"));
}

TEST(ParamsBuilder, GapsInArraysAreErrors) {
    EXPECT_NE(error_of({"ids.1=b"}).find("\"ids.0\" is missing"), std::string::npos);
    EXPECT_NE(error_of({"ids.0=a", "ids.2=c"}).find("\"ids.1\" is missing"), std::string::npos);
}

TEST(ParamsBuilder, ConflictsAndMalformedKeysAreErrors) {
    EXPECT_NE(error_of({"a=1", "a=2"}).find("given twice"), std::string::npos);
    EXPECT_NE(error_of({"a=1", "a.b=2"}).find("already a value"), std::string::npos);
    EXPECT_NE(error_of({"a.b=2", "a=1"}).find("already holds values"), std::string::npos);
    EXPECT_NE(error_of({"ids.0=a", "ids.x=b"}).find("is an array"), std::string::npos);
    EXPECT_NE(error_of({"ids.0=a", "ids.99999=b"}).find("is an array"), std::string::npos);
    EXPECT_NE(error_of({"novalue"}).find("expected KEY=VALUE"), std::string::npos);
    EXPECT_NE(error_of({"=v"}).find("empty key"), std::string::npos);
    EXPECT_NE(error_of({"a..b=v"}).find("empty path segment"), std::string::npos);
    EXPECT_NE(error_of({"a.=v"}).find("empty path segment"), std::string::npos);
    EXPECT_NE(error_of({"0=v"}).find("must start with a name"), std::string::npos);
    EXPECT_NE(error_of({}, {"a={bad"}).find("invalid JSON"), std::string::npos);
}

TEST(ParamsBuilder, BaseMustBeAnObjectGivenFirst) {
    params_builder b;
    EXPECT_FALSE(b.set_base("[1]"));
    EXPECT_FALSE(b.set_base("{"));
    EXPECT_TRUE(b.add_string("a=1"));
    EXPECT_FALSE(b.set_base("{}"));
}

TEST(Labels, ParsesAndRejectsDuplicates) {
    auto l = parse_labels({"team=web", "ticket=OPS-1=x"});
    ASSERT_TRUE(l);
    EXPECT_EQ(*l, json::parse(R"({"team":"web","ticket":"OPS-1=x"})"));
    EXPECT_FALSE(parse_labels({"a=1", "a=2"}));
    EXPECT_FALSE(parse_labels({"nokey"}));
    EXPECT_FALSE(parse_labels({"=v"}));
}

TEST(ReadInlineOrFile, ReadsFilesAndPassesTextThrough) {
    EXPECT_EQ(*read_inline_or_file(R"({"a":1})"), R"({"a":1})");
    char path[] = "/tmp/ctl-params-XXXXXX";
    const int fd = ::mkstemp(path);
    ASSERT_GE(fd, 0);
    ::close(fd);
    std::ofstream(path) << R"({"fromfile":true})";
    EXPECT_EQ(*read_inline_or_file(std::string("@") + path), R"({"fromfile":true})");
    std::remove(path);
    auto missing = read_inline_or_file(std::string("@") + path);
    ASSERT_FALSE(missing);
    EXPECT_NE(missing.error().message.find("cannot read"), std::string::npos);
}

}  // namespace
}  // namespace taskpoller::ctl
