// The YAML emitter of -o yaml and `taskpollerctl config`.
#include "ctl/yaml_out.hpp"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

#include "ctl/completion.hpp"

namespace taskpoller::ctl {
namespace {
namespace json = boost::json;

TEST(YamlOut, BlockStyleForObjectsAndArrays) {
    const auto v =
        json::parse(R"({"id":"b-1","n":3,"ok":true,"none":null,"half":0.5,"rate":20.0,"big":1e300,
        "labels":{},"list":[],"entries":[{"resource_id":"ins-1","code":0},{"x":[1,[2]]}],
        "nested":{"a":{"b":"c"},"ids":["x","y"]}})");
    EXPECT_EQ(to_yaml(v),
              "id: b-1\n"
              "\"n\": 3\n"  // YAML 1.1 reads a plain n as false
              "ok: true\n"
              "none: null\n"
              "half: 0.5\n"
              "rate: 20.0\n"
              "big: 1.0e+300\n"
              "labels: {}\n"
              "list: []\n"
              "entries:\n"
              "- resource_id: ins-1\n"
              "  code: 0\n"
              "- x:\n"
              "  - 1\n"
              "  -\n"
              "    - 2\n"
              "nested:\n"
              "  a:\n"
              "    b: c\n"
              "  ids:\n"
              "  - x\n"
              "  - \"y\"\n");
    EXPECT_EQ(to_yaml(json::parse("[]")), "[]\n");
    EXPECT_EQ(to_yaml(json::parse("\"x\"")), "x\n");
}

// Strings a YAML reader would take for something else are double-quoted.
TEST(YamlOut, StringsThatNeedQuotesAreQuoted) {
    EXPECT_EQ(yaml_string("ap-guangzhou"), "ap-guangzhou");
    EXPECT_EQ(yaml_string("instance not found"), "instance not found");
    for (const char* s :
         {"",           "true", "no",   "null", "~",         "Off",
          "10",         "1.5",  "-1",   ".5",   "+1",        "2026-11-27T23:15:20.123Z",
          "<redacted>", "- x",  "a: b", "a #b", "trailing ", " leading",
          "key:",       "{x}",  "[x]",  "*ref", "&a",        "!tag",
          "%x",         "@x",   "`x",   "'q'",  "\"q\"",     "|",
          ">",          "?",    ",",    "#c"}) {
        const auto out = yaml_string(s);
        EXPECT_EQ(out.front(), '"') << s;
        EXPECT_EQ(out.back(), '"') << s;
    }
    EXPECT_EQ(yaml_string("a\"b\\c\nd\te\x01"), R"("a\"b\\c\nd\te\x01")");
    EXPECT_EQ(to_yaml(json::parse(R"({"secret_key":"<redacted>","yes":"no"})")),
              "secret_key: \"<redacted>\"\n\"yes\": \"no\"\n");
}

TEST(Completion, EditDistanceAndClosestWord) {
    EXPECT_EQ(edit_distance("list", "list"), 0u);
    EXPECT_EQ(edit_distance("lsit", "list"), 1u);  // a swap of neighbours
    EXPECT_EQ(edit_distance("stat", "status"), 2u);
    EXPECT_EQ(edit_distance("", "get"), 3u);
    const std::vector<std::string> cmds{"submit", "track",  "get",    "list",   "wait",    "watch",
                                        "cancel", "status", "config", "reload", "metrics", "ping"};
    EXPECT_EQ(closest_word("lsit", cmds), "list");
    EXPECT_EQ(closest_word("stauts", cmds), "status");
    EXPECT_EQ(closest_word("cancle", cmds), "cancel");
    EXPECT_EQ(closest_word("wathc", cmds), "watch");
    EXPECT_EQ(closest_word("xyzzy", cmds), "");
}

}  // namespace
}  // namespace taskpoller::ctl
