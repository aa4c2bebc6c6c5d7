#pragma once
// Who gets a control-socket connection slot. I/O-free (unit-tested in
// tests/unit/control/admission_test.cpp); the server consults it at accept time.
//
// Rules, checked in this order for a new connection:
//  1. a peer that is not an admin holds at most `per_uid` connections per uid;
//  2. non-admins share `max_connections - admin_reserved` slots, admins may use all
//     `max_connections` (the last `admin_reserved` slots are kept for them);
//  3. when rule 1 or 2 would refuse, the connection that has been idle the longest (keep-alive,
//     between two requests) is closed to make room: the same uid's for rule 1, anyone's for
//     rule 2 (nginx's answer to idle keep-alive exhaustion). Only when there is no such
//     connection is the newcomer refused.
// A connection that has not finished its first request is never evicted: it is bounded by the
// header timeout instead.

#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <set>
#include <unordered_map>
#include <utility>

namespace taskpoller::control {

struct admission_limits {
    std::size_t max_connections = 1024;
    std::size_t per_uid = 256;       ///< per non-admin uid
    std::size_t admin_reserved = 4;  ///< slots only admins may take
};

enum class admission_verdict {
    admit,                 ///< a free slot
    admit_after_evicting,  ///< close `victim` first, then admit
    refuse_total,          ///< no free slot (for this class of peer) and nothing idle to close
    refuse_uid,            ///< the uid is at its cap and has nothing idle to close
};

struct admission_decision {
    admission_verdict verdict = admission_verdict::admit;
    std::uint64_t victim = 0;  ///< the connection to close (admit_after_evicting only)
};

/// The open connections, their uids and which of them are idle. Ids are the server's
/// connection ids (any unique numbers).
class connection_table {
  public:
    using time_point = std::chrono::steady_clock::time_point;

    /// What to do with a new connection from `uid` (`admin`: root, the daemon's uid, an admin
    /// uid or group). Pure: changes nothing; the caller closes the victim and calls remove().
    admission_decision decide(uid_t uid, bool admin, const admission_limits& limits) const;

    /// Starts counting a connection (busy). Adding an id already present does nothing.
    void add(std::uint64_t id, uid_t uid);
    /// Stops counting it. Unknown ids are ignored (an evicted connection is removed twice).
    void remove(std::uint64_t id);
    /// The connection has answered a request and waits for the next one since `since`: it may
    /// be evicted. Unknown ids are ignored.
    void set_idle(std::uint64_t id, time_point since);
    /// The connection is reading or serving a request: not evictable. Unknown ids are ignored.
    void set_busy(std::uint64_t id);

    std::size_t size() const noexcept { return entries_.size(); }
    /// Open connections of `uid`.
    std::size_t count(uid_t uid) const noexcept;
    std::size_t idle_count() const noexcept { return idle_.size(); }

  private:
    struct entry {
        uid_t uid;
        std::optional<time_point> idle_since;
    };
    /// The longest-idle connection, of `only` when given; nullopt when none is idle.
    std::optional<std::uint64_t> oldest_idle(std::optional<uid_t> only) const;

    std::unordered_map<std::uint64_t, entry> entries_;
    std::unordered_map<uid_t, std::size_t> per_uid_;
    std::set<std::pair<time_point, std::uint64_t>> idle_;  ///< oldest first
};

}  // namespace taskpoller::control
