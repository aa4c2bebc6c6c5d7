#include "control/api_error.hpp"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

namespace taskpoller::control {
namespace {

namespace json = boost::json;

// Found by the control_request fuzz target: a request path with a byte that is not UTF-8 was
// echoed in the 404 message, and the error document was not valid JSON.
TEST(ApiError, DocumentIsValidJsonWhenTheMessageEchoesNonUtf8Bytes) {
    const auto e = not_found(
        "no route for '/v1/batc\xce"
        "F\xff'");
    boost::system::error_code ec;
    const json::value doc = json::parse(to_json(e), ec);
    ASSERT_FALSE(ec) << ec.message();
    const auto& err = doc.at("error").as_object();
    EXPECT_EQ(err.at("code"), "not_found");
    EXPECT_EQ(err.at("message"),
              "no route for '/v1/batc\xEF\xBF\xBD"
              "F\xEF\xBF\xBD'");
}

TEST(ApiError, ValidUtf8KeepsValidText) {
    for (std::string_view s :
         {"", "plain ascii", "(100004)projectId不正确", "\xF0\x9F\x98\x80 4-byte", "\xEF\xBF\xBD",
          "\xF4\x8F\xBF\xBF", "\x7F"})
        EXPECT_EQ(valid_utf8(s), s);
}

TEST(ApiError, ValidUtf8ReplacesEachInvalidByte) {
    const std::string r = "\xEF\xBF\xBD";
    EXPECT_EQ(valid_utf8("\xC0\x80"), r + r);                  // overlong NUL
    EXPECT_EQ(valid_utf8("\xE0\x80\xAF"), r + r + r);          // overlong '/'
    EXPECT_EQ(valid_utf8("\xED\xA0\x80"), r + r + r);          // a surrogate
    EXPECT_EQ(valid_utf8("\xF4\x90\x80\x80"), r + r + r + r);  // above U+10FFFF
    EXPECT_EQ(valid_utf8("\xF5"), r);
    EXPECT_EQ(valid_utf8("a\xE4\xB8"), "a" + r + r);  // truncated at the end
    EXPECT_EQ(valid_utf8("\xE4\xB8z"), r + r + "z");  // truncated in the middle
    EXPECT_EQ(valid_utf8("\x80x"), r + "x");          // a lone continuation byte
}

}  // namespace
}  // namespace taskpoller::control
