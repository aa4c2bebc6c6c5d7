// posting_lists (store/indexes.hpp) on CRoaring: every id's list answers count() and next() as a
// sorted vector of the same positions would, for dense, sparse and run-shaped lists across
// 64 Ki-position chunk boundaries, before and after optimize(), and after clear().
#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <vector>

#include "store/indexes.hpp"

namespace taskpoller::store {
namespace {

std::uint32_t reference_next(const std::vector<std::uint32_t>& v, std::uint32_t from,
                             std::uint32_t end) {
    auto it = std::lower_bound(v.begin(), v.end(), from);
    return it == v.end() || *it >= end ? end : *it;
}

TEST(PostingLists, answer_as_sorted_vectors_do) {
    std::mt19937 rng(20261207);
    constexpr std::uint32_t positions = 300'000;  // five chunks of 65,536
    posting_lists lists;
    std::vector<std::vector<std::uint32_t>> ref(6);
    for (std::uint32_t pos = 0; pos < positions; ++pos) {
        auto add = [&](std::uint32_t id) {
            lists.add(id, pos);
            ref[id].push_back(pos);
        };
        add(0);                                                   // every position: one run
        if (rng() % 50 == 0) add(1);                              // sparse: array containers
        if (rng() % 3 != 0) add(2);                               // dense, irregular: bitmaps
        if ((pos / 1000) % 7 == 3) add(3);                        // runs of 1,000
        if (pos == 5 || pos == 70'000 || pos == 299'999) add(5);  // a few, far apart
        // id 4: never added to (an id between others)
    }
    auto check = [&](const char* when) {
        SCOPED_TRACE(when);
        for (std::uint32_t id = 0; id < 8; ++id) {  // 6 and 7: beyond every list
            const auto& v = id < ref.size() ? ref[id] : std::vector<std::uint32_t>{};
            EXPECT_EQ(lists.count(id), v.size()) << id;
            for (int i = 0; i < 2000; ++i) {
                std::uint32_t from = rng() % (positions + 10);
                std::uint32_t end = i % 4 == 0 ? positions + 10 : from + rng() % 5000;
                ASSERT_EQ(lists.next(id, from, end), reference_next(v, from, end))
                    << "id " << id << " from " << from << " end " << end;
            }
            // Walking the whole list from 0 visits exactly its positions.
            std::vector<std::uint32_t> walked;
            for (auto p = lists.next(id, 0, positions); p < positions;
                 p = lists.next(id, p + 1, positions)) {
                walked.push_back(p);
                if (walked.size() > v.size()) break;
            }
            EXPECT_EQ(walked, v) << id;
        }
    };
    check("as appended");
    lists.optimize();
    check("after optimize");
    // Appending after optimize() (a compaction) goes on working.
    for (std::uint32_t pos = positions; pos < positions + 100; ++pos) {
        lists.add(0, pos);
        ref[0].push_back(pos);
    }
    EXPECT_EQ(lists.count(0), ref[0].size());
    EXPECT_EQ(lists.next(0, positions + 50, positions + 200), positions + 50);
    lists.clear();
    for (std::uint32_t id = 0; id < 8; ++id) {
        EXPECT_EQ(lists.count(id), 0u);
        EXPECT_EQ(lists.next(id, 0, positions), positions);
    }
}

}  // namespace
}  // namespace taskpoller::store
