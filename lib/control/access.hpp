#pragma once
// Who may do what on the control socket. Reads (GET/HEAD) are open to anyone who can connect
// (the socket's mode and group are the first gate); mutations need uid 0, the daemon's own uid,
// an admin uid, or membership of an admin group. Unknown credentials fail closed.

#include <sys/types.h>

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"

namespace taskpoller::control {

/// The peer of a Unix socket connection, as the kernel reports it (SO_PEERCRED).
struct peer_credentials {
    uid_t uid = static_cast<uid_t>(-1);
    gid_t gid = static_cast<gid_t>(-1);
    pid_t pid = 0;
};

struct access_policy {
    uid_t daemon_uid = 0;           ///< the daemon's own (effective) uid
    std::vector<uid_t> admin_uids;  ///< may mutate
    std::vector<gid_t> admin_gids;  ///< members (primary or supplementary) may mutate
};

/// Returns the peer's groups (primary and supplementary), or nullopt when unknown.
using group_lookup = std::function<std::optional<std::vector<gid_t>>(const peer_credentials&)>;

enum class access_decision { allow, deny_no_credentials, deny_not_admin };

/// The access decision for one request. `mutation` says whether the route changes state.
/// `groups` is consulted only when needed (admin groups configured and uid not enough).
/// Fails closed: missing credentials deny every mutation (reads stay allowed, as anyone may
/// read who can connect).
access_decision decide_access(const access_policy& policy,
                              const std::optional<peer_credentials>& peer, bool mutation,
                              const group_lookup& groups);

/// Whether `method` changes state by default (anything but GET and HEAD).
bool is_mutating_method(std::string_view method) noexcept;

/// Reads SO_PEERCRED from a connected Unix socket; nullopt when the kernel will not say.
std::optional<peer_credentials> read_peer_credentials(int fd) noexcept;
/// How the server learns a connection's peer (read_peer_credentials; tests substitute).
using peer_reader = std::function<std::optional<peer_credentials>(int fd)>;

/// Whether the peer is an admin (may mutate): decide_access for a mutation says allow.
bool is_admin_peer(const access_policy& policy, const std::optional<peer_credentials>& peer,
                   const group_lookup& groups);

/// The real group lookup: the peer's primary gid plus getgrouplist() of the user name that
/// owns its uid. nullopt when the uid has no passwd entry (then only the gid is known: returned
/// alone, since the kernel vouches for it).
std::optional<std::vector<gid_t>> system_group_lookup(const peer_credentials& peer);

/// Resolves a group given by name or as a decimal gid. Fails naming the group.
core::result<gid_t> resolve_group(std::string_view name_or_gid);
/// Resolves a user given by name or as a decimal uid. Fails naming the user.
core::result<uid_t> resolve_user(std::string_view name_or_uid);

}  // namespace taskpoller::control
