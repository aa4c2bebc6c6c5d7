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

TEST(DisplayWidth, CountsCodePointsAndIgnoresEscapes) {
    EXPECT_EQ(display_width("abc"), 3u);
    EXPECT_EQ(display_width("\xc3\xa9t\xc3\xa9"), 3u);
    EXPECT_EQ(display_width("\x1b[31mfailed 1\x1b[0m"), 8u);
    EXPECT_EQ(display_width("\r\x1b[K"), 1u);  // '\r' is a byte; the erase is not
    EXPECT_EQ(display_width(""), 0u);
}

TEST(Eta, ReadsLeftThenNowThenOverdue) {
    using std::chrono::milliseconds;
    EXPECT_EQ(eta_text(std::nullopt), "");
    EXPECT_EQ(eta_text(milliseconds{11'200}), "ETA 12s");  // rounded up
    EXPECT_EQ(eta_text(milliseconds{125'000}), "ETA 2m5s");
    EXPECT_EQ(eta_text(milliseconds{900}), "ETA ~now");
    EXPECT_EQ(eta_text(milliseconds{-4'000}), "ETA ~now");
    EXPECT_EQ(eta_text(milliseconds{-5'000}), "overdue 5s");
    EXPECT_EQ(eta_text(milliseconds{-3'700'000}), "overdue 1h1m");
}

// The interactive line at several terminal widths: never more than width - 1 columns; the bar
// shrinks first, then the per-state counts go, then the time, then the bar.
class ProgressLine : public ::testing::TestWithParam<bool> {};

TEST_P(ProgressLine, FitsEachWidthDroppingDetailInOrder) {
    const bool colour = GetParam();
    const state_counts c{{"running", 28}, {"succeeded", 11}, {"failed", 1}};
    const std::chrono::milliseconds elapsed{200'000};  // 3m20s
    const std::chrono::milliseconds eta{12'000};
    auto line = [&](int width) { return render_progress_line(c, elapsed, eta, width, colour); };
    for (int w : {1, 5, 10, 20, 30, 40, 50, 60, 66, 70, 74, 75, 79, 80, 100, 200}) {
        EXPECT_LE(display_width(line(w)), static_cast<std::size_t>(std::max(w - 1, 1)))
            << "width " << w << ": " << line(w);
        EXPECT_EQ(line(w).find('\n'), std::string::npos);
        EXPECT_EQ(line(w).find('\r'), std::string::npos);
    }
    const std::string counts = colour_state("running", "running 28", colour) + "  " +
                               colour_state("succeeded", "succeeded 11", colour) + "  " +
                               colour_state("failed", "failed 1", colour);
    // 200: everything, the bar at its full 30 cells.
    EXPECT_EQ(line(200), "[" + std::string(9, '#') + std::string(21, '-') +
                             "] 12/40 entries finished  " + counts + "  3m20s  ETA 12s");
    // 100: everything, the bar shrunk to what is left (22 cells); exactly 99 columns.
    EXPECT_EQ(line(100), "[" + std::string(6, '#') + std::string(16, '-') +
                             "] 12/40 entries finished  " + counts + "  3m20s  ETA 12s");
    EXPECT_EQ(display_width(line(100)), 99u);
    // 80: the per-state counts are dropped; the time and the ETA stay; the bar grows back.
    EXPECT_EQ(line(80), "[#########---------------------] 12/40 entries finished  3m20s  ETA 12s");
    // 50: the same with a shorter bar; exactly 49 columns.
    EXPECT_EQ(line(50), "[##------] 12/40 entries finished  3m20s  ETA 12s");
    EXPECT_EQ(display_width(line(50)), 49u);
    // 30: the time and then the bar are dropped.
    EXPECT_EQ(line(30), "12/40 entries finished");
    // Narrower than that: the bare counts, cut as a last resort, never wrapped.
    EXPECT_EQ(line(20), "12/40");
    EXPECT_EQ(line(5), "12/4");
    // Without an ETA, nothing is said of it.
    EXPECT_EQ(render_progress_line(c, elapsed, std::nullopt, 50, colour),
              "[#####------------] 12/40 entries finished  3m20s");
}

INSTANTIATE_TEST_SUITE_P(Colour, ProgressLine, ::testing::Values(false, true));

// After the terminal narrowed, a rewrapping terminal shows the old line on several rows.
TEST(ProgressRedraw, ErasesTheRowsOfARewrappedLine) {
    EXPECT_EQ(redraw_prefix(49, 50, 50), "\r\x1b[K");         // same width
    EXPECT_EQ(redraw_prefix(49, 50, 80), "\r\x1b[K");         // wider
    EXPECT_EQ(redraw_prefix(30, 50, 40), "\r\x1b[K");         // narrower, still fits
    EXPECT_EQ(redraw_prefix(49, 50, 40), "\r\x1b[1A\x1b[J");  // now on 2 rows
    EXPECT_EQ(redraw_prefix(79, 80, 20), "\r\x1b[3A\x1b[J");  // now on 4 rows
    EXPECT_EQ(redraw_prefix(49, 50, 0), "\r\x1b[K");          // width unknown
}

}  // namespace
}  // namespace taskpoller::ctl
