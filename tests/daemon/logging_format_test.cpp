// Log line formats: journald prefixes, timestamps, JSON escaping, level names.
#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

#include "daemon/log_escape.hpp"
#include "daemon/logging.hpp"

namespace td = taskpoller::daemon;
using taskpoller::core::log_level;

namespace {
// 2026-11-27T23:29:22.123Z
constexpr long long t_ms = 1795822162123;
}  // namespace

TEST(LogFormat, syslog_priorities) {
    EXPECT_EQ(td::syslog_priority(log_level::error), 3);
    EXPECT_EQ(td::syslog_priority(log_level::warn), 4);
    EXPECT_EQ(td::syslog_priority(log_level::info), 6);
    EXPECT_EQ(td::syslog_priority(log_level::debug), 7);
    EXPECT_EQ(td::syslog_priority(log_level::trace), 7);
}

TEST(LogFormat, text_has_iso_timestamp_and_level) {
    td::log_options o;
    EXPECT_EQ(td::format_log_line(o, false, log_level::warn, "disk slow", t_ms),
              "2026-11-27T23:29:22.123Z warn  disk slow");
    EXPECT_EQ(td::format_log_line(o, false, log_level::error, "x", 5),
              "1970-01-01T00:00:00.005Z error x");
}

TEST(LogFormat, journal_has_priority_prefix_and_no_timestamp) {
    td::log_options o;
    EXPECT_EQ(td::format_log_line(o, true, log_level::error, "boom", t_ms), "<3>boom");
    EXPECT_EQ(td::format_log_line(o, true, log_level::info, "up", t_ms), "<6>up");
    EXPECT_EQ(td::format_log_line(o, true, log_level::debug, "d", t_ms), "<7>d");
}

TEST(LogFormat, text_is_one_line) {
    td::log_options o;
    EXPECT_EQ(td::format_log_line(o, true, log_level::warn, "a\nb\r\tc\\d\x01", t_ms),
              "<4>a\\nb\\r\\tc\\\\d\\x01");
}

TEST(LogFormat, json_line) {
    td::log_options o;
    o.format = td::log_format::json;
    o.fields = {{"instance", "acct1"}, {"msg", "must not shadow"}};
    std::string line = td::format_log_line(o, false, log_level::info, "say \"hi\"\n", t_ms);
    EXPECT_EQ(line, R"({"ts":"2026-11-27T23:29:22.123Z","level":"info","msg":"say \"hi\"\n",)"
                    R"("instance":"acct1"})");
    auto v = boost::json::parse(line).as_object();
    EXPECT_EQ(v.at("msg").as_string(), "say \"hi\"\n");
    EXPECT_EQ(v.size(), 4u);
}

TEST(LogFormat, json_under_journal_keeps_prefix) {
    td::log_options o;
    o.format = td::log_format::json;
    std::string line = td::format_log_line(o, true, log_level::error, "x", t_ms);
    ASSERT_EQ(line.rfind("<3>{", 0), 0u) << line;
    EXPECT_NO_THROW(boost::json::parse(line.substr(3)));
}

TEST(JsonEscape, control_quotes_backslash) {
    EXPECT_EQ(td::json_escape("a\"b\\c\n\r\t\b\f\x01\x1f\x7f"),
              "a\\\"b\\\\c\\n\\r\\t\\b\\f\\u0001\\u001f\\u007f");
    EXPECT_EQ(td::json_escape(std::string_view("\0z", 2)), "\\u0000z");
}

TEST(JsonEscape, utf8_kept_invalid_replaced) {
    EXPECT_EQ(td::json_escape("caf\xc3\xa9 \xe4\xb8\xad \xf0\x9f\x98\x80"),
              "caf\xc3\xa9 \xe4\xb8\xad \xf0\x9f\x98\x80");
    EXPECT_EQ(td::json_escape("\xff"), "\\ufffd");
    EXPECT_EQ(td::json_escape("\xc3"), "\\ufffd") << "truncated sequence";
    EXPECT_EQ(td::json_escape("\xc0\xaf"), "\\ufffd\\ufffd") << "overlong '/'";
    EXPECT_EQ(td::json_escape("\xed\xa0\x80"), "\\ufffd\\ufffd\\ufffd") << "surrogate";
    EXPECT_EQ(td::json_escape("\xf4\x90\x80\x80"), "\\ufffd\\ufffd\\ufffd\\ufffd") << "> U+10FFFF";
    // Whatever the bytes, the output parses as a JSON string.
    std::string all;
    for (int c = 0; c < 256; ++c) all += static_cast<char>(c);
    EXPECT_NO_THROW(boost::json::parse("\"" + td::json_escape(all) + "\""));
}

TEST(LogOptions, parse_names) {
    EXPECT_EQ(td::parse_log_level("debug"), log_level::debug);
    EXPECT_EQ(td::parse_log_level("warning"), log_level::warn);
    EXPECT_EQ(td::parse_log_level("error"), log_level::error);
    EXPECT_EQ(td::parse_log_level("DEBUG"), std::nullopt);
    EXPECT_EQ(td::parse_log_level("verbose"), std::nullopt);
    EXPECT_EQ(td::parse_log_format("json"), td::log_format::json);
    EXPECT_EQ(td::parse_log_format("text"), td::log_format::text);
    EXPECT_EQ(td::parse_log_format("yaml"), std::nullopt);
}
