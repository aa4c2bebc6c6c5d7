#pragma once
// The journal's on-disk records (docs/durability.md "File format"). Pure functions, no I/O.
//
// A record is a 9-byte header — payload length (u32), CRC-32C (u32) of the type byte and the
// payload, type (u8) — then the payload. Integers are little-endian. Every payload starts with a
// format version byte (journal_payload_version); a newer version is refused, not guessed at.

#include <cstdint>
#include <string>
#include <string_view>

#include "core/result.hpp"
#include "core/types.hpp"

namespace taskpoller::store {

enum class journal_record_type : std::uint8_t {
    batch = 1,          ///< a batch's full state after a change
    task = 2,           ///< a task's full state after a change
    batch_expired = 3,  ///< a batch (and its tasks) was forgotten
    task_expired = 4,   ///< a task was forgotten
    snapshot_end = 5,   ///< last record of a complete snapshot
};

inline constexpr std::size_t journal_header_size = 9;
inline constexpr std::uint32_t journal_max_payload = 16u << 20;
inline constexpr std::uint8_t journal_payload_version = 1;

/// Appends one encoded record to `out`.
void append_batch_record(std::string& out, const core::batch& b);
void append_task_record(std::string& out, const core::task& t);
void append_batch_expired_record(std::string& out, std::string_view batch_id, std::uint64_t seq);
void append_task_expired_record(std::string& out, const core::task_key& key, std::uint64_t seq);
void append_snapshot_end_record(std::string& out, std::uint64_t seq, std::uint64_t records);

/// What read_journal_frame found at an offset.
enum class frame_status {
    ok,          ///< a complete record whose CRC matches
    incomplete,  ///< the data ends inside the header or the payload
    bad,         ///< unknown type, absurd length, or CRC mismatch
};

struct journal_frame {
    frame_status status = frame_status::bad;
    journal_record_type type{};
    std::string_view payload;  ///< points into the data given
    std::size_t size = 0;      ///< header + payload (valid when ok)
};

/// Decodes the framing of the record starting at `offset` of `data` (nothing is copied).
journal_frame read_journal_frame(std::string_view data, std::size_t offset) noexcept;

struct batch_expiry {
    std::string batch_id;
    std::uint64_t seq = 0;
};
struct task_expiry {
    core::task_key key;
    std::uint64_t seq = 0;
};
struct snapshot_end {
    std::uint64_t seq = 0;      ///< the store's seq when the snapshot was taken
    std::uint64_t records = 0;  ///< batch and task records before this one
};

/// Payload decoders: an invalid error (naming what is wrong) for a truncated or malformed
/// payload, an unknown version, or out-of-range enum values. They do not validate names; the
/// store's restore_* does.
core::result<core::batch> decode_batch_record(std::string_view payload);
core::result<core::task> decode_task_record(std::string_view payload);
core::result<batch_expiry> decode_batch_expired_record(std::string_view payload);
core::result<task_expiry> decode_task_expired_record(std::string_view payload);
core::result<snapshot_end> decode_snapshot_end_record(std::string_view payload);

}  // namespace taskpoller::store
