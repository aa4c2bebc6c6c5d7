// LISTEN_* parsing and descriptor selection, without descriptors.
#include <gtest/gtest.h>

#include "daemon/activation.hpp"

namespace td = taskpoller::daemon;

namespace {
std::string error_of(const taskpoller::core::result<std::vector<td::listen_fd>>& r) {
    return r ? std::string("(no error)") : r.error().message;
}
}  // namespace

TEST(ParseListenEnv, not_activated) {
    for (auto [pid, fds] : {std::pair<const char*, const char*>{nullptr, nullptr},
                            {nullptr, "1"},
                            {"42", nullptr},
                            {"42", "0"}}) {
        auto r = td::parse_listen_env(pid, fds, nullptr, 42);
        ASSERT_TRUE(r) << error_of(r);
        EXPECT_TRUE(r->empty());
    }
}

TEST(ParseListenEnv, other_process) {
    auto r = td::parse_listen_env("41", "2", "a:b", 42);
    ASSERT_TRUE(r);
    EXPECT_TRUE(r->empty()) << "variables inherited from a parent are not ours";
}

TEST(ParseListenEnv, names_and_numbers) {
    auto r = td::parse_listen_env("42", "3", "metrics:control:", 42);
    ASSERT_TRUE(r) << error_of(r);
    ASSERT_EQ(r->size(), 3u);
    EXPECT_EQ((*r)[0].fd, 3);
    EXPECT_EQ((*r)[0].name, "metrics");
    EXPECT_EQ((*r)[1].fd, 4);
    EXPECT_EQ((*r)[1].name, "control");
    EXPECT_EQ((*r)[2].fd, 5);
    EXPECT_EQ((*r)[2].name, "");
}

TEST(ParseListenEnv, names_absent) {
    auto r = td::parse_listen_env("42", "1", nullptr, 42);
    ASSERT_TRUE(r);
    ASSERT_EQ(r->size(), 1u);
    EXPECT_EQ((*r)[0].name, "unknown");
}

TEST(ParseListenEnv, errors) {
    struct bad {
        const char *pid, *fds, *names, *expect;
    };
    for (auto b : {bad{"x", "1", nullptr, "LISTEN_PID"}, bad{"42", "one", nullptr, "LISTEN_FDS"},
                   bad{"42", "-1", nullptr, "LISTEN_FDS"}, bad{"42", "", nullptr, "LISTEN_FDS"},
                   bad{"42", "100000", nullptr, "too large"},
                   bad{"42", "2", "control", "LISTEN_FDNAMES names 1"},
                   bad{"42", "1", "a:b", "LISTEN_FDNAMES names 2"}}) {
        auto r = td::parse_listen_env(b.pid, b.fds, b.names, 42);
        ASSERT_FALSE(r) << b.pid << " " << b.fds;
        EXPECT_NE(r.error().message.find(b.expect), std::string::npos) << r.error().message;
    }
}

TEST(SelectListenFd, by_name_or_only_one) {
    auto none = td::select_listen_fd({}, "control");
    ASSERT_TRUE(none);
    EXPECT_EQ(*none, std::nullopt);

    auto only = td::select_listen_fd({{3, "unknown"}}, "control");
    ASSERT_TRUE(only);
    EXPECT_EQ(*only, 3);

    auto named = td::select_listen_fd({{3, "metrics"}, {4, "control"}}, "control");
    ASSERT_TRUE(named);
    EXPECT_EQ(*named, 4);
}

TEST(SelectListenFd, ambiguous) {
    auto unnamed = td::select_listen_fd({{3, "a"}, {4, "b"}}, "control");
    ASSERT_FALSE(unnamed);
    EXPECT_NE(unnamed.error().message.find("FileDescriptorName=control"), std::string::npos);

    auto twice = td::select_listen_fd({{3, "control"}, {4, "control"}}, "control");
    ASSERT_FALSE(twice);
    EXPECT_NE(twice.error().message.find("several"), std::string::npos);
}
