#pragma once
// The journal's control file, `<journal>.control` (issue 16; like PostgreSQL's pg_control): what
// is known durable about the log and the snapshot, so that replay can tell a torn tail (the
// last, never acknowledged writes of a crash) from a log that lost acknowledged records
// (truncated, zeroed, emptied, replaced). docs/durability.md "The control file".
//
// Format (40 bytes): magic "TPCT", u32 version (1), u64 log_durable_bytes, u64 snapshot_seq,
// u64 max_group_bytes, u32 reserved (0), u32 CRC-32C of the 36 bytes before it; little-endian.
// Written atomically: temp file, fsync, rename, fsync of the directory.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/result.hpp"

namespace taskpoller::store {

struct journal_control {
    /// The log was synced with at least this many bytes (its header included).
    std::uint64_t log_durable_bytes = 0;
    /// The sequence number in the snapshot's end record; 0: there is no snapshot.
    std::uint64_t snapshot_seq = 0;
    /// The most bytes the log may hold unsynced (group_bound of the largest group seen): the
    /// longest torn tail a crash can leave.
    std::uint64_t max_group_bytes = 0;

    friend bool operator==(const journal_control&, const journal_control&) = default;
};

/// The smallest torn-tail allowance (one large batch outcome fits many times).
inline constexpr std::uint64_t min_group_bytes = 64u << 10;
/// `bytes` rounded up to a power of two, at least min_group_bytes (so the control file is
/// rewritten only the few times the largest group grows past one).
std::uint64_t group_bound(std::uint64_t bytes) noexcept;

/// The file's bytes. I/O-free.
std::string encode_control(const journal_control& c);
/// Parses them; an error naming `path` for a wrong size, magic, version or CRC.
core::result<journal_control> decode_control(std::string_view data, const std::string& path);

/// nullopt if `path` does not exist; an error if it cannot be read or decoded.
core::result<std::optional<journal_control>> read_control(const std::string& path);
/// Replaces `path` atomically (path.tmp, fsync, rename, fsync directory).
core::result<void> write_control(const std::string& path, const journal_control& c);

/// What replay found, for check_log().
struct log_facts {
    std::optional<journal_control> control;     ///< nullopt: no control file (older journal)
    std::optional<std::uint64_t> snapshot_seq;  ///< the snapshot's seq; nullopt: no snapshot
    std::uint64_t log_size = 0;                 ///< the log file's size
    std::uint64_t valid_end = 0;                ///< end of its last good record
};

/// Whether what follows valid_end can only be a torn tail. Refuses (an error naming `log_path`,
/// the offsets, and --recover) a snapshot missing or older than the control file says, a log
/// shorter than its durable length, damage that starts inside the durable part, a damaged tail
/// longer than max_group_bytes, and (no control file) a log emptied while a snapshot exists.
/// I/O-free.
core::result<void> check_log(const log_facts& f, const std::string& log_path);

}  // namespace taskpoller::store
