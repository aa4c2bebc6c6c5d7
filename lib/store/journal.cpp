// The journal's write side: appending records, syncing, compaction. Replay is in
// journal_replay.cpp.
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

constexpr std::string_view log_magic = "TPJL";
constexpr std::string_view snapshot_magic = "TPSN";

// Fills a fresh (or torn-while-created) log with its header and makes it durable.
core::result<void> init_log(int fd, const std::string& path) {
    if (::ftruncate(fd, 0) != 0) return jf::os_error("ftruncate", path, errno);
    if (auto r = jf::write_all(fd, jf::header(log_magic), path); !r) return r;
    if (::fdatasync(fd) != 0) return jf::os_error("fdatasync", path, errno);
    return jf::sync_parent_dir(path);
}

}  // namespace

core::result<std::unique_ptr<journal>> journal::open(std::string path, journal_options options) {
    if (path.empty()) return core::error{"journal path is empty"};
    auto lock = journal_lock::acquire(path + ".lock");
    if (!lock) return lock.error();
    int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd < 0) return jf::os_error("open", path, errno);
    auto close_on_error = [fd](core::error e) -> core::result<std::unique_ptr<journal>> {
        ::close(fd);
        return e;
    };
    auto size = ::lseek(fd, 0, SEEK_END);
    if (size < 0) return close_on_error(jf::os_error("lseek", path, errno));
    if (static_cast<std::size_t>(size) < jf::header_size) {
        // Empty, or torn while being created: only acceptable if what is there is our header.
        std::string head(static_cast<std::size_t>(size), '\0');
        if (size > 0 && ::pread(fd, head.data(), head.size(), 0) != size) {
            return close_on_error(jf::os_error("read", path, errno));
        }
        if (head != jf::header(log_magic).substr(0, head.size())) {
            return close_on_error(
                core::error{fmt::format("{} is not a taskpoller journal file (bad magic)", path)});
        }
        if (auto r = init_log(fd, path); !r) return close_on_error(r.error());
        size = static_cast<off_t>(jf::header_size);
    } else {
        std::string head(jf::header_size, '\0');
        if (::pread(fd, head.data(), head.size(), 0) != static_cast<ssize_t>(head.size())) {
            return close_on_error(jf::os_error("read", path, errno));
        }
        if (auto r = jf::check_header(head, log_magic, path); !r) return close_on_error(r.error());
    }
    if (!options.sync) options.sync = [](int f) { return ::fdatasync(f); };
    return std::unique_ptr<journal>(new journal(std::move(path), std::move(options),
                                                std::move(*lock), fd,
                                                static_cast<std::uint64_t>(size)));
}

journal::journal(std::string path, journal_options options, journal_lock lock, int fd,
                 std::uint64_t size)
    : path_(std::move(path)),
      options_(std::move(options)),
      lock_(std::move(lock)),
      fd_(fd),
      durable_bytes_(size),
      backoff_(options_.retry_first, options_.retry_max) {
    counters_.log_bytes = size;
}

journal::~journal() {
    detach();
    if (dirty_ && failed_.empty()) (void)sync_log();
    ::close(fd_);
}

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
    if (options_.sync(fd_) != 0) {
        auto e = jf::os_error("fdatasync", path_, errno);
        fail(e.message);
        return e;
    }
    dirty_ = false;
    durable_bytes_ = counters_.log_bytes;
    pending_.clear();
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
    // are all older than the snapshot and replay skips them.
    durable_bytes_ = jf::header_size;
    pending_.clear();
    if (auto r = restart_log(); !r) {
        fail(r.error().message);
        return r;
    }
    ++counters_.compactions;
    options_.log.info("journal {}: compacted into a snapshot of {} batches and {} tasks", path_,
                      store_->batch_count(), store_->task_count());
    return {};
}

core::result<void> journal::restart_log() {
    if (auto r = init_log(fd_, path_); !r) return r;
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
