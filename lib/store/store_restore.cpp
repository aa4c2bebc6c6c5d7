// Start-up replay from a journal (issue 7): restore_* insert or replace records as given; the
// indexes are rebuilt once, by finish_restore().
#include "store/store.hpp"

#include <fmt/format.h>

namespace taskpoller::store {

using detail::no_batch;
using detail::to_ns;

std::vector<detail::entry_rec> store::entry_records(const std::vector<core::entry>& entries) {
    std::vector<detail::entry_rec> out;
    out.reserve(entries.size());
    for (const auto& e : entries) {
        bool accepted = e.outcome == core::entry_outcome::accepted;
        out.push_back({e.resource_id, e.message,
                       accepted ? std::string_view(e.request_id) : std::string_view{}, e.code,
                       e.outcome});
    }
    return out;
}

core::result<void> store::check_entries(const core::batch& b) {
    for (const auto& e : b.entries) {
        if (e.resource_id.find('\n') != std::string::npos) {
            return core::error{fmt::format("batch {}: a resource id holds a newline", b.id)};
        }
        if (e.outcome != core::entry_outcome::accepted) continue;
        if (auto r = core::validate_request_id(e.request_id); !r) {
            return core::error{fmt::format("batch {}: {}", b.id, r.error().message)};
        }
    }
    return {};
}

std::string store::joined_resources(const std::vector<std::string>& resources) {
    if (resources.size() == 1) return resources.front();
    std::string joined;
    for (const auto& res : resources) {
        if (!joined.empty()) joined += '\n';
        joined += res;
    }
    return joined;
}

detail::batch_rec store::batch_record(core::batch&& b) {
    detail::batch_rec r;
    r.id = *core::parse_batch_id(b.id);
    r.created_seq = b.created_seq;
    r.updated_seq = std::max(b.updated_seq, b.created_seq);
    r.message = b.message;
    r.client_token = b.client_token;
    r.target = b.target;
    r.poll = polls_.intern(b.poll);
    r.entries = entry_records(b.entries);
    r.created_at = to_ns(b.created_at);
    r.finished_at = to_ns(b.finished_at);
    r.service = services_.intern(b.service);
    r.action = actions_.intern(b.action);
    r.region = regions_.intern(b.region);
    r.labelset = labels_.intern(b.labels);
    r.code = b.code;
    r.state = b.state;
    return r;
}

detail::task_rec store::task_record(core::task&& t, std::uint32_t batch) {
    detail::task_rec r;
    r.request_id = t.request_id;
    if (t.resources.size() == 1) {
        r.resources = t.resources.front();  // no joined copy
    } else {
        r.resources = joined_resources(t.resources);
    }
    r.status.set(t.last_status, t.last_error);
    r.finished_at = to_ns(t.finished_at);
    r.created_seq = t.created_seq;
    r.updated_seq = std::max(t.updated_seq, t.created_seq);
    r.batch = batch;
    // A batch task's region and poll settings are its batch's.
    set_attrs(r, {to_ns(t.created_at), to_ns(t.deadline), services_.intern(t.service),
                  actions_.intern(t.action), labels_.intern(t.labels),
                  batch == no_batch ? regions_.intern(t.region) : batches_[batch].region,
                  batch == no_batch ? polls_.intern(t.poll) : batches_[batch].poll});
    r.polls = t.polls;
    r.state = t.state;
    return r;
}

core::result<void> store::restore_batch(core::batch b, bool fresh) {
    auto id = core::parse_batch_id(b.id);
    if (!id) return core::error{fmt::format("restored batch has a malformed id \"{}\"", b.id)};
    if (b.created_seq == 0) return core::error{fmt::format("restored batch {} has no seq", b.id)};
    if (auto r = core::validate_service_name(b.service); !r) return r.error();
    if (auto r = core::validate_labels(b.labels); !r) return r.error();
    if (auto r = core::validate_poll(b.poll); !r) return r.error();
    if (auto r = check_entries(b); !r) return r;
    restoring_ = true;
    auto rec = batch_record(std::move(b));
    seq_ = std::max(seq_, rec.updated_seq);
    if (auto pos = fresh ? std::nullopt : batch_pos(*id)) {
        auto& old = batches_[*pos];
        if (old.service != rec.service || old.action != rec.action ||
            old.labelset != rec.labelset) {
            // No store writes this (a damaged or edited journal): the tasks restored under the
            // old record keep what they share with it as their own (their keys are indexed by
            // its service). Rare, so a scan.
            const auto shared = detail::shared_attrs(old);
            for (auto& t : tasks_) {
                if (t.alive && t.batch == *pos && t.attrs == detail::no_attrs) {
                    t.attrs = add_attrs(shared);
                }
            }
        }
        rec.tasks = std::move(old.tasks);
        rec.task_created_at = old.task_created_at;  // what its tasks share (set_attrs)
        rec.task_deadline = old.task_deadline;
        rec.task_times = old.task_times;
        old = std::move(rec);
        return {};
    }
    auto pos = static_cast<std::uint32_t>(batches_.size());
    batches_.push_back(std::move(rec));
    set_batch_pos(*id, pos);
    return {};
}

core::result<void> store::restore_task(core::task t, bool fresh) {
    if (auto r = core::validate_service_name(t.service); !r) return r.error();
    if (auto r = core::validate_request_id(t.request_id); !r) return r.error();
    if (auto r = core::validate_labels(t.labels); !r) return r.error();
    if (auto r = core::validate_poll(t.poll); !r) return r.error();
    auto subject = [&] { return core::format_task_key(t.service, t.request_id); };
    if (t.created_seq == 0) {
        return core::error{fmt::format("restored task {} has no seq", subject())};
    }
    std::uint32_t batch = no_batch;
    if (!t.batch_id.empty()) {
        // A batch's tasks follow it in a journal: remember the last batch looked up.
        if (restore_batch_pos_ != no_batch && t.batch_id == restore_batch_key_) {
            batch = restore_batch_pos_;
        } else {
            auto pos = find_batch(t.batch_id);
            if (!pos) {
                return core::error{
                    fmt::format("restored task {} names unknown batch {}", subject(), t.batch_id)};
            }
            batch = *pos;
            restore_batch_key_ = t.batch_id;
            restore_batch_pos_ = batch;
        }
    }
    restoring_ = true;
    // A collapsed batch's entries stand for the tasks it has: make them before that changes.
    if (batch != no_batch) expand_entries(batch);
    std::optional<std::uint32_t> older;
    if (!fresh) older = find_exact_task(t.key());  // not another task its key would qualify
    auto rec = task_record(std::move(t), batch);
    seq_ = std::max(seq_, rec.updated_seq);
    if (auto pos = older) {
        drop_attrs(tasks_[*pos]);
        tasks_[*pos] = std::move(rec);
        return {};
    }
    auto pos = static_cast<std::uint32_t>(tasks_.size());
    task_keys_.insert(task_hash(task_service(rec), rec.request_id), pos);
    tasks_.push_back(std::move(rec));
    return {};
}

void store::restore_expired_task(const core::task_key& key, std::uint64_t seq) {
    restoring_ = true;
    seq_ = std::max(seq_, seq);
    auto pos = find_exact_task(key);
    if (!pos) return;
    unlink_entries_to(*pos);
    auto& t = tasks_[*pos];
    task_keys_.erase(task_hash(task_service(t), t.request_id),
                     [&](std::uint32_t p) { return p == *pos; });
    t.alive = false;
}

void store::restore_expired_batch(std::string_view batch_id, std::uint64_t seq) {
    restoring_ = true;
    seq_ = std::max(seq_, seq);
    auto pos = find_batch(batch_id);
    if (!pos) return;
    if (*pos == restore_batch_pos_) restore_batch_pos_ = detail::no_batch;
    erase_batch_pos(batches_[*pos].id);
    batches_[*pos].alive = false;  // compact() drops its terminal tasks with it
}

void store::reserve_for_restore(std::size_t batches, std::size_t tasks) {
    batches_.reserve(batches);
    tasks_.reserve(tasks);
    batch_ids_.reserve(batches);
    task_keys_.reserve(tasks);
}

void store::finish_restore(std::uint64_t seq_floor) {
    if (seq_floor > seq_) {
        seq_ = seq_floor;
        log_.skip_to(seq_);
    }
    if (!restoring_) return;
    restore_batch_pos_ = detail::no_batch;  // compaction may move batches
    compact();
    log_.skip_to(seq_);
    restoring_ = false;
}

}  // namespace taskpoller::store
