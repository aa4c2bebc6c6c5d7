#include "ctl/render.hpp"

#include <gtest/gtest.h>

namespace taskpoller::ctl {
namespace {

TEST(Colour, OnlyOnATerminalWithoutOptOuts) {
    EXPECT_TRUE(colour_enabled(true, false, nullptr));
    EXPECT_TRUE(colour_enabled(true, false, ""));
    EXPECT_FALSE(colour_enabled(false, false, nullptr));
    EXPECT_FALSE(colour_enabled(true, true, nullptr));
    EXPECT_FALSE(colour_enabled(true, false, "1"));
}

TEST(Colour, StatesAreColouredOnlyWhenEnabled) {
    EXPECT_EQ(colour_state("failed", "failed", false), "failed");
    EXPECT_EQ(colour_state("failed", "failed", true), "\x1b[31mfailed\x1b[0m");
    EXPECT_EQ(colour_state("succeeded", "ok", true), "\x1b[32mok\x1b[0m");
    EXPECT_EQ(colour_state("pending", "pending", true), "pending");
}

TEST(Table, AlignsColumnsAndTrimsTrailingSpace) {
    const auto t = render_table({"A", "LONGER"}, {{{"xxxx", ""}, {"1", ""}}, {{"y", ""}}}, false);
    EXPECT_EQ(t,
              "A     LONGER\n"
              "xxxx  1\n"
              "y\n");
}

TEST(Table, NoEscapeCodesWithoutColourAndAlignmentKeptWithColour) {
    const std::vector<std::vector<cell>> rows{
        {{"ins-1", ""}, {"failed", "failed"}, {"x", ""}},
        {{"ins-22", ""}, {"succeeded", "succeeded"}, {"y", ""}}};
    const auto plain = render_table({"RES", "STATE", "Z"}, rows, false);
    EXPECT_EQ(plain.find('\x1b'), std::string::npos);
    EXPECT_EQ(plain,
              "RES     STATE      Z\n"
              "ins-1   failed     x\n"
              "ins-22  succeeded  y\n");
    const auto coloured = render_table({"RES", "STATE", "Z"}, rows, true);
    EXPECT_NE(coloured.find("\x1b[31mfailed\x1b[0m     x"), std::string::npos);
}

TEST(Table, ControlCharactersCannotReachTheTerminal) {
    const auto t = render_table({"A"}, {{{"evil\x1b[2J\r\n", ""}}}, false);
    EXPECT_EQ(t, "A\nevil?[2J??\n");
    EXPECT_EQ(sanitize("a\tb\x7f"), "a?b?");
}

TEST(Table, WidthCountsCodePointsNotBytes) {
    const auto t = render_table({"N", "X"}, {{{"\xc3\xa9t\xc3\xa9", ""}, {"1", ""}}}, false);
    EXPECT_EQ(t, "N    X\n\xc3\xa9t\xc3\xa9  1\n");
}

TEST(Counts, CanonicalOrderSkipsZeros) {
    const state_counts c{
        {"succeeded", 3}, {"failed", 1}, {"running", 0}, {"pending", 2}, {"zzz_new", 1}};
    EXPECT_EQ(render_counts(c, false), "pending 2  succeeded 3  failed 1  zzz_new 1");
    EXPECT_EQ(render_counts({}, false), "none");
    EXPECT_EQ(render_counts({{"running", 0}}, false), "none");
}

TEST(Progress, BarAndCounts) {
    const state_counts c{{"running", 2}, {"succeeded", 1}, {"failed", 1}};
    EXPECT_EQ(render_progress(c, 4, false),
              "[##--] 2/4 entries finished  running 2  succeeded 1  failed 1");
    EXPECT_EQ(render_progress({}, 3, false), "[---] 0/0 entries finished  none");
    EXPECT_EQ(render_progress({{"succeeded", 7}}, 2, false),
              "[##] 7/7 entries finished  succeeded 7");
    EXPECT_EQ(render_progress({{"rejected", 1}, {"pending", 1}}, 2, false),
              "[#-] 1/2 entries finished  pending 1  rejected 1");
    EXPECT_EQ(render_progress({{"running", 1}}, 0, false), "[-] 0/1 entries finished  running 1");
    EXPECT_EQ(render_progress(c, 4, false).find('\x1b'), std::string::npos);
    EXPECT_NE(render_progress(c, 4, true).find("\x1b[31mfailed 1\x1b[0m"), std::string::npos);
}

}  // namespace
}  // namespace taskpoller::ctl
