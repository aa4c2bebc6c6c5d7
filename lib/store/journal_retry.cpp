// The journal's way back from a failed write or sync (docs/durability.md "When the journal
// fails"): rewrite, after the last durable byte, the current state of everything changed since.
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "store/journal.hpp"
#include "store/journal_file.hpp"
#include "store/journal_record.hpp"
#include "store/store.hpp"

namespace taskpoller::store {

namespace jf = journal_file;

// The records retry() appends: each pending object's current state, or its expiry.
std::string journal::pending_records() const {
    std::string out;
    for (const auto& it : pending_.items()) {
        if (it.is_task) {
            if (it.expired) {
                append_task_expired_record(out, it.key, it.seq);
            } else if (auto t = store_->get_task(it.key)) {
                append_task_record(out, *t);
            }  // else forgotten with its batch: the batch's expiry record says so
        } else if (it.expired) {
            append_batch_expired_record(out, it.batch_id, it.seq);
        } else if (auto b = store_->get_batch(it.batch_id)) {
            append_batch_record(out, *b);
        }
    }
    return out;
}

core::result<void> journal::retry() {
    if (failed_.empty()) return {};
    if (store_ == nullptr) return health();
    // Whatever follows the last sync may be lost or half written (a failed fsync says nothing
    // about which pages reached the disk): cut it off and write the objects' states again.
    auto keep = std::max<std::uint64_t>(durable_bytes_, jf::header_size);
    if (::ftruncate(fd_, static_cast<off_t>(keep)) != 0) {
        return jf::os_error("ftruncate", path_, errno);
    }
    counters_.log_bytes = keep;
    auto bytes = pending_records();
    if (auto r = jf::write_all(fd_, bytes, path_, options_.write); !r) return r;
    counters_.log_bytes += bytes.size();
    ++counters_.syncs;
    if (options_.sync(fd_) != 0) return jf::os_error("fdatasync", path_, errno);
    options_.log.info(
        "journal {} recovered: {} changed objects rewritten ({} bytes); durable again", path_,
        pending_.size(), bytes.size());
    durable_bytes_ = counters_.log_bytes;
    pending_.clear();
    failed_.clear();
    dirty_ = false;
    backoff_.reset();
    return {};
}

}  // namespace taskpoller::store
