// Follower replication (docs/ha.md "Followers"): the leader's changes applied one at a time, in
// sequence order, through the internals the leader's own mutations use (insert_task/index_batch,
// set_*_state with their finish and watch bookkeeping, evict_*, emit_*), so that the indexes,
// counts, change log and watchers move exactly as they did there. O(1) per change; an expiry's
// compaction is amortized as in expire().
#include <fmt/format.h>

#include <algorithm>
#include <utility>

#include "store/store.hpp"

namespace taskpoller::store {

using detail::no_batch;
using detail::to_ns;

namespace {

core::error invalid(std::string msg) {
    return core::error{std::move(msg)};
}

// A replicated change is the leader's, recorded there: the observer is not told of it again.
class observer_detached {
  public:
    explicit observer_detached(store_observer*& slot)
        : slot_(slot), saved_(std::exchange(slot, nullptr)) {}
    ~observer_detached() { slot_ = saved_; }
    observer_detached(const observer_detached&) = delete;
    observer_detached& operator=(const observer_detached&) = delete;

  private:
    store_observer*& slot_;
    store_observer* saved_;
};

std::string describe(const change& c) {
    return fmt::format("change {} ({} {})", c.seq, to_string(c.kind), c.subject);
}

}  // namespace

core::result<void> store::check_replicated(const change& c, change_kind a, change_kind b) const {
    if (restoring_) {
        return invalid(fmt::format("{} applied before finish_restore()", describe(c)));
    }
    if (c.kind != a && c.kind != b) {
        return invalid(
            fmt::format("{}: expected a {} or {} change", describe(c), to_string(a), to_string(b)));
    }
    if (c.seq != seq_ + 1) {
        return invalid(fmt::format("{} is out of order: this store is at seq {} and needs seq {}",
                                   describe(c), seq_, seq_ + 1));
    }
    return {};
}

core::result<void> store::apply_replicated_batch(const change& c, core::batch b) {
    if (auto r = check_replicated(c, change_kind::batch_created, change_kind::batch_changed); !r) {
        return r;
    }
    if (!core::parse_batch_id(b.id)) {
        return invalid(fmt::format("{}: malformed batch id \"{}\"", describe(c), b.id));
    }
    if (auto r = core::validate_service_name(b.service); !r) return r.error();
    if (auto r = core::validate_labels(b.labels); !r) return r.error();
    if (auto r = core::validate_poll(b.poll); !r) return r.error();
    if (auto r = check_entries(b); !r) return invalid(describe(c) + ": " + r.error().message);
    if (c.subject != b.id || c.state != core::to_string(b.state) || b.updated_seq != c.seq) {
        return invalid(fmt::format("{} {} does not describe batch {} ({}, updated_seq {})",
                                   describe(c), c.state, b.id, core::to_string(b.state),
                                   b.updated_seq));
    }
    auto held = find_batch(b.id);
    if (c.kind == change_kind::batch_created) {
        if (held) return invalid(fmt::format("{}: batch {} is already held", describe(c), b.id));
        if (b.created_seq != c.seq) {
            return invalid(fmt::format("{}: batch created_seq {}", describe(c), b.created_seq));
        }
        if (!b.client_token.empty()) {
            if (auto it = tokens_.find(b.client_token); it != tokens_.end()) {
                return invalid(fmt::format("{}: client_token is already used by batch {}",
                                           describe(c), core::format_batch_id(it->second)));
            }
        }
        observer_detached quiet{observer_};
        auto rec = batch_record(std::move(b));
        auto to = rec.state;
        rec.state = core::batch_state::submitting;  // what a batch is created in; then as given
        auto finished_at = rec.finished_at;
        auto pos = insert_batch(std::move(rec));
        if (to != core::batch_state::submitting) set_batch_state(pos, to, finished_at);
        emit_batch(pos, change_kind::batch_created);
    } else {
        if (!held) return invalid(fmt::format("{}: no batch {} to change", describe(c), b.id));
        auto& r = batches_[*held];
        const char* altered = nullptr;
        if (b.created_seq != r.created_seq)
            altered = "created_seq";
        else if (b.service != services_.str(r.service))
            altered = "service";
        else if (b.action != actions_.str(r.action))
            altered = "action";
        else if (b.region != regions_.str(r.region))
            altered = "region";
        else if (b.labels != labels_.to_labels(r.labelset))
            altered = "labels";
        else if (b.client_token != r.client_token.view())
            altered = "client_token";
        else if (b.target != r.target.view())
            altered = "target";
        else if (b.poll != polls_.get(r.poll))
            altered = "poll";
        else if (to_ns(b.created_at) != r.created_at)
            altered = "created_at";
        if (altered != nullptr) {
            return invalid(fmt::format("{}: a batch's {} does not change", describe(c), altered));
        }
        if (core::is_terminal(r.state)) {
            return invalid(fmt::format("{}: batch {} is already {}", describe(c), b.id,
                                       core::to_string(r.state)));
        }
        observer_detached quiet{observer_};
        r.code = b.code;
        r.message = b.message;
        r.entries = entry_records(b.entries);
        r.entries_are_tasks = false;
        link_entries(*held);
        collapse_entries(*held);
        if (b.state != r.state) set_batch_state(*held, b.state, to_ns(b.finished_at));
        emit_batch(*held, change_kind::batch_changed);
    }
    run_callbacks();
    return {};
}

core::result<void> store::apply_replicated_task(const change& c, core::task t) {
    if (auto r = check_replicated(c, change_kind::task_created, change_kind::task_changed); !r) {
        return r;
    }
    if (auto r = core::validate_service_name(t.service); !r) return r.error();
    if (auto r = core::validate_request_id(t.request_id); !r) return r.error();
    if (auto r = core::validate_labels(t.labels); !r) return r.error();
    if (auto r = core::validate_poll(t.poll); !r) return r.error();
    auto key = t.key();
    if (c.subject != core::format_task_identity(key) || c.state != core::to_string(t.state) ||
        t.updated_seq != c.seq) {
        return invalid(fmt::format("{} {} does not describe task {} ({}, updated_seq {})",
                                   describe(c), c.state, core::format_task_key(key),
                                   core::to_string(t.state), t.updated_seq));
    }
    std::uint32_t batch = no_batch;
    if (!t.batch_id.empty()) {
        auto pos = find_batch(t.batch_id);
        if (!pos) {
            return invalid(fmt::format("{}: task names unknown batch {}", describe(c), t.batch_id));
        }
        if (t.region != regions_.str(batches_[*pos].region)) {
            return invalid(
                fmt::format("{}: task region \"{}\" is not its batch's", describe(c), t.region));
        }
        batch = *pos;
    }
    auto held = find_exact_task(key);
    if (c.kind == change_kind::task_created) {
        if (held) return invalid(fmt::format("{}: the task is already held", describe(c)));
        if (t.created_seq != c.seq) {
            return invalid(fmt::format("{}: task created_seq {}", describe(c), t.created_seq));
        }
        if (batch != no_batch && core::is_terminal(batches_[batch].state)) {
            return invalid(fmt::format("{}: its batch is already {}", describe(c),
                                       core::to_string(batches_[batch].state)));
        }
        observer_detached quiet{observer_};
        // The leader counted (and logged) a requestId collision; count it here too.
        if (!tasks_with(services_.find(t.service), t.request_id).empty()) ++collisions_;
        auto rec = task_record(std::move(t), batch);
        auto to = rec.state;
        rec.state = core::task_state::pending;  // what a task is created in; then as given
        auto finished_at = rec.finished_at;
        insert_task(std::move(rec));
        auto pos = static_cast<std::uint32_t>(tasks_.size() - 1);
        // The leader makes a batch's tasks in the order their requestIds first appear in its
        // entries and links the entries once, after the last (add_outcome_tasks). Link here once
        // the task that the last unlinked accepted entry names has come: once per batch, not at
        // every task (a scan of the task list for each entry whose task is still to come made
        // that O(n^2) per change). Entries left unlinked are linked at the batch's next change
        // or at compaction.
        if (batch != no_batch) {
            const auto& entries = batches_[batch].entries;
            auto last = std::find_if(entries.rbegin(), entries.rend(), [](const auto& e) {
                return e.outcome == core::entry_outcome::accepted && !e.linked();
            });
            if (last != entries.rend() && last->own_request_id() == tasks_[pos].request_id.view()) {
                link_entries(batch);
                collapse_entries(batch);
            }
        }
        if (to != core::task_state::pending) set_task_state(pos, to, finished_at);
        emit_task(pos, change_kind::task_created);
    } else {
        if (!held) return invalid(fmt::format("{}: no such task to change", describe(c)));
        auto& r = tasks_[*held];
        const char* altered = nullptr;
        if (t.created_seq != r.created_seq)
            altered = "created_seq";
        else if (t.action != actions_.str(task_action(r)))
            altered = "action";
        else if (t.labels != labels_.to_labels(task_labelset(r)))
            altered = "labels";
        else if (joined_resources(t.resources) != r.resources.view())
            altered = "resources";
        else if (to_ns(t.created_at) != task_created_at(r))
            altered = "created_at";
        else if (to_ns(t.deadline) != task_deadline(r))
            altered = "deadline";
        else if (batch == no_batch && t.poll != polls_.get(task_poll(r)))
            altered = "poll";
        if (altered != nullptr) {
            return invalid(fmt::format("{}: a task's {} does not change", describe(c), altered));
        }
        if (core::is_terminal(r.state)) {
            return invalid(
                fmt::format("{}: the task is already {}", describe(c), core::to_string(r.state)));
        }
        observer_detached quiet{observer_};
        r.status.set(t.last_status, t.last_error);
        r.polls = t.polls;
        set_task_state(*held, t.state, to_ns(t.finished_at));  // no-op if the state stays
        emit_task(*held, change_kind::task_changed);
    }
    run_callbacks();
    return {};
}

core::result<void> store::apply_replicated_task_expiry(const change& c, const core::task_key& key) {
    if (auto r = check_replicated(c, change_kind::task_expired, change_kind::task_expired); !r) {
        return r;
    }
    if (c.subject != core::format_task_identity(key)) {
        return invalid(
            fmt::format("{} does not name task {}", describe(c), core::format_task_identity(key)));
    }
    auto pos = find_exact_task(key);
    if (!pos) return invalid(fmt::format("{}: no such task to forget", describe(c)));
    const auto& t = tasks_[*pos];
    if (!core::is_terminal(t.state) || c.state != core::to_string(t.state)) {
        return invalid(
            fmt::format("{} {}: the task is {}", describe(c), c.state, core::to_string(t.state)));
    }
    if (t.batch != no_batch && !core::is_terminal(batches_[t.batch].state)) {
        return invalid(fmt::format("{}: its batch is still {}", describe(c),
                                   core::to_string(batches_[t.batch].state)));
    }
    {
        observer_detached quiet{observer_};
        evict_task(*pos);
    }
    after_replicated_expiry();
    run_callbacks();
    return {};
}

core::result<void> store::apply_replicated_batch_expiry(const change& c,
                                                        std::string_view batch_id) {
    if (auto r = check_replicated(c, change_kind::batch_expired, change_kind::batch_expired); !r) {
        return r;
    }
    if (c.subject != batch_id) {
        return invalid(fmt::format("{} does not name batch {}", describe(c), batch_id));
    }
    auto pos = find_batch(batch_id);
    if (!pos) return invalid(fmt::format("{}: no such batch to forget", describe(c)));
    const auto& b = batches_[*pos];
    if (!core::is_terminal(b.state) || c.state != core::to_string(b.state)) {
        return invalid(
            fmt::format("{} {}: the batch is {}", describe(c), c.state, core::to_string(b.state)));
    }
    for (auto tp : b.tasks) {
        if (tasks_[tp].alive) {
            return invalid(
                fmt::format("{}: its task {} is still held (a batch's tasks expire "
                            "in their own earlier changes)",
                            describe(c), task_subject(tp)));
        }
    }
    {
        observer_detached quiet{observer_};
        evict_batch(*pos);  // its tasks are gone: only the batch's own change
    }
    after_replicated_expiry();
    run_callbacks();
    return {};
}

void store::after_replicated_expiry() {
    // expire() pops what it evicts from finished_; a follower never calls it, so drop what the
    // leader's retention forgot (the oldest finished first there too) here.
    while (!finished_.empty() && !unit_alive(finished_.front())) finished_.pop_front();
    maybe_compact();
}

}  // namespace taskpoller::store
