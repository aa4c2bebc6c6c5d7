#include "store/compact_string.hpp"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

namespace taskpoller::store {
namespace {

const std::string long_rid = "6f9619ff-8b86-d011-b42d-00c04fc964ff";  // 36 characters

TEST(CompactString, empty_by_default) {
    compact_string s;
    EXPECT_TRUE(s.empty());
    EXPECT_EQ(s.size(), 0u);
    EXPECT_FALSE(s.on_heap());
    EXPECT_EQ(s.view(), "");
    EXPECT_EQ(s, std::string_view{});
}

TEST(CompactString, short_strings_are_inline_up_to_15_characters) {
    for (std::size_t n = 0; n <= 15; ++n) {
        std::string v(n, 'a' + static_cast<char>(n));
        compact_string s(v);
        EXPECT_FALSE(s.on_heap()) << n;
        EXPECT_EQ(s.size(), n);
        EXPECT_EQ(s.view(), v);
        EXPECT_EQ(s.str(), v);
    }
}

TEST(CompactString, longer_strings_go_to_the_heap) {
    compact_string s(std::string(16, 'x'));
    EXPECT_TRUE(s.on_heap());
    EXPECT_EQ(s.view(), std::string(16, 'x'));
    compact_string r(long_rid);
    EXPECT_TRUE(r.on_heap());
    EXPECT_EQ(r.size(), 36u);
    EXPECT_EQ(r, long_rid);
    std::string big(100000, 'q');
    big[99999] = 'z';
    compact_string b(big);
    EXPECT_EQ(b.view(), big);
}

TEST(CompactString, keeps_embedded_nul_and_newline_bytes) {
    std::string v("a\0b\nc", 5);
    compact_string s(v);
    EXPECT_EQ(s.size(), 5u);
    EXPECT_EQ(s.view(), v);
    std::string lv = long_rid + std::string("\0\n", 2) + long_rid;
    compact_string l(lv);
    EXPECT_EQ(l.view(), lv);
}

TEST(CompactString, copies_are_independent) {
    for (const std::string& v : {std::string("running"), long_rid}) {
        compact_string a(v);
        compact_string b(a);
        EXPECT_EQ(a, b);
        b = "other";
        EXPECT_EQ(a.view(), v);
        EXPECT_EQ(b.view(), "other");
        compact_string c;
        c = a;
        a = long_rid + "-changed";
        EXPECT_EQ(c.view(), v);
        if (v.size() > 15) {
            EXPECT_NE(c.data(), a.data());  // not shared
        }
    }
}

TEST(CompactString, moves_transfer_and_leave_the_source_empty) {
    compact_string a(long_rid);
    const char* heap = a.data();
    compact_string b(std::move(a));
    EXPECT_EQ(b.data(), heap);  // the block moved, not copied
    EXPECT_EQ(b, long_rid);
    EXPECT_TRUE(a.empty());  // NOLINT(bugprone-use-after-move): documented state
    compact_string c("short");
    c = std::move(b);
    EXPECT_EQ(c, long_rid);
    EXPECT_TRUE(b.empty());  // NOLINT(bugprone-use-after-move)
    compact_string d("inline");
    compact_string e(std::move(d));
    EXPECT_EQ(e, "inline");
    EXPECT_TRUE(d.empty());  // NOLINT(bugprone-use-after-move)
}

TEST(CompactString, self_assignment_and_assignment_from_its_own_view) {
    for (const std::string& v : {std::string("abc"), long_rid}) {
        compact_string s(v);
        auto& alias = s;
        s = alias;
        EXPECT_EQ(s.view(), v);
        s = std::move(alias);
        EXPECT_EQ(s.view(), v);
        s = s.view().substr(1);  // from its own storage
        EXPECT_EQ(s.view(), v.substr(1));
    }
}

TEST(CompactString, reassignment_between_inline_and_heap) {
    compact_string s("a");
    s = long_rid;
    EXPECT_TRUE(s.on_heap());
    EXPECT_EQ(s, long_rid);
    s = "b";
    EXPECT_FALSE(s.on_heap());
    EXPECT_EQ(s, "b");
    s = std::string{};
    EXPECT_TRUE(s.empty());
}

TEST(CompactString, comparisons) {
    compact_string a("abc"), b("abd"), l(long_rid);
    EXPECT_TRUE(a == std::string("abc"));
    EXPECT_TRUE(a == std::string_view("abc"));
    EXPECT_TRUE(a == "abc");
    EXPECT_TRUE(a != b);
    EXPECT_TRUE(a != std::string("ab"));  // a prefix is not equal
    EXPECT_TRUE(a != std::string("abcd"));
    EXPECT_LT(a, b);
    EXPECT_LT(l, b);  // longer but smaller: bytes decide ('6' < 'a'), not sizes
    EXPECT_LT(l, a);
    EXPECT_EQ(compact_string(long_rid), l);
    EXPECT_TRUE(std::string_view("abc") == a);  // reversed operands
}

TEST(CompactString, in_a_growing_vector) {
    std::vector<compact_string> v;
    for (int i = 0; i < 1000; ++i) v.emplace_back(std::to_string(i) + (i % 2 ? long_rid : ""));
    for (int i = 0; i < 1000; ++i) {
        EXPECT_EQ(v[static_cast<std::size_t>(i)].view(),
                  std::to_string(i) + (i % 2 ? long_rid : ""));
    }
    EXPECT_EQ(sizeof(compact_string), 16u);
}

}  // namespace
}  // namespace taskpoller::store
