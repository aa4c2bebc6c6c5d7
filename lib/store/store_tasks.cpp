// Task mutations and watcher registration.
#include <fmt/format.h>

#include <unordered_map>

#include "store/store.hpp"

namespace taskpoller::store {

using detail::no_batch;
using detail::to_ns;

namespace {

core::error not_found(std::string msg) {
    return {std::move(msg), core::error_kind::not_found};
}
core::error conflict(std::string msg) {
    return {std::move(msg), core::error_kind::conflict};
}

// A misbehaving cloud answer must not grow a task without bound.
constexpr std::size_t max_status = 256;
constexpr std::size_t max_error = 1024;

}  // namespace

void store::insert_task(detail::task_rec&& rec) {
    if (rec.batch != no_batch) expand_entries(rec.batch);  // they stand for the tasks it had
    auto pos = static_cast<std::uint32_t>(tasks_.size());
    tasks_.push_back(std::move(rec));
    index_task(pos);
}

std::uint32_t store::add_attrs(const detail::task_attrs& a) {
    if (!free_attrs_.empty()) {
        auto i = free_attrs_.back();
        free_attrs_.pop_back();
        attrs_[i] = a;
        return i;
    }
    attrs_.push_back(a);
    return static_cast<std::uint32_t>(attrs_.size() - 1);
}

void store::drop_attrs(detail::task_rec& t) {
    if (t.attrs == detail::no_attrs) return;
    free_attrs_.push_back(t.attrs);
    t.attrs = detail::no_attrs;
}

void store::set_attrs(detail::task_rec& t, const detail::task_attrs& a) {
    drop_attrs(t);
    if (t.batch != no_batch) {
        auto& b = batches_[t.batch];
        if (!b.task_times) {
            b.task_created_at = a.created_at;
            b.task_deadline = a.deadline;
            b.task_times = true;
        }
        if (a.service == b.service && a.action == b.action && a.labelset == b.labelset &&
            a.created_at == b.task_created_at && a.deadline == b.task_deadline) {
            return;
        }
    }
    t.attrs = add_attrs(a);
}

std::string_view store::entry_request_id(const detail::batch_rec& b,
                                         const detail::entry_rec& e) const {
    return e.linked() ? tasks_[b.tasks[e.slot()]].request_id.view() : e.own_request_id();
}

std::optional<std::uint32_t> store::entry_task(std::uint32_t bpos,
                                               const detail::entry_rec& e) const {
    if (e.linked()) return batches_[bpos].tasks[e.slot()];
    if (e.outcome != core::entry_outcome::accepted) return std::nullopt;
    return find_batch_task(bpos, e.own_request_id());
}

void store::link_entries(std::uint32_t bpos) {
    auto& b = batches_[bpos];
    std::size_t guess = 0;  // usually one task per accepted entry, created in the entries' order
    for (auto& e : b.entries) {
        if (e.linked() || e.outcome != core::entry_outcome::accepted) continue;
        auto rid = e.own_request_id();
        auto matches = [&](std::size_t k) {
            const auto& t = tasks_[b.tasks[k]];
            return t.alive && t.request_id == rid;
        };
        std::size_t k = guess < b.tasks.size() && matches(guess) ? guess : 0;
        while (k < b.tasks.size() && !matches(k)) ++k;
        if (k < b.tasks.size() && k < detail::entry_rec::no_slot) {
            e.link(static_cast<std::uint16_t>(k));
            guess = k + 1;
        }
    }
}

void store::collapse_entries(std::uint32_t bpos) {
    auto& b = batches_[bpos];
    if (b.entries_are_tasks || b.tasks.empty() || b.tasks.size() >= detail::entry_rec::no_slot) {
        return;
    }
    std::size_t i = 0;
    bool same = true;
    for_each_task_entry(b, [&](std::string_view resource, std::uint32_t tp) {
        if (!same) return;
        if (i == b.entries.size() || !tasks_[tp].alive) {
            same = false;
            return;
        }
        const auto& e = b.entries[i++];
        same = e.outcome == core::entry_outcome::accepted && e.code == 0 && e.message().empty() &&
               e.resource_id() == resource &&
               entry_request_id(b, e) == tasks_[tp].request_id.view();
    });
    if (!same || i != b.entries.size()) return;
    std::vector<detail::entry_rec>().swap(b.entries);
    b.entries_are_tasks = true;
}

std::size_t store::collapsed_batches() const {
    std::size_t n = 0;
    for (const auto& b : batches_) n += b.alive && b.entries_are_tasks ? 1 : 0;
    return n;
}

void store::expand_entries(std::uint32_t bpos) {
    auto& b = batches_[bpos];
    if (!b.entries_are_tasks) return;
    std::vector<detail::entry_rec> entries;
    std::uint16_t slot = 0;
    std::uint32_t last = no_batch;
    for_each_task_entry(b, [&](std::string_view resource, std::uint32_t tp) {
        if (last != no_batch && tp != last) ++slot;
        last = tp;
        entries.emplace_back(resource, "", "", 0, core::entry_outcome::accepted);
        entries.back().link(slot);
    });
    b.entries = std::move(entries);
    b.entries_are_tasks = false;
}

void store::unlink_entries_to(std::uint32_t pos) {
    const auto& t = tasks_[pos];
    if (t.batch == no_batch) return;
    expand_entries(t.batch);
    auto& b = batches_[t.batch];
    for (auto& e : b.entries) {
        if (e.linked() && b.tasks[e.slot()] == pos) e.unlink(t.request_id.view());
    }
}

void store::index_task(std::uint32_t pos, bool keys) {
    auto& t = tasks_[pos];
    if (keys) task_keys_.insert(task_hash(task_service(t), t.request_id), pos);
    task_by_service_.add(task_service(t), pos);
    task_by_action_.add(task_action(t), pos);
    for (auto l : labels_.labels_of(task_labelset(t))) task_by_label_.add(l, pos);
    auto s = static_cast<std::size_t>(t.state);
    task_states_.set(s, pos);
    ++task_counts_[s];
    ++task_total_;
    if (t.batch != no_batch) {
        batches_[t.batch].tasks.push_back(pos);
        ++batches_[t.batch].counts[s];
    }
}

void store::set_task_state(std::uint32_t pos, core::task_state to,
                           std::optional<std::int64_t> finished_at) {
    auto& t = tasks_[pos];
    auto from = static_cast<std::size_t>(t.state);
    auto next = static_cast<std::size_t>(to);
    if (from == next) return;
    task_states_.clear(from, pos);
    task_states_.set(next, pos);
    --task_counts_[from];
    ++task_counts_[next];
    if (t.batch != no_batch) {
        --batches_[t.batch].counts[from];
        ++batches_[t.batch].counts[next];
    }
    t.state = to;
    if (!core::is_terminal(to)) return;
    t.finished_at = finished_at ? *finished_at : to_ns(clock_.system_now());
    if (t.batch == no_batch) {
        finished_.push_back({t.finished_at, t.created_seq, false});
        ++finished_tasks_;
    }
    watches_->take_object(t.created_seq, due_);
}

void store::add_outcome_tasks(std::uint32_t bpos, const batch_outcome& o) {
    // Group first so each task_created change carries all of the task's resources.
    std::vector<std::pair<std::string_view, std::string>> groups;
    std::unordered_map<std::string_view, std::size_t> index;
    for (const auto& e : o.entries) {
        if (e.outcome != core::entry_outcome::accepted) continue;
        auto [it, fresh] = index.emplace(e.request_id, groups.size());
        if (fresh) {
            groups.emplace_back(e.request_id, e.resource_id);
        } else {
            groups[it->second].second.append(1, '\n').append(e.resource_id);
        }
    }
    const auto& b = batches_[bpos];
    auto now = to_ns(clock_.system_now());
    for (auto& [rid, resources] : groups) {
        if (find_batch_task(bpos, rid)) continue;  // a start-up repair's task already made
        if (auto others = tasks_with(b.service, rid); !others.empty()) {
            note_collision(fmt::format("batch {}: task {}", core::format_batch_id(b.id),
                                       core::format_task_key(services_.str(b.service), rid)),
                           others);
        }
        detail::task_rec t;
        t.request_id = rid;
        t.resources = std::move(resources);
        t.created_seq = seq_ + 1;
        t.batch = bpos;
        // Usually the batch's service, action, labels, region, poll settings; and creation
        // time and deadline (a batch's tasks are made together, unless some were lost).
        auto attrs = detail::shared_attrs(b);
        attrs.created_at = now;
        attrs.deadline = to_ns(o.deadline);
        set_attrs(t, attrs);
        insert_task(std::move(t));
        emit_task(static_cast<std::uint32_t>(tasks_.size() - 1), change_kind::task_created);
    }
    link_entries(bpos);
    collapse_entries(bpos);
}

core::result<core::task> store::adopt_task(const adopt_spec& spec) {
    if (auto r = core::validate_service_name(spec.service); !r) return r.error();
    if (auto r = core::validate_request_id(spec.request_id); !r) return r.error();
    if (spec.action.empty() || spec.action.size() > 64) {
        return core::error{"action must be 1 to 64 characters"};
    }
    if (auto r = core::validate_labels(spec.labels); !r) return r.error();
    if (spec.resources.size() > 100) return core::error{"at most 100 resources per task"};
    if (auto r = core::validate_poll(spec.poll); !r) return r.error();
    std::string resources;
    for (const auto& r : spec.resources) {
        if (r.empty() || r.size() > 128 || r.find_first_of("\n\r\t") != std::string::npos) {
            return core::error{
                "resource ids must be 1 to 128 characters without control characters"};
        }
        if (!resources.empty()) resources += '\n';
        resources += r;
    }
    if (auto d = durability(); !d) return d.error();
    auto svc = services_.intern(spec.service);
    auto others = tasks_with(svc, spec.request_id);
    for (auto pos : others) {
        if (task_region(pos) == spec.region) {
            return conflict(fmt::format("task {} is already tracked ({})",
                                        core::format_task_key(spec.service, spec.request_id),
                                        task_origin(pos)));
        }
    }
    if (!others.empty()) {
        note_collision(
            fmt::format("adopted task {} in region {}",
                        core::format_task_key(spec.service, spec.request_id), spec.region),
            others);
    }
    detail::task_rec t;
    t.request_id = spec.request_id;
    t.resources = std::move(resources);
    t.created_seq = seq_ + 1;
    set_attrs(
        t, {to_ns(clock_.system_now()), to_ns(spec.deadline), svc, actions_.intern(spec.action),
            labels_.intern(spec.labels), regions_.intern(spec.region), polls_.intern(spec.poll)});
    insert_task(std::move(t));
    auto pos = static_cast<std::uint32_t>(tasks_.size() - 1);
    emit_task(pos, change_kind::task_created);
    commit_and_run_callbacks();
    return task_view(pos);
}

core::result<core::task_state> store::update_task(const core::task_key& key, const task_update& u) {
    auto pos = find_task(key);
    if (!pos) return resolve_task(key).error();
    auto& t = tasks_[*pos];
    if (core::is_terminal(t.state)) {
        return conflict(fmt::format("task {} is already {}", core::format_task_key(key),
                                    core::to_string(t.state)));
    }
    if (u.state && !core::can_transition(t.state, *u.state)) {
        return conflict(fmt::format("task {}: {} cannot become {}", core::format_task_key(key),
                                    core::to_string(t.state), core::to_string(*u.state)));
    }
    bool changed = u.state && *u.state != t.state;
    auto status = t.status.status();
    auto error = t.status.error();
    bool status_changed =
        u.last_status && status != std::string_view(*u.last_status).substr(0, max_status);
    bool error_changed =
        u.last_error && error != std::string_view(*u.last_error).substr(0, max_error);
    if (status_changed || error_changed) {
        // status and error may be views into t.status: set() builds the new value before it
        // replaces the old one, so they need no copy.
        t.status.set(
            (status_changed ? std::string_view(*u.last_status) : status).substr(0, max_status),
            (error_changed ? std::string_view(*u.last_error) : error).substr(0, max_error));
        changed = true;
    }
    if (u.count_poll) ++t.polls;
    // A poll that saw nothing new is not a change: the event stream stays quiet.
    if (!changed) return t.state;
    if (u.state) set_task_state(*pos, *u.state);
    emit_task(*pos, change_kind::task_changed);
    auto batch = tasks_[*pos].batch;
    if (batch != no_batch) maybe_finish_batch(batch);
    run_callbacks();
    return tasks_[*pos].state;
}

core::result<core::task> store::cancel_task(const core::task_key& key) {
    auto pos = find_task(key);
    if (!pos) return resolve_task(key).error();
    if (core::is_terminal(tasks_[*pos].state)) {
        return conflict(fmt::format("task {} is already {}", core::format_task_key(key),
                                    core::to_string(tasks_[*pos].state)));
    }
    set_task_state(*pos, core::task_state::cancelled);
    emit_task(*pos, change_kind::task_changed);
    if (tasks_[*pos].batch != no_batch) maybe_finish_batch(tasks_[*pos].batch);
    commit_and_run_callbacks();
    return task_view(*pos);
}

core::result<watch_handle> store::watch_task_terminal(const core::task_key& key,
                                                      watch_table::callback cb) {
    auto pos = find_task(key);
    if (!pos) return resolve_task(key).error();
    if (core::is_terminal(tasks_[*pos].state)) {
        cb();
        return watch_handle{};
    }
    auto id = watches_->add_object(tasks_[*pos].created_seq, std::move(cb));
    return watch_handle{watches_, id};
}

core::result<watch_handle> store::watch_batch_terminal(std::string_view batch_id,
                                                       watch_table::callback cb) {
    auto pos = find_batch(batch_id);
    if (!pos) return not_found(fmt::format("no batch {}", batch_id));
    if (core::is_terminal(batches_[*pos].state)) {
        cb();
        return watch_handle{};
    }
    auto id = watches_->add_object(batches_[*pos].created_seq, std::move(cb));
    return watch_handle{watches_, id};
}

watch_handle store::watch_changes(std::uint64_t after_seq, watch_table::callback cb) {
    if (seq_ > after_seq) {
        cb();
        return watch_handle{};
    }
    auto id = watches_->add_changes(after_seq, std::move(cb));
    return watch_handle{watches_, id};
}

}  // namespace taskpoller::store
