// key_table (store/key_table.hpp) with any number of slots (home slot h * slots >> 32, wrapping
// linear probing, backward-shift deletion): under random churn, growth, reserve and wrap-around,
// every stored position is found under its hash, for_each visits exactly the positions stored
// under a hash, and erased ones are gone.
#include "store/key_table.hpp"

#include <gtest/gtest.h>

#include <map>
#include <random>
#include <set>

namespace taskpoller::store {
namespace {

TEST(KeyTable, random_churn_against_a_model_with_growth_reserve_and_wrap_around) {
    for (std::uint64_t seed : {1u, 2u, 3u}) {
        SCOPED_TRACE(seed);
        std::mt19937_64 rng(seed);
        key_table t;
        std::multimap<std::uint64_t, std::uint32_t> model;  // hash → positions
        // Few distinct hashes (long probe runs, wrap-around at the table's end: hashes near the
        // top of the range) and many distinct ones.
        std::vector<std::uint64_t> hashes;
        for (int i = 0; i < 40; ++i) hashes.push_back(~std::uint64_t{0} - rng() % 64);
        for (int i = 0; i < 2000; ++i) hashes.push_back(rng());
        std::uint32_t next = 0;
        for (int round = 0; round < 30000; ++round) {
            if (round == 10000) t.reserve(model.size() * 3);
            if (model.empty() || rng() % 5 < 3) {
                auto h = hashes[rng() % hashes.size()];
                t.insert(h, next);
                model.emplace(h, next++);
            } else {
                auto it = model.begin();
                std::advance(it, static_cast<long>(rng() % model.size()));
                auto pos = it->second;
                ASSERT_TRUE(t.erase(it->first, [&](std::uint32_t p) { return p == pos; }));
                model.erase(it);
            }
            if (round % 997 != 0) continue;
            ASSERT_EQ(t.size(), model.size());
            EXPECT_LE(t.size() * 5, t.memory_bytes() / 8 * 4);  // at most 80 % full
            for (auto h : hashes) {
                std::multiset<std::uint32_t> want, seen;
                auto [a, b] = model.equal_range(h);
                for (auto i = a; i != b; ++i) want.insert(i->second);
                // for_each may also offer positions of another hash folding to the same 32 bits
                t.for_each(h, [&](std::uint32_t p) { seen.insert(p); });
                for (auto p : want) ASSERT_EQ(seen.count(p), 1u) << p;
                for (auto p : want) {
                    auto found = t.find(h, [&](std::uint32_t q) { return q == p; });
                    ASSERT_TRUE(found);
                    EXPECT_EQ(*found, p);
                }
            }
        }
        // An erased position is not found again.
        auto it = model.begin();
        auto pos = it->second;
        ASSERT_TRUE(t.erase(it->first, [&](std::uint32_t p) { return p == pos; }));
        EXPECT_FALSE(t.find(it->first, [&](std::uint32_t p) { return p == pos; }));
        EXPECT_FALSE(t.erase(it->first, [&](std::uint32_t p) { return p == pos; }));
    }
}

TEST(KeyTable, a_million_positions_take_at_most_15_bytes_each) {
    key_table t;
    std::mt19937_64 rng(7);
    for (std::uint32_t i = 0; i < 1'000'000; ++i) t.insert(rng(), i);
    EXPECT_LE(t.memory_bytes(), 15'000'000u);
    key_table r;
    r.reserve(1'000'000);
    EXPECT_LE(r.memory_bytes(), 10'000'016u);  // 1.25 slots a position when reserved
}

}  // namespace
}  // namespace taskpoller::store
