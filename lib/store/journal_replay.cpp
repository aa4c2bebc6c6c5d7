// Start-up replay: snapshot, then log, into an empty store (docs/durability.md "Replay").
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <optional>

#include "store/interrupted.hpp"
#include "store/journal.hpp"
#include "store/journal_file.hpp"
#include "store/journal_record.hpp"
#include "store/store.hpp"

namespace taskpoller::store {

namespace jf = journal_file;

namespace {

constexpr std::size_t npos = static_cast<std::size_t>(-1);
constexpr std::string_view unknown_message =
    "the daemon stopped before the outcome was recorded; not re-sent";

// The first offset at or after `from` where a complete record with a good CRC starts.
std::size_t next_valid(std::string_view data, std::size_t from) {
    for (std::size_t o = from; o + journal_header_size <= data.size(); ++o) {
        if (read_journal_frame(data, o).status == frame_status::ok) return o;
    }
    return npos;
}

struct record_counts {
    std::size_t batches = 0;
    std::size_t tasks = 0;
};

// Counts batch and task records by their frame headers alone (no CRC, no decoding): capacity
// hints, so the store's vectors and key table do not grow (and copy) a million records at a time.
void count_records(std::string_view data, record_counts& c) {
    std::size_t pos = jf::header_size;
    while (pos + journal_header_size <= data.size()) {
        std::uint32_t len = 0;
        for (int i = 0; i < 4; ++i) {
            len |= std::uint32_t{static_cast<unsigned char>(data[pos + i])} << (8 * i);
        }
        auto type = static_cast<journal_record_type>(data[pos + 8]);
        if (len == 0 || len > journal_max_payload) return;
        if (type == journal_record_type::batch) ++c.batches;
        if (type == journal_record_type::task) ++c.tasks;
        pos += journal_header_size + len;
    }
}

class loader {
  public:
    loader(store& s, const journal_options& o, replay_stats& st) : s_(s), o_(o), st_(st) {}

    /// Applies the records of one file; returns the end of the last good record.
    core::result<std::size_t> load(std::string_view data, const std::string& path, bool is_log);
    std::optional<std::uint64_t> snapshot_seq;

  private:
    core::result<void> apply(const journal_frame& f, bool is_log);
    core::result<void> apply_snapshot_end(std::string_view payload);
    bool stale(std::uint64_t seq, bool is_log) {
        if (!is_log || !snapshot_seq || seq > *snapshot_seq) return false;
        ++st_.stale_records;
        return true;
    }
    void count(bool is_log) { ++(is_log ? st_.log_records : st_.snapshot_records); }

