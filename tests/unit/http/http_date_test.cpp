// The Date header's IMF-fixdate (RFC 7231 §7.1.1.1), read by the daemon to measure its clock.
#include "http/http_date.hpp"

#include <gtest/gtest.h>

namespace taskpoller::http {
namespace {

TEST(HttpDate, ParsesTheRfcExampleAndFormatsItBack) {
    EXPECT_EQ(parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT"), 784111777);
    EXPECT_EQ(format_http_date(784111777), "Sun, 06 Nov 1994 08:49:37 GMT");
    EXPECT_EQ(parse_http_date("Thu, 01 Jan 1970 00:00:00 GMT"), 0);
    EXPECT_EQ(parse_http_date("Mon, 07 Dec 2026 00:08:16 GMT"), 1796602096);
    EXPECT_EQ(parse_http_date("Thu, 29 Feb 2024 23:59:59 GMT"), 1709251199);
    EXPECT_EQ(parse_http_date("Fri, 31 Dec 9999 23:59:59 GMT"), 253402300799);
}

TEST(HttpDate, RoundTripsAcrossYears) {
    for (std::int64_t s = 0; s < 4'000'000'000; s += 86'399 * 37 + 13) {
        auto text = format_http_date(s);
        ASSERT_EQ(parse_http_date(text), s) << text;
    }
}

TEST(HttpDate, RejectsJunkWithoutThrowing) {
    for (const char* junk :
         {"", "yesterday", "Sun, 06 Nov 1994 08:49:37", "Sun, 06 Nov 1994 08:49:37 UTC",
          "Sunday, 06-Nov-94 08:49:37 GMT",  // RFC 850: obsolete, not accepted
          "Sun Nov  6 08:49:37 1994",        // asctime: obsolete, not accepted
          "Mon, 06 Nov 1994 08:49:37 GMT",   // 6 Nov 1994 was a Sunday
          "Sun, 6 Nov 1994 08:49:37 GMT ", "Sun, 06 Nov 1994 24:00:00 GMT",
          "Sun, 06 Nov 1994 08:60:00 GMT", "Sat, 30 Feb 2002 00:00:00 GMT",
          "Sun, 06 Foo 1994 08:49:37 GMT", "Wed, 31 Dec 1969 23:59:59 GMT",
          "Sun, 06 Nov 1994 08:49:3x GMT", "Sun, 0x Nov 1994 08:49:37 GMT",
          "Sun,_06 Nov 1994 08:49:37 GMT", "sun, 06 nov 1994 08:49:37 gmt"}) {
        EXPECT_EQ(parse_http_date(junk), std::nullopt) << junk;
    }
}

TEST(HttpDate, FormatClampsToTheRepresentableRange) {
    EXPECT_EQ(format_http_date(-5), "Thu, 01 Jan 1970 00:00:00 GMT");
    EXPECT_EQ(format_http_date(999'999'999'999), "Fri, 31 Dec 9999 23:59:59 GMT");
}

}  // namespace
}  // namespace taskpoller::http
