// The journal's write side: appending records, syncing, compaction. Opening is in
// journal_open.cpp, replay in journal_replay.cpp, recovery from a failure in journal_retry.cpp.
#include "store/journal.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>

#include "store/journal_file.hpp"
#include "store/journal_record.hpp"
#include "store/store.hpp"

namespace taskpoller::store {

namespace jf = journal_file;

namespace {

constexpr std::string_view snapshot_magic = "TPSN";

}  // namespace

void journal::detach() {
    if (store_ != nullptr) store_->set_observer(nullptr);
    store_ = nullptr;
}

void journal::fail(std::string message) {
    if (!failed_.empty()) return;
    options_.log.error(
        "journal {} failed, changes are no longer durable (mutations answer 503; the "
        "journal retries and rewrites what it owes): {}",
        path_, message);
    failed_ = std::move(message);
    backoff_.reset();
    if (options_.on_failed) options_.on_failed();
}

core::result<void> journal::health() const {
    if (failed_.empty()) return {};
    return core::error{fmt::format("journal {} failed: {}", path_, failed_)};
}

core::result<void> journal::sync_log() {
    ++counters_.syncs;
    auto group = group_bound(counters_.log_bytes - durable_bytes_);
    if (options_.sync(fd_) != 0) {
        auto e = jf::os_error("fdatasync", path_, errno);
        fail(e.message);
        return e;
    }
    dirty_ = false;
    durable_bytes_ = counters_.log_bytes;
    pending_.clear();
    if (group > max_group_) {
        // A longer unsynced span than ever: a crash may now tear that much. Say so before the
        // next one (rare: group_bound grows in powers of two).
        max_group_ = group;
        if (auto r = checkpoint(); !r) {
            options_.log.warn("journal {}: control file: {}", path_, r.error().message);
        }
    }
    return {};
}

void journal::append(std::string_view bytes) {
    if (!failed_.empty()) return;
    if (auto r = jf::write_all(fd_, bytes, path_, options_.write); !r) {
        return fail(r.error().message);
    }
    ++counters_.records;
    counters_.log_bytes += bytes.size();
    if (!dirty_) {
        dirty_ = true;
        if (options_.on_dirty) options_.on_dirty();
    }
}

void journal::on_commit() {
    if (options_.mode == durability::strict && group_depth_ == 0) (void)flush();
}

void journal::on_batch_change(const change& c, const core::batch& b) {
    pending_.note_batch(b.id, c.kind == change_kind::batch_expired, c.seq);
    buf_.clear();
    if (c.kind == change_kind::batch_expired) {
        append_batch_expired_record(buf_, b.id, c.seq);
    } else {
        append_batch_record(buf_, b);
    }
    append(buf_);
}

void journal::on_task_change(const change& c, const core::task& t) {
    pending_.note_task(t.key(), c.kind == change_kind::task_expired, c.seq);
    buf_.clear();
    if (c.kind == change_kind::task_expired) {
        append_task_expired_record(buf_, t.key(), c.seq);
    } else {
        append_task_record(buf_, t);
    }
    append(buf_);
}

journal::sync_group::~sync_group() {
    if (--j_->group_depth_ == 0 && j_->options_.mode == durability::strict) (void)j_->flush();
}

core::result<void> journal::flush() {
    if (auto h = health(); !h) return h;
    if (!dirty_) return {};
    return sync_log();
}

bool journal::compaction_due() const noexcept {
    return counters_.log_bytes >= options_.compact_at_bytes;
}

core::result<void> journal::compact_if_due() {
    if (!compaction_due()) return {};
    return compact();
}

core::result<void> journal::compact() {
    auto r = compact_once();
    if (r) {
        compaction_error_.clear();
        return r;
    }
    ++counters_.compaction_failures;
    if (compaction_error_.empty()) {
        options_.log.error("journal {}: compaction failed (the log keeps growing): {}", path_,
                           r.error().message);
    }
    compaction_error_ = r.error().message;
    return r;
}

core::result<void> journal::compaction_health() const {
    if (compaction_error_.empty()) return {};
    return core::error{
        fmt::format("journal {}: compaction failing ({} failures; the log is {} "
                    "bytes, the snapshot {}): {}",
                    path_, counters_.compaction_failures, counters_.log_bytes,
                    counters_.snapshot_bytes, compaction_error_)};
}

core::result<void> journal::compact_once() {
    if (store_ == nullptr) return core::error{"journal::compact: no store attached (replay first)"};
    if (auto r = flush(); !r) return r;
    auto snapshot = path_ + ".snapshot";
    auto tmp = snapshot + ".tmp";
    if (auto r = write_snapshot(tmp); !r) {
        ::unlink(tmp.c_str());
        return r;
    }
    if (::rename(tmp.c_str(), snapshot.c_str()) != 0) {
        auto e = jf::os_error("rename", tmp, errno);
        ::unlink(tmp.c_str());
        return e;
    }
    if (auto r = jf::sync_parent_dir(snapshot); !r) return r;
    std::error_code ec;
    counters_.snapshot_bytes = std::filesystem::file_size(snapshot, ec);
    // From here the snapshot holds everything; if we stop before the log is emptied, its records
    // are all older than the snapshot and replay skips them. The control file says so first,
    // so that a log emptied next is expected; if it cannot, the old log stays in use.
    if (auto r = write_control_now(jf::header_size, store_->seq()); !r) return r;
    if (auto r = restart_log(); !r) {
        fail(r.error().message);
        return r;
    }
    ++counters_.compactions;
    options_.log.info("journal {}: compacted into a snapshot of {} batches and {} tasks", path_,
                      store_->batch_count(), store_->task_count());
    return {};
}

// Empties the log back to its header (kept: the log is never shorter than its header).
core::result<void> journal::restart_log() {
    if (::ftruncate(fd_, static_cast<off_t>(jf::header_size)) != 0) {
        return jf::os_error("ftruncate", path_, errno);
    }
    if (::fdatasync(fd_) != 0) return jf::os_error("fdatasync", path_, errno);
    counters_.log_bytes = jf::header_size;
    durable_bytes_ = jf::header_size;
    pending_.clear();  // the snapshot holds every object's current state
    return {};
}

core::result<void> journal::write_snapshot(const std::string& tmp) {
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) return jf::os_error("open", tmp, errno);
    std::string out = jf::header(snapshot_magic);
    std::uint64_t records = 0;
    core::result<void> status;
    auto spill = [&](bool force) {
        if (status && (force || out.size() >= (1u << 20))) {
            status = jf::write_all(fd, out, tmp);
            out.clear();
        }
    };
    page_request p{max_page_limit, ""};
    do {  // batches first: a task record needs its batch restored before it
        auto page = store_->list_batches({}, p);
        for (const auto& b : page->items) append_batch_record(out, b), ++records, spill(false);
        p.page_token = page->next_page_token;
    } while (!p.page_token.empty() && status);
    p = {max_page_limit, ""};
    do {
        auto page = store_->list_tasks({}, p);
        for (const auto& t : page->items) append_task_record(out, t), ++records, spill(false);
        p.page_token = page->next_page_token;
    } while (!p.page_token.empty() && status);
    append_snapshot_end_record(out, store_->seq(), records);
    spill(true);
    if (status && ::fsync(fd) != 0) status = jf::os_error("fsync", tmp, errno);
    ::close(fd);
    return status;
}

}  // namespace taskpoller::store
