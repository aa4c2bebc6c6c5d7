// The simulator's clock (issue 18): a Date header on every answer, and `clock_offset`, which
// shifts both that Date and the "now" the signature timestamps are checked against.
#include <gtest/gtest.h>

#include <stdexcept>

#include "http/http_date.hpp"
#include "sim/config.hpp"
#include "sim_test_support.hpp"
#include "v3_test_support.hpp"

namespace taskpoller::sim {
namespace {

using testing::code;
using testing::error_code;
using testing::v3_fixture;

TEST(SimClock, EveryAnswerCarriesTheDateOfItsClock) {
    v3_fixture f;
    const auto expected = http::format_http_date(f.now_ms / 1000);
    EXPECT_EQ(f.fixture::send(f.fixture::sign("cvm", "DescribeInstances")).date,
              expected);  // API 2.0
    auto r = f.make("cvm", "DescribeInstances");
    EXPECT_EQ(f.send(f.sign(r)).date, expected);  // API 3.0
    EXPECT_EQ(f.sim.handle({"GET", "/_sim/stats", "127.0.0.1", "", false}).date, expected);
    EXPECT_EQ(f.sim.handle({"GET", "/elsewhere", "cvm.api.qcloud.com", "", false}).date,
              expected);  // a 404 too
    f.advance(61'000);
    EXPECT_EQ(f.fixture::send(f.fixture::sign("cvm", "DescribeInstances")).date,
              http::format_http_date(f.now_ms / 1000));
}

TEST(SimClock, ClockOffsetShiftsTheDateAndTheSignatureWindow) {
    auto cfg = v3_fixture::quiet_config();
    cfg.clock_offset = std::chrono::minutes(-10);  // the cloud is 10 min behind the caller
    v3_fixture f(cfg);
    const auto cloud_s = f.now_ms / 1000 - 600;
    EXPECT_EQ(
        http::parse_http_date(f.fixture::send(f.fixture::sign("cvm", "DescribeInstances")).date),
        cloud_s);

    // Signed with the caller's clock (10 min ahead of the cloud's): refused as expired.
    auto v2 = f.fixture::send(f.fixture::sign("cvm", "DescribeInstances"));
    EXPECT_EQ(code(boost::json::parse(v2.body).as_object()), 4500) << v2.body;
    auto v3 = f.make("cvm", "DescribeInstances");
    EXPECT_EQ(error_code(f.response(f.sign(v3))), "AuthFailure.SignatureExpire");

    // Signed with the cloud's clock: accepted.
    f.now_ms -= 600'000;
    auto in_step = f.make("cvm", "DescribeInstances");
    f.now_ms += 600'000;
    EXPECT_EQ(error_code(f.response(f.sign(in_step))), "");
    f.now_ms -= 600'000;
    auto v2_ok = f.fixture::sign("cvm", "DescribeInstances");
    f.now_ms += 600'000;
    EXPECT_EQ(code(boost::json::parse(f.fixture::send(v2_ok).body).as_object()), 0);
}

TEST(SimClock, ClockOffsetIsASignedDuration) {
    EXPECT_EQ(parse_config("", "x").clock_offset.count(), 0);
    EXPECT_EQ(parse_config("clock_offset: -10m", "x").clock_offset, std::chrono::minutes(-10));
    EXPECT_EQ(parse_config("clock_offset: +30s", "x").clock_offset, std::chrono::seconds(30));
    EXPECT_EQ(parse_config("clock_offset: 1500ms", "x").clock_offset, millis(1500));
    for (const char* bad :
         {"clock_offset: soon", "clock_offset: '-'", "clock_offset: --1s", "clock_offset: 9000h"}) {
        EXPECT_THROW(parse_config(bad, "x"), std::runtime_error) << bad;
    }
}

}  // namespace
}  // namespace taskpoller::sim
