#include "control/access.hpp"

#include <fmt/format.h>
#include <grp.h>
#include <pwd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>

namespace taskpoller::control {

bool is_mutating_method(std::string_view method) noexcept {
    return method != "GET" && method != "HEAD";
}

access_decision decide_access(const access_policy& policy,
                              const std::optional<peer_credentials>& peer, bool mutation,
                              const group_lookup& groups) {
    if (!mutation) return access_decision::allow;
    if (!peer || peer->uid == static_cast<uid_t>(-1)) return access_decision::deny_no_credentials;
    const uid_t uid = peer->uid;
    if (uid == 0 || uid == policy.daemon_uid) return access_decision::allow;
    if (std::ranges::find(policy.admin_uids, uid) != policy.admin_uids.end())
        return access_decision::allow;
    if (policy.admin_gids.empty()) return access_decision::deny_not_admin;
    auto is_admin_gid = [&](gid_t g) {
        return std::ranges::find(policy.admin_gids, g) != policy.admin_gids.end();
    };
    if (is_admin_gid(peer->gid)) return access_decision::allow;
    if (!groups) return access_decision::deny_not_admin;
    auto list = groups(*peer);
    if (list && std::ranges::any_of(*list, is_admin_gid)) return access_decision::allow;
    return access_decision::deny_not_admin;
}

bool is_admin_peer(const access_policy& policy, const std::optional<peer_credentials>& peer,
                   const group_lookup& groups) {
    return decide_access(policy, peer, true, groups) == access_decision::allow;
}

std::optional<peer_credentials> read_peer_credentials(int fd) noexcept {
    ucred cred{};
    socklen_t len = sizeof(cred);
    if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0 || len != sizeof(cred))
        return std::nullopt;
    // An unconnected or cross-namespace peer reports the overflow ids; treat as unknown.
    if (cred.uid == static_cast<uid_t>(-1)) return std::nullopt;
    return peer_credentials{cred.uid, cred.gid, cred.pid};
}

std::optional<std::vector<gid_t>> system_group_lookup(const peer_credentials& peer) {
    std::vector<char> buf(16384);
    passwd pw{};
    passwd* found = nullptr;
    if (::getpwuid_r(peer.uid, &pw, buf.data(), buf.size(), &found) != 0 || !found)
        return std::vector<gid_t>{peer.gid};
    int n = 64;
    std::vector<gid_t> groups(static_cast<std::size_t>(n));
    for (int attempt = 0; attempt < 4; ++attempt) {
        int count = n;
        if (::getgrouplist(pw.pw_name, peer.gid, groups.data(), &count) >= 0) {
            groups.resize(static_cast<std::size_t>(count));
            return groups;
        }
        n = std::max(count, n * 2);
        groups.resize(static_cast<std::size_t>(n));
    }
    return std::nullopt;
}

namespace {
template <class Id>
std::optional<Id> parse_id(std::string_view s) {
    unsigned long v = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || end != s.data() + s.size() || s.empty()) return std::nullopt;
    if (v >= static_cast<unsigned long>(static_cast<Id>(-1))) return std::nullopt;
    return static_cast<Id>(v);
}
}  // namespace

core::result<gid_t> resolve_group(std::string_view name) {
    if (auto id = parse_id<gid_t>(name)) return *id;
    std::string n(name);
    std::vector<char> buf(16384);
    group gr{};
    group* found = nullptr;
    if (::getgrnam_r(n.c_str(), &gr, buf.data(), buf.size(), &found) != 0 || !found)
        return core::error{fmt::format("unknown group '{}'", name)};
    return gr.gr_gid;
}

core::result<uid_t> resolve_user(std::string_view name) {
    if (auto id = parse_id<uid_t>(name)) return *id;
    std::string n(name);
    std::vector<char> buf(16384);
    passwd pw{};
    passwd* found = nullptr;
    if (::getpwnam_r(n.c_str(), &pw, buf.data(), buf.size(), &found) != 0 || !found)
        return core::error{fmt::format("unknown user '{}'", name)};
    return pw.pw_uid;
}

}  // namespace taskpoller::control
