#include "qcloud/encoding.hpp"

#include <gtest/gtest.h>

namespace tq = taskpoller::qcloud;

TEST(Encoding, unreserved_characters_are_kept) {
    EXPECT_EQ(tq::percent_encode("AZaz09-._~"), "AZaz09-._~");
}

TEST(Encoding, everything_else_is_upper_case_hex) {
    EXPECT_EQ(tq::percent_encode("a b&c=d+e/f%g"), "a%20b%26c%3Dd%2Be%2Ff%25g");
    EXPECT_EQ(tq::percent_encode("é"), "%C3%A9");
    EXPECT_EQ(tq::percent_encode(std::string("\0\xff", 2)), "%00%FF");
    EXPECT_EQ(tq::percent_encode(""), "");
}

TEST(Encoding, form_encode_joins_pairs) {
    tq::param_list p = {{"Signature", "ab/c+d="}, {"instanceIds.0", "ins-1"}, {"x", ""}};
    EXPECT_EQ(tq::form_encode(p), "Signature=ab%2Fc%2Bd%3D&instanceIds.0=ins-1&x=");
    EXPECT_EQ(tq::form_encode({}), "");
}

TEST(Encoding, decode_accepts_both_hex_cases_and_plus_as_space) {
    EXPECT_EQ(tq::percent_decode("a%2fb%2Fc+d").value(), "a/b/c d");
    EXPECT_EQ(tq::percent_decode("c+d", false).value(), "c+d");
    EXPECT_EQ(tq::percent_decode("%E6%9C%8D").value(), "服");
}

TEST(Encoding, decode_rejects_invalid_sequences) {
    for (std::string_view bad : {"%", "%4", "a%G1", "%zz", "abc%"}) {
        auto r = tq::percent_decode(bad);
        ASSERT_TRUE(r.has_error()) << bad;
        EXPECT_NE(r.error().message.find("percent-encoding"), std::string::npos);
    }
}

TEST(Encoding, form_round_trip_of_awkward_values) {
    tq::param_list p = {
        {"password", "a&b=c+d/e%f g"}, {"name", "服务器"}, {"empty", ""}, {"a.b_c", "~"}};
    auto back = tq::form_decode(tq::form_encode(p));
    ASSERT_TRUE(back.has_value());
    EXPECT_EQ(*back, p);
}

TEST(Encoding, form_decode_shapes) {
    auto r = tq::form_decode("a=1&&b&c=x=y&");
    ASSERT_TRUE(r.has_value());
    tq::param_list expected = {{"a", "1"}, {"b", ""}, {"c", "x=y"}};
    EXPECT_EQ(*r, expected);
    EXPECT_TRUE(tq::form_decode("").value().empty());
}

TEST(Encoding, form_decode_errors_name_the_place) {
    auto r = tq::form_decode("ok=1&bad=%2");
    ASSERT_TRUE(r.has_error());
    EXPECT_NE(r.error().message.find("value of bad"), std::string::npos) << r.error().message;
    EXPECT_TRUE(tq::form_decode("=value").has_error());
    EXPECT_TRUE(tq::form_decode("%zz=1").has_error());
}
