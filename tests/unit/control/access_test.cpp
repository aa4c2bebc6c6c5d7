#include "control/access.hpp"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

namespace taskpoller::control {
namespace {

access_policy policy() {
    access_policy p;
    p.daemon_uid = 990;
    p.admin_uids = {1001};
    p.admin_gids = {500};
    return p;
}

group_lookup groups_of(std::vector<gid_t> g, int* calls = nullptr) {
    return [g, calls](const peer_credentials&) -> std::optional<std::vector<gid_t>> {
        if (calls) ++*calls;
        return g;
    };
}

peer_credentials peer(uid_t u, gid_t g) {
    return {u, g, 1234};
}

TEST(Access, ReadsAreOpenToEveryone) {
    EXPECT_EQ(decide_access(policy(), peer(4242, 4242), false, groups_of({})),
              access_decision::allow);
    EXPECT_EQ(decide_access(policy(), std::nullopt, false, groups_of({})), access_decision::allow);
}

TEST(Access, MutationsFailClosedWithoutCredentials) {
    EXPECT_EQ(decide_access(policy(), std::nullopt, true, groups_of({500})),
              access_decision::deny_no_credentials);
    EXPECT_EQ(decide_access(policy(), peer(static_cast<uid_t>(-1), 500), true, groups_of({500})),
              access_decision::deny_no_credentials);
}

TEST(Access, PrivilegedUidsMayMutate) {
    int calls = 0;
    for (uid_t u : {0u, 990u, 1001u})
        EXPECT_EQ(decide_access(policy(), peer(u, 4242), true, groups_of({}, &calls)),
                  access_decision::allow)
            << u;
    EXPECT_EQ(calls, 0);  // no group lookup needed
}

TEST(Access, AdminGroupByPrimaryOrSupplementary) {
    int calls = 0;
    EXPECT_EQ(decide_access(policy(), peer(4242, 500), true, groups_of({}, &calls)),
              access_decision::allow);
    EXPECT_EQ(calls, 0);
    EXPECT_EQ(decide_access(policy(), peer(4242, 4242), true, groups_of({4242, 27, 500}, &calls)),
              access_decision::allow);
    EXPECT_EQ(calls, 1);
}

TEST(Access, OthersAreDenied) {
    EXPECT_EQ(decide_access(policy(), peer(4242, 4242), true, groups_of({4242, 27})),
              access_decision::deny_not_admin);
    // A lookup that cannot say denies too.
    group_lookup unknown = [](const peer_credentials&) {
        return std::optional<std::vector<gid_t>>{};
    };
    EXPECT_EQ(decide_access(policy(), peer(4242, 4242), true, unknown),
              access_decision::deny_not_admin);
    access_policy no_groups = policy();
    no_groups.admin_gids.clear();
    EXPECT_EQ(decide_access(no_groups, peer(4242, 500), true, groups_of({500})),
              access_decision::deny_not_admin);
}

TEST(Access, MutatingMethods) {
    EXPECT_FALSE(is_mutating_method("GET"));
    EXPECT_FALSE(is_mutating_method("HEAD"));
    for (auto m : {"POST", "PUT", "DELETE", "PATCH", "BREW"}) EXPECT_TRUE(is_mutating_method(m));
}

TEST(Access, ReadsRealPeerCredentials) {
    int sv[2];
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    auto c = read_peer_credentials(sv[0]);
    ASSERT_TRUE(c);
    EXPECT_EQ(c->uid, ::geteuid());
    EXPECT_EQ(c->gid, ::getegid());
    EXPECT_EQ(c->pid, ::getpid());
    ::close(sv[0]);
    ::close(sv[1]);
    EXPECT_FALSE(read_peer_credentials(-1));
}

TEST(Access, ResolvesNamesAndIds) {
    EXPECT_EQ(*resolve_group("0"), 0u);
    EXPECT_EQ(*resolve_group("root"), 0u);
    EXPECT_EQ(*resolve_user("root"), 0u);
    auto bad = resolve_group("no-such-group-xyz");
    ASSERT_FALSE(bad);
    EXPECT_NE(bad.error().message.find("no-such-group-xyz"), std::string::npos);
    EXPECT_FALSE(resolve_user("no-such-user-xyz"));
}

TEST(Access, SystemGroupLookupIncludesPrimary) {
    auto g = system_group_lookup(peer(0, 0));
    ASSERT_TRUE(g);
    EXPECT_NE(std::find(g->begin(), g->end(), 0u), g->end());
}

}  // namespace
}  // namespace taskpoller::control
