#include "qcloud/params.hpp"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

namespace tq = taskpoller::qcloud;
namespace json = boost::json;

namespace {
taskpoller::core::result<tq::param_list> flatten(std::string_view text) {
    return tq::flatten_params(json::parse(text).as_object());
}
}  // namespace

TEST(Params, scalars) {
    auto r = flatten(R"({"s":"x y","i":-5,"u":18446744073709551615,"b":true,"f":false,"d":0.5})");
    ASSERT_TRUE(r.has_value()) << r.error().message;
    tq::param_list expected = {{"s", "x y"},  {"i", "-5"},    {"u", "18446744073709551615"},
                               {"b", "true"}, {"f", "false"}, {"d", "0.5"}};
    EXPECT_EQ(*r, expected);
}

TEST(Params, arrays_and_nested_objects_flatten_with_dots) {
    auto r = flatten(R"({"loadBalancerId":"lb-1",
        "backends":[{"instanceId":"ins-a","weight":10},{"instanceId":"ins-b","weight":20}],
        "deep":{"x":{"y":[[1,2],[3]]}}})");
    ASSERT_TRUE(r.has_value()) << r.error().message;
    tq::param_list expected = {{"loadBalancerId", "lb-1"},  {"backends.0.instanceId", "ins-a"},
                               {"backends.0.weight", "10"}, {"backends.1.instanceId", "ins-b"},
                               {"backends.1.weight", "20"}, {"deep.x.y.0.0", "1"},
                               {"deep.x.y.0.1", "2"},       {"deep.x.y.1.0", "3"}};
    EXPECT_EQ(*r, expected);
}

TEST(Params, doubles_never_use_an_exponent) {
    EXPECT_EQ(tq::format_decimal(1e20), "100000000000000000000");
    EXPECT_EQ(tq::format_decimal(0.1), "0.1");
    EXPECT_EQ(tq::format_decimal(1e-7), "0.0000001");
    EXPECT_EQ(tq::format_decimal(-2.5), "-2.5");
    EXPECT_EQ(tq::format_decimal(3.0), "3");
    auto r = flatten(R"({"x":1e21})");
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ((*r)[0].value, "1000000000000000000000");
}

TEST(Params, null_is_rejected_with_its_path) {
    auto r = flatten(R"({"backends":[{"instanceId":"a"},{"weight":null}]})");
    ASSERT_TRUE(r.has_error());
    EXPECT_NE(r.error().message.find("backends.1.weight"), std::string::npos) << r.error().message;
    EXPECT_NE(r.error().message.find("null"), std::string::npos);
}

TEST(Params, empty_containers_and_names_are_rejected) {
    EXPECT_NE(flatten(R"({"ids":[]})").error().message.find("ids"), std::string::npos);
    EXPECT_NE(flatten(R"({"o":{"a":{}}})").error().message.find("o.a"), std::string::npos);
    EXPECT_TRUE(flatten(R"({"":1})").has_error());
    EXPECT_TRUE(flatten(R"({"o":{"":1}})").has_error());
}

TEST(Params, empty_object_is_no_parameters) {
    auto r = flatten("{}");
    ASSERT_TRUE(r.has_value());
    EXPECT_TRUE(r->empty());
}

TEST(Params, find_param) {
    tq::param_list p = {{"a", "1"}, {"b", "2"}};
    ASSERT_NE(tq::find_param(p, "b"), nullptr);
    EXPECT_EQ(*tq::find_param(p, "b"), "2");
    EXPECT_EQ(tq::find_param(p, "c"), nullptr);
}
