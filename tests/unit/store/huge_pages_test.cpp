#include "store/huge_pages.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <fstream>
#include <sstream>
#include <string>
#include <utility>

namespace taskpoller::store {
namespace {

constexpr std::uintptr_t two_mib = std::uintptr_t{2} << 20;

// The VmFlags line of the /proc/self/smaps mapping that contains `p` ("" if none does).
std::string vm_flags_of(const void* p) {
    const auto addr = reinterpret_cast<std::uintptr_t>(p);
    std::ifstream smaps("/proc/self/smaps");
    std::string line;
    bool inside = false;
    while (std::getline(smaps, line)) {
        std::uintptr_t lo = 0, hi = 0;
        char dash = 0;
        std::istringstream head(line);
        if (head >> std::hex >> lo >> dash >> hi && dash == '-') {
            inside = lo <= addr && addr < hi;
            continue;
        }
        if (inside && line.starts_with("VmFlags:")) return line;
    }
    return "";
}

bool thp_available() {
    std::ifstream f("/sys/kernel/mm/transparent_hugepage/enabled");
    std::string mode;
    std::getline(f, mode);
    return mode.find("[never]") == std::string::npos && !mode.empty();
}

TEST(HugePages, large_block_is_aligned_and_advised) {
    huge_page_allocator<std::uint64_t> a;
    const std::size_t n = huge_page_threshold / sizeof(std::uint64_t) + 3;  // not a 2 MiB multiple
    auto* p = a.allocate(n);
    ASSERT_NE(p, nullptr);
    EXPECT_EQ(reinterpret_cast<std::uintptr_t>(p) % two_mib, 0u);
    p[0] = 1;
    p[n - 1] = 2;  // the last element is inside the mapping
    EXPECT_EQ(p[0] + p[n - 1], 3u);
    const auto flags = vm_flags_of(p);
    ASSERT_FALSE(flags.empty()) << "no mapping in /proc/self/smaps contains the block";
    if (thp_available()) {
        EXPECT_NE(flags.find(" hg"), std::string::npos)
            << flags;  // VM_HUGEPAGE: MADV_HUGEPAGE took
    }
    a.deallocate(p, n);
    EXPECT_TRUE(vm_flags_of(p).empty() || vm_flags_of(p).find(" hg") == std::string::npos)
        << "the mapping outlived deallocate";
}

TEST(HugePages, small_block_comes_from_the_heap) {
    huge_page_allocator<char> a;
    char* p = a.allocate(100);
    ASSERT_NE(p, nullptr);
    p[99] = 'x';
    EXPECT_EQ(vm_flags_of(p).find(" hg"), std::string::npos);
    a.deallocate(p, 100);
}

TEST(HugePages, over_aligned_small_block) {
    struct alignas(64) wide {
        char bytes[64];
    };
    huge_page_allocator<wide> a;
    wide* p = a.allocate(3);
    EXPECT_EQ(reinterpret_cast<std::uintptr_t>(p) % 64, 0u);
    a.deallocate(p, 3);
}

TEST(HugePages, vector_grows_across_the_threshold_and_keeps_its_contents) {
    huge_vector<std::uint32_t> v;
    const std::size_t n = 3 * huge_page_threshold / sizeof(std::uint32_t);
    for (std::size_t i = 0; i < n; ++i) v.push_back(static_cast<std::uint32_t>(i * 7));
    ASSERT_EQ(v.size(), n);
    for (std::size_t i = 0; i < n; i += 4099) ASSERT_EQ(v[i], i * 7);
    EXPECT_EQ(v.back(), (n - 1) * 7);

    huge_vector<std::uint32_t> copy = v;
    EXPECT_EQ(copy, v);
    huge_vector<std::uint32_t> moved = std::move(copy);
    EXPECT_EQ(moved.size(), n);
    EXPECT_EQ(moved[n / 2], (n / 2) * 7);
    moved.clear();
    moved.shrink_to_fit();
    EXPECT_EQ(moved.capacity(), 0u);
}

TEST(HugePages, impossible_size_throws) {
    huge_page_allocator<std::uint64_t> a;
    EXPECT_THROW((void)a.allocate(std::numeric_limits<std::size_t>::max() / 4),
                 std::bad_array_new_length);
    EXPECT_THROW((void)a.allocate(std::numeric_limits<std::size_t>::max() / 8 - 1), std::bad_alloc);
}

}  // namespace
}  // namespace taskpoller::store
