#include "engine/handle_index.hpp"

#include <gtest/gtest.h>

#include <functional>
#include <random>
#include <string>
#include <unordered_map>
#include <vector>

namespace taskpoller::engine::detail {
namespace {

// Keys live outside the index, as in poll_state: keys_[handle]; `live_` says which are present.
struct keyed_index {
    handle_index index;
    std::vector<std::string> keys;
    std::vector<bool> live;
    std::vector<std::uint32_t> free;
    std::uint64_t (*hash)(const std::string&) = nullptr;

    std::uint64_t hash_of(std::uint32_t h) const { return hash(keys[h]); }

    std::optional<std::uint32_t> find(const std::string& k) const {
        return index.find(hash(k), [&](std::uint32_t h) {
            EXPECT_TRUE(live[h]) << "the index holds a released handle " << h;
            return keys[h] == k;
        });
    }
    std::uint32_t insert(const std::string& k) {
        std::uint32_t h;
        if (!free.empty()) {
            h = free.back();
            free.pop_back();
            keys[h] = k;
        } else {
            h = static_cast<std::uint32_t>(keys.size());
            keys.push_back(k);
            live.push_back(false);
        }
        live[h] = true;
        index.insert(hash(k), h, [this](std::uint32_t x) { return hash_of(x); });
        return h;
    }
    bool erase(std::uint32_t h) {
        if (!index.erase(hash_of(h), h)) return false;
        live[h] = false;
        free.push_back(h);
        return true;
    }
};

std::uint64_t good_hash(const std::string& k) {
    return std::hash<std::string>{}(k);
}
// Every key in one of 8 chains: long probe runs, tombstones inside them.
std::uint64_t weak_hash(const std::string& k) {
    return std::hash<std::string>{}(k) % 8;
}

TEST(HandleIndex, EmptyFindsNothing) {
    handle_index idx;
    EXPECT_EQ(idx.size(), 0u);
    EXPECT_FALSE(idx.find(42, [](std::uint32_t) { return true; }));
    EXPECT_FALSE(idx.erase(42, 0));
}

TEST(HandleIndex, InsertFindErase) {
    keyed_index k;
    k.hash = good_hash;
    const auto a = k.insert("lb/1");
    const auto b = k.insert("lb/2");
    EXPECT_EQ(k.index.size(), 2u);
    EXPECT_EQ(k.find("lb/1"), a);
    EXPECT_EQ(k.find("lb/2"), b);
    EXPECT_FALSE(k.find("lb/3"));
    EXPECT_TRUE(k.erase(a));
    EXPECT_FALSE(k.erase(a));
    EXPECT_FALSE(k.find("lb/1"));
    EXPECT_EQ(k.find("lb/2"), b);
    EXPECT_EQ(k.index.size(), 1u);
    // The released handle is reused for another key.
    const auto c = k.insert("cvm/9");
    EXPECT_EQ(c, a);
    EXPECT_EQ(k.find("cvm/9"), c);
    EXPECT_FALSE(k.find("lb/1"));
}

TEST(HandleIndex, ErasingInsideAChainLeavesATombstoneTheProbesPass) {
    keyed_index k;
    k.hash = [](const std::string&) -> std::uint64_t { return 7; };  // one chain
    const auto a = k.insert("a");
    const auto b = k.insert("b");
    const auto c = k.insert("c");
    EXPECT_TRUE(k.erase(b));  // the middle of the run: a tombstone
    EXPECT_EQ(k.index.tombstones(), 1u);
    EXPECT_EQ(k.find("c"), c);  // found past the tombstone
    EXPECT_EQ(k.find("a"), a);
    EXPECT_TRUE(k.erase(c));  // the end of the run: emptied at once
    EXPECT_EQ(k.index.tombstones(), 1u);
    const auto d = k.insert("d");  // reuses the tombstone
    EXPECT_EQ(k.index.tombstones(), 0u);
    EXPECT_EQ(k.find("d"), d);
    EXPECT_EQ(k.find("a"), a);
    EXPECT_FALSE(k.find("b"));
    EXPECT_FALSE(k.find("c"));
}

TEST(HandleIndex, GrowsAndKeepsItsLoadBounded) {
    keyed_index k;
    k.hash = good_hash;
    std::size_t last_capacity = 0;
    for (int i = 0; i < 100'000; ++i) {
        k.insert("lb/" + std::to_string(i));
        ASSERT_LE(k.index.size() * 4, k.index.capacity() * 3);
        last_capacity = k.index.capacity();
    }
    EXPECT_EQ(last_capacity & (last_capacity - 1), 0u) << "a power of two";
    EXPECT_LE(last_capacity, 262'144u);  // 100,000 at a load of at least 3/8
    for (int i = 0; i < 100'000; ++i) ASSERT_TRUE(k.find("lb/" + std::to_string(i)));
    EXPECT_FALSE(k.find("lb/100000"));
}

// reserve(n) sizes the table once for n handles in all: no rehash while they are inserted, a
// load of at most 3/4, the handles already present still found.
TEST(HandleIndex, ReserveMakesRoomForABulkLoadAtOnce) {
    keyed_index k;
    k.hash = good_hash;
    for (int i = 0; i < 1000; ++i) k.insert("lb/" + std::to_string(i));
    const auto hash_of = [&k](std::uint32_t x) { return k.hash_of(x); };
    k.index.reserve(100'000, hash_of);
    const std::size_t cap = k.index.capacity();
    EXPECT_EQ(cap, 262'144u);  // the smallest power of two holding 100,000 at most 3/4 full
    for (int i = 0; i < 1000; ++i) ASSERT_TRUE(k.find("lb/" + std::to_string(i))) << i;
    for (int i = 1000; i < 100'000; ++i) {
        k.insert("lb/" + std::to_string(i));
        ASSERT_EQ(k.index.capacity(), cap) << i;
    }
    for (int i = 0; i < 100'000; ++i) ASSERT_TRUE(k.find("lb/" + std::to_string(i))) << i;
    k.index.reserve(10, hash_of);  // already room: nothing changes
    EXPECT_EQ(k.index.capacity(), cap);
}

TEST(HandleIndex, ChurnAtAConstantSizeDoesNotGrowTheTable) {
    keyed_index k;
    k.hash = good_hash;
    std::vector<std::uint32_t> hs;
    for (int i = 0; i < 1000; ++i) hs.push_back(k.insert("k" + std::to_string(i)));
    const auto cap = k.index.capacity();
    std::mt19937 rng(7);
    for (int i = 1000; i < 200'000; ++i) {
        auto& slot = hs[rng() % hs.size()];
        ASSERT_TRUE(k.erase(slot));
        slot = k.insert("k" + std::to_string(i));
    }
    EXPECT_EQ(k.index.size(), 1000u);
    EXPECT_LE(k.index.capacity(), cap * 2);
    EXPECT_LE((k.index.size() + k.index.tombstones()) * 4, k.index.capacity() * 3);
    for (auto h : hs) EXPECT_EQ(k.find(k.keys[h]), h);
}

// Random inserts, erasures and lookups against std::unordered_map, with a good and a weak hash.
void randomized(std::uint64_t (*hash)(const std::string&), unsigned seed) {
    keyed_index k;
    k.hash = hash;
    std::unordered_map<std::string, std::uint32_t> ref;
    std::mt19937 rng(seed);
    for (int step = 0; step < 60'000; ++step) {
        const std::string key = "t" + std::to_string(rng() % 3000);
        switch (rng() % 3) {
            case 0: {  // insert if absent
                if (ref.contains(key)) break;
                ref[key] = k.insert(key);
                break;
            }
            case 1: {  // erase if present
                auto it = ref.find(key);
                if (it == ref.end()) break;
                ASSERT_TRUE(k.erase(it->second));
                ref.erase(it);
                break;
            }
            default: {
                auto it = ref.find(key);
                auto got = k.find(key);
                if (it == ref.end()) {
                    ASSERT_FALSE(got) << key;
                } else {
                    ASSERT_TRUE(got) << key;
                    ASSERT_EQ(*got, it->second) << key;
                }
            }
        }
        ASSERT_EQ(k.index.size(), ref.size());
    }
    for (const auto& [key, h] : ref) EXPECT_EQ(k.find(key), h);
    for (std::uint32_t h = 0; h < k.keys.size(); ++h) {
        if (!k.live[h]) {
            EXPECT_FALSE(k.index.erase(k.hash_of(h), h));
        }
    }
}

TEST(HandleIndex, MatchesUnorderedMapWithAGoodHash) {
    randomized(good_hash, 1);
}
TEST(HandleIndex, MatchesUnorderedMapWithAWeakHash) {
    randomized(weak_hash, 2);
}

}  // namespace
}  // namespace taskpoller::engine::detail