    store& s_;
    const journal_options& o_;
    replay_stats& st_;
    std::uint64_t snapshot_records_ = 0;
};

core::result<void> loader::apply(const journal_frame& f, bool is_log) {
    if (!is_log && snapshot_seq) return core::error{"record after the snapshot's end record"};
    switch (f.type) {
        case journal_record_type::batch: {
            auto b = decode_batch_record(f.payload);
            if (!b) return b.error();
            if (stale(b->updated_seq, is_log)) return {};
            if (auto r = s_.restore_batch(std::move(*b), !is_log); !r) return r;
            ++snapshot_records_;
            count(is_log);
            return {};
        }
        case journal_record_type::task: {
            auto t = decode_task_record(f.payload);
            if (!t) return t.error();
            if (stale(t->updated_seq, is_log)) return {};
            if (auto r = s_.restore_task(std::move(*t), !is_log); !r) return r;
            ++snapshot_records_;
            count(is_log);
            return {};
        }
        case journal_record_type::batch_expired: {
            auto e = decode_batch_expired_record(f.payload);
            if (!e) return e.error();
            if (!is_log) return core::error{"expiry record in a snapshot"};
            if (stale(e->seq, is_log)) return {};
            s_.restore_expired_batch(e->batch_id, e->seq);
            count(is_log);
            return {};
        }
        case journal_record_type::task_expired: {
            auto e = decode_task_expired_record(f.payload);
            if (!e) return e.error();
            if (!is_log) return core::error{"expiry record in a snapshot"};
            if (stale(e->seq, is_log)) return {};
            s_.restore_expired_task(e->key, e->seq);
            count(is_log);
            return {};
        }
        case journal_record_type::snapshot_end:
            if (is_log) return core::error{"snapshot end record in the log"};
            return apply_snapshot_end(f.payload);
    }
    return core::error{"unknown record type"};
}

core::result<void> loader::apply_snapshot_end(std::string_view payload) {
    auto e = decode_snapshot_end_record(payload);
    if (!e) return e.error();
    if (e->records != snapshot_records_ && !o_.recover) {
        return core::error{fmt::format("snapshot end says {} records, {} were read", e->records,
                                       snapshot_records_)};
    }
    snapshot_seq = e->seq;
    return {};
}

core::result<std::size_t> loader::load(std::string_view data, const std::string& path,
                                       bool is_log) {
    std::size_t pos = jf::header_size;
    while (pos < data.size()) {
        auto f = read_journal_frame(data, pos);
        if (f.status == frame_status::ok) {
            if (auto r = apply(f, is_log); !r) {
                if (!o_.recover) {
                    return core::error{fmt::format(
                        "{}: record at offset {} cannot be applied: {} (start with --recover to "
                        "skip it)",
                        path, pos, r.error().message)};
                }
                o_.log.error("RECOVER: {}: skipping the record at offset {}: {}", path, pos,
                             r.error().message);
                ++st_.skipped_records;
            }
            pos += f.size;
            continue;
        }
        auto next = next_valid(data, pos + 1);
        if (next == npos && is_log) {  // a torn tail, if the control file agrees (replay)
            st_.truncated_bytes = data.size() - pos;
            return pos;
        }
        if (!o_.recover) {
            return core::error{fmt::format(
                "{}: corrupt record at offset {}{}; refusing to start (start with --recover to "
                "skip "
                "the damaged part and lose what it held)",
                path, pos,
                next == npos ? std::string{" (snapshots are written atomically: it is damaged)"}
                             : fmt::format(", valid records follow at offset {}", next))};
        }
        ++st_.skipped_records;
        if (next == npos) {
            o_.log.error("RECOVER: {}: damaged from offset {} to its end; ignoring the rest", path,
                         pos);
            return data.size();
        }
        o_.log.error("RECOVER: {}: skipping {} corrupt bytes at offset {}; what they held is lost",
                     path, next - pos, pos);
        pos = next;
    }
    return pos;
}

}  // namespace

// Whether the log's damaged tail (if any) can only be a torn tail (journal_control.hpp).
core::result<void> journal::check_against_control(std::uint64_t log_size, std::uint64_t valid_end,
                                                  std::optional<std::uint64_t> snapshot_seq,
                                                  replay_stats& st) {
    auto r = check_log({found_control_, snapshot_seq, log_size, valid_end}, path_);
    if (!r) {
        if (!options_.recover) return r;
        options_.log.error("RECOVER: {}", r.error().message);
        ++st.skipped_records;  // compacts at the end: a new snapshot and control file
    } else if (!found_control_ && (log_size > jf::header_size || snapshot_seq)) {
        options_.log.info("journal {}: no control file yet (an older journal): creating {}.control",
                          path_, path_);
    }
    if (log_size > valid_end) {
        options_.log.warn("{}: torn or corrupt tail at offset {} ({} bytes) truncated", path_,
                          valid_end, log_size - valid_end);
    }
    return {};
}

core::result<replay_stats> journal::replay(store& s) {
    if (store_ != nullptr) return core::error{"journal::replay: already replayed"};
    if (s.seq() != 0) return core::error{"journal::replay: the store is not empty"};
    replay_stats st;
    loader l{s, options_, st};
    auto snapshot_path = path_ + ".snapshot";
    auto snap = jf::mapped_file::map(snapshot_path);
    if (!snap) return snap.error();
    auto log = jf::mapped_file::map(fd_, path_);
    if (!log) return log.error();
    record_counts hint;
    if (*snap) count_records((*snap)->data(), hint);
    count_records(log->data(), hint);
    s.reserve_for_restore(hint.batches, hint.tasks);
    if (*snap) {
        auto data = (*snap)->data();
        counters_.snapshot_bytes = data.size();
        if (auto r = jf::check_header(data, "TPSN", snapshot_path); !r) return r.error();
        if (auto r = l.load(data, snapshot_path, false); !r) return r.error();
        if (!l.snapshot_seq) {
            if (!options_.recover) {
                return core::error{fmt::format(
                    "{} has no end record: it is incomplete (start with --recover to use what it "
                    "holds)",
                    snapshot_path)};
            }
            options_.log.error("RECOVER: {} has no end record; using what it holds", snapshot_path);
            ++st.skipped_records;
        }
    }
    std::optional<std::uint64_t> snapshot_seq;  // for the control file's check
    if (*snap) snapshot_seq = l.snapshot_seq.value_or(0);
    snap->reset();
    auto log_size = log->data().size();
    if (auto r = jf::check_header(log->data(), "TPJL", path_); !r) return r.error();
    auto end = l.load(log->data(), path_, true);
    if (!end) return end.error();
    *log = jf::mapped_file{};
    if (auto r = check_against_control(log_size, *end, snapshot_seq, st); !r) return r.error();
    // Truncate the torn tail, and sync what stays: a killed daemon's last writes may still be
    // only in the page cache, and the control file is about to call them durable.
    if ((*end < log_size && ::ftruncate(fd_, static_cast<off_t>(*end)) != 0) ||
        ::fdatasync(fd_) != 0) {
        return jf::os_error("truncate", path_, errno);
    }
    counters_.log_bytes = *end;
    durable_bytes_ = *end;
    if (found_control_) max_group_ = std::max(max_group_, found_control_->max_group_bytes);
    if (auto r = write_control_now(*end, l.snapshot_seq.value_or(0)); !r) return r.error();
    // The snapshot's seq may exceed every surviving object's (the newest changes were expiries);
    // an expiry of nothing carries it forward so new changes never reuse a sequence number.
    if (l.snapshot_seq) s.restore_expired_batch("", *l.snapshot_seq);
    s.finish_restore();
    store_ = &s;
    s.set_observer(this);

    for (const auto& id : mark_interrupted_unknown(s, unknown_message)) {
        ++st.marked_unknown;
        options_.log.warn("batch {} was being submitted when the daemon stopped: now unknown", id);
    }
    // A kill between a batch's outcome record and its tasks' records leaves the batch
    // `submitted` without (some of) them; its entries still name their requestIds.
    st.lost_tasks_tracked = s.track_lost_outcome_tasks();
    if (st.lost_tasks_tracked > 0) {
        options_.log.warn(
            "{}: {} tasks of recorded batch outcomes had no record (the daemon stopped while "
            "writing them); tracking them again",
            path_, st.lost_tasks_tracked);
    }
    // A kill between a task's terminal record and its batch's leaves the batch `submitted` with
    // nothing left to poll: nothing would ever finish it.
    st.batches_finished = s.finish_settled_batches();
    if (st.batches_finished > 0) {
        options_.log.warn(
            "{}: {} submitted batches had every task ended but not their own end (the daemon "
            "stopped between those records); now done",
            path_, st.batches_finished);
    }
    if (st.skipped_records > 0) {
        if (auto r = compact(); !r) return r.error();
    }
    if (auto h = health(); !h) return h.error();
    st.batches = s.batch_count();
    st.tasks = s.task_count();
    options_.log.info("journal {}: restored {} batches and {} tasks ({} snapshot + {} log records)",
                      path_, st.batches, st.tasks, st.snapshot_records, st.log_records);
    return st;
}

}  // namespace taskpoller::store
