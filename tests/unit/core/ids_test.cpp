#include <gtest/gtest.h>

#include <set>

#include "core/batch_id.hpp"
#include "core/clock.hpp"
#include "core/labels.hpp"
#include "core/task_key.hpp"

namespace core = taskpoller::core;

namespace {

TEST(TaskKey, format_and_parse) {
    core::task_key k{"lb", "6356081"};
    EXPECT_EQ(core::format_task_key(k), "lb/6356081");
    auto parsed = core::parse_task_key("lb/6356081");
    ASSERT_TRUE(parsed);
    EXPECT_EQ(*parsed, k);
    auto uuid = core::parse_task_key("cvm/3f2a-99_x.Z");
    ASSERT_TRUE(uuid);
    EXPECT_EQ(uuid->service, "cvm");
    EXPECT_EQ(uuid->request_id, "3f2a-99_x.Z");
}

TEST(TaskKey, rejects_malformed) {
    for (std::string_view bad : {"", "lb", "lb/", "/123", "LB/1", "lb/1/2", "lb/1 2", "l b/1",
                                 "lb/\x01", "averyveryveryveryverylongservicename/1"}) {
        auto r = core::parse_task_key(bad);
        EXPECT_FALSE(r) << bad;
        if (!r) {
            EXPECT_EQ(r.error().kind, core::error_kind::invalid);
        }
    }
    EXPECT_FALSE(core::parse_task_key("lb/" + std::string(129, '1')));
    EXPECT_TRUE(core::parse_task_key("lb/" + std::string(128, '1')));
}

TEST(TaskKey, error_message_is_bounded_and_printable) {
    auto r = core::parse_task_key(std::string(10000, '\x07'));
    ASSERT_FALSE(r);
    EXPECT_LT(r.error().message.size(), 200u);
    EXPECT_EQ(r.error().message.find('\x07'), std::string::npos);
}

TEST(BatchId, round_trip_and_shape) {
    core::batch_id_generator gen(42);
    std::set<std::uint64_t> seen;
    for (int i = 0; i < 1000; ++i) {
        auto v = gen.next();
        EXPECT_EQ(v & ~core::batch_id_mask, 0u);
        auto s = core::format_batch_id(v);
        EXPECT_EQ(s.size(), 14u);
        EXPECT_EQ(s.substr(0, 2), "b-");
        EXPECT_EQ(core::parse_batch_id(s), v);
        seen.insert(v);
    }
    EXPECT_EQ(seen.size(), 1000u);
    EXPECT_FALSE(core::parse_batch_id("b-"));
    EXPECT_FALSE(core::parse_batch_id("x-0000000000000"));
    EXPECT_FALSE(core::parse_batch_id("b-00000000000u"));  // 'u' is not Crockford base32
    EXPECT_FALSE(core::parse_batch_id("b-0000000000000"));
    EXPECT_EQ(core::parse_batch_id("B-00000000000A"), std::nullopt);
    EXPECT_EQ(core::parse_batch_id("b-00000000000A"), 10u);
}

TEST(BatchId, seeded_generators_repeat) {
    core::batch_id_generator a(7), b(7);
    for (int i = 0; i < 10; ++i) EXPECT_EQ(a.next(), b.next());
}

TEST(Labels, validation) {
    EXPECT_TRUE(core::validate_labels({{"team", "infra"}, {"job/id", ""}}));
    EXPECT_FALSE(core::validate_labels({{"", "x"}}));
    EXPECT_FALSE(core::validate_labels({{"a=b", "x"}}));
    EXPECT_FALSE(core::validate_labels({{"k", std::string(256, 'v')}}));
    EXPECT_FALSE(core::validate_labels({{"k", "line\nbreak"}}));
    core::labels many;
    for (int i = 0; i < 17; ++i) many.emplace("k" + std::to_string(i), "v");
    EXPECT_FALSE(core::validate_labels(many));
}

TEST(Labels, parse) {
    auto l = core::parse_label("env=prod=1");
    ASSERT_TRUE(l);
    EXPECT_EQ(l->first, "env");
    EXPECT_EQ(l->second, "prod=1");
    EXPECT_FALSE(core::parse_label("novalue"));
    EXPECT_FALSE(core::parse_label("=x"));
}

TEST(ManualClock, advances_both_clocks) {
    core::manual_clock c;
    auto s0 = c.system_now();
    auto t0 = c.steady_now();
    c.advance(std::chrono::seconds(5));
    EXPECT_EQ(c.system_now() - s0, std::chrono::seconds(5));
    EXPECT_EQ(c.steady_now() - t0, std::chrono::seconds(5));
    c.set_system(s0 - std::chrono::hours(1));
    EXPECT_EQ(c.steady_now() - t0, std::chrono::seconds(5));
    core::real_clock r;
    EXPECT_GT(r.system_now().time_since_epoch().count(), 0);
}

}  // namespace
