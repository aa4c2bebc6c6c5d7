// When the daemon re-reads its credentials by itself (config/credential_watch.hpp).
#include "config/credential_watch.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

namespace taskpoller::config {
namespace {

using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;

file_stamp stamp(std::string path, std::int64_t mtime, std::uint64_t size = 10) {
    return file_stamp{std::move(path), true, mtime, size, 7};
}

TEST(CredentialWatch, a_changed_removed_or_new_file_is_due_at_once) {
    credential_watch w;
    const auto t0 = clock_type::time_point{} + 1h;
    w.reset({stamp("/c/token", 1)}, 0, t0);
    EXPECT_FALSE(w.due({stamp("/c/token", 1)}, 0, t0 + 1s));
    auto why = w.due({stamp("/c/token", 2)}, 0, t0 + 1s);
    ASSERT_TRUE(why);
    EXPECT_EQ(*why, "/c/token changed");
    EXPECT_TRUE(w.due({stamp("/c/token", 1, 11)}, 0, t0));  // same time, another size
    file_stamp gone{"/c/token", false, 0, 0, 0};
    EXPECT_EQ(*w.due({gone}, 0, t0), "/c/token was removed");
    EXPECT_EQ(*w.due({stamp("/c/token", 1), stamp("/c/secret_id", 1)}, 0, t0),
              "/c/secret_id is new");
    EXPECT_EQ(w.paths(), std::vector<std::string>{"/c/token"});
}

TEST(CredentialWatch, a_token_failure_is_due_once_per_gap_and_only_when_new) {
    credential_watch w(10s);
    const auto t0 = clock_type::time_point{} + 1h;
    w.reset({stamp("/c/token", 1)}, 3, t0);
    EXPECT_FALSE(w.due({stamp("/c/token", 1)}, 3, t0 + 1min));  // no new failure
    EXPECT_FALSE(w.due({stamp("/c/token", 1)}, 4, t0 + 9s));    // too soon after a read
    auto why = w.due({stamp("/c/token", 1)}, 4, t0 + 10s);
    ASSERT_TRUE(why);
    EXPECT_EQ(*why, "a call was answered AuthFailure.TokenFailure");
    w.reset({stamp("/c/token", 1)}, 4, t0 + 10s);  // re-read: unchanged, say
    EXPECT_FALSE(w.due({stamp("/c/token", 1)}, 4, t0 + 1h));
    EXPECT_FALSE(w.due({stamp("/c/token", 1)}, 9, t0 + 15s));
    EXPECT_TRUE(w.due({stamp("/c/token", 1)}, 9, t0 + 20s));
}

TEST(CredentialWatch, stamp_files_reads_what_stat_says) {
    auto dir = std::filesystem::temp_directory_path() /
               ("tp-credential-watch-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    const auto path = (dir / "token").string();
    std::filesystem::remove(path);
    auto missing = stamp_files({path});
    ASSERT_EQ(missing.size(), 1u);
    EXPECT_FALSE(missing[0].exists);
    std::ofstream(path) << "token-1";
    auto present = stamp_files({path});
    EXPECT_TRUE(present[0].exists);
    EXPECT_EQ(present[0].size, 7u);
    EXPECT_NE(present[0].inode, 0u);
    credential_watch w;
    w.reset(present, 0, clock_type::now());
    std::ofstream(path) << "token-22";
    EXPECT_TRUE(w.due(stamp_files({path}), 0, clock_type::now()));
    std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace taskpoller::config
