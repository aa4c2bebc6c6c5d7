// Construction, lookups, views, change emission and the batch mutations.
#include "store/store.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace taskpoller::store {

using detail::from_ns;
using detail::no_batch;
using detail::to_ns;

namespace {

core::error not_found(std::string msg) {
    return {std::move(msg), core::error_kind::not_found};
}
core::error conflict(std::string msg) {
    return {std::move(msg), core::error_kind::conflict};
}

core::result<void> validate_resource(std::string_view r) {
    if (r.empty() || r.size() > 128) return core::error{"resource ids must be 1 to 128 characters"};
    for (char c : r) {
        if (static_cast<unsigned char>(c) < 0x20) {
            return core::error{"resource ids may not contain control characters"};
        }
    }
    return {};
}

core::result<void> validate_name(std::string_view what, std::string_view s, bool required) {
    if ((required && s.empty()) || s.size() > 64) {
        return core::error{
            fmt::format("{} must be {}1 to 64 characters", what, required ? "" : "0 or ")};
    }
    for (char c : s) {
        auto u = static_cast<unsigned char>(c);
        if (u <= 0x20 || u >= 0x7f) {
            return core::error{fmt::format("{} may only contain printable ASCII", what)};
        }
    }
    return {};
}

}  // namespace

store::store(const core::clock& clock, store_options options, core::logger log)
    : clock_(clock),
      options_(options),
      logger_(std::move(log)),
      ids_(options.id_seed),
      log_(options.change_log_capacity),
      watches_(std::make_shared<watch_table>()) {}

store::~store() = default;

std::uint64_t store::task_hash(std::uint32_t service, std::string_view request_id) const {
    auto h = std::hash<std::string_view>{}(request_id);
    return h ^ (std::uint64_t{service} * 0x9e3779b97f4a7c15ull);
}

std::vector<std::uint32_t> store::tasks_with(std::uint32_t service, std::string_view rid) const {
    std::vector<std::uint32_t> out;
    task_keys_.for_each(task_hash(service, rid), [&](std::uint32_t pos) {
        const auto& t = tasks_[pos];
        if (task_service(t) == service && t.request_id == rid) out.push_back(pos);
    });
    return out;
}

std::optional<std::uint32_t> store::find_batch_task(std::uint32_t bpos,
                                                    std::string_view rid) const {
    for (auto t : batches_[bpos].tasks) {
        if (tasks_[t].alive && tasks_[t].request_id == rid) return t;
    }
    return std::nullopt;
}

std::string_view store::task_region(std::uint32_t pos) const {
    const auto& t = tasks_[pos];
    return regions_.str(t.batch != no_batch ? batches_[t.batch].region : attrs_[t.attrs].region);
}

std::string store::task_origin(std::uint32_t pos) const {
    const auto& t = tasks_[pos];
    auto region = task_region(pos);
    return fmt::format("region {}, {}", region.empty() ? "(none)" : region,
                       t.batch == no_batch
                           ? std::string("adopted")
                           : "batch " + core::format_batch_id(batches_[t.batch].id));
}

std::optional<std::uint32_t> store::find_task(const core::task_key& key, bool* ambiguous) const {
    if (ambiguous != nullptr) *ambiguous = false;
    auto service = services_.find(key.service);
    if (service == no_id) return std::nullopt;
    std::optional<std::uint64_t> batch;
    if (!key.batch_id.empty()) {
        batch = core::parse_batch_id(key.batch_id);
        if (!batch) return std::nullopt;
    }
    std::optional<std::uint32_t> exact;
    std::optional<std::uint32_t> qualified;
    std::size_t matches = 0;
    task_keys_.for_each(task_hash(service, key.request_id), [&](std::uint32_t pos) {
        const auto& t = tasks_[pos];
        if (task_service(t) != service || t.request_id != key.request_id) return;
        auto region = task_region(pos);
        bool in_batch =
            batch ? t.batch != no_batch && batches_[t.batch].id == *batch : t.batch == no_batch;
        if (region == key.region && in_batch) exact = pos;
        if ((key.region.empty() || region == key.region) && (!batch || in_batch)) {
            qualified = pos;
            ++matches;
        }
    });
    if (exact) return exact;
    if (matches == 1) return qualified;
    if (ambiguous != nullptr) *ambiguous = matches > 1;
    return std::nullopt;
}

core::result<core::task_key> store::resolve_task(const core::task_key& key) const {
    bool ambiguous = false;
    if (auto pos = find_task(key, &ambiguous)) return task_view(*pos).key();
    if (!ambiguous) return not_found(fmt::format("no task {}", core::format_task_key(key)));
    std::string which;
    for (auto pos : tasks_with(services_.find(key.service), key.request_id)) {
        if (!which.empty()) which += "; ";
        which += task_origin(pos);
    }
    return conflict(fmt::format(
        "{} names several tasks (the cloud reused the requestId, or two regions issued it): {}; "
        "name one by its region and batch",
        core::format_task_key(key), which));
}

void store::note_collision(std::string_view what, const std::vector<std::uint32_t>& others) {
    ++collisions_;
    std::string which;
    for (auto pos : others) {
        if (!which.empty()) which += "; ";
        which += task_origin(pos);
    }
    logger_.warn(
        "{}: requestId collision with the task(s) already tracked under it ({}): "
        "tracked as a task of its own, never merged",
        what, which);
}

std::optional<std::uint32_t> store::find_exact_task(const core::task_key& key) const {
    // find_task prefers the exact match; anything else it returns is another task.
    auto pos = find_task(key);
    if (!pos || task_region(*pos) != key.region) return std::nullopt;
    auto batch = tasks_[*pos].batch;
    if (batch == no_batch
            ? !key.batch_id.empty()
            : key.batch_id.empty() || core::parse_batch_id(key.batch_id) != batches_[batch].id) {
        return std::nullopt;
    }
    return pos;
}

std::optional<std::uint32_t> store::find_batch(std::string_view batch_id) const {
    auto id = core::parse_batch_id(batch_id);
    if (!id) return std::nullopt;
    return batch_pos(*id);
}

core::task_key store::task_key_of(std::uint32_t pos) const {
    const auto& t = tasks_[pos];
    return {services_.str(task_service(t)), t.request_id.str(), std::string(task_region(pos)),
            t.batch == no_batch ? std::string{} : core::format_batch_id(batches_[t.batch].id)};
}

std::string store::task_subject(std::uint32_t pos) const {
    return core::format_task_identity(task_key_of(pos));
}

core::task store::task_view(std::uint32_t pos) const {
    const auto& r = tasks_[pos];
    core::task t;
    t.service = services_.str(task_service(r));
    t.request_id = r.request_id;
    t.state = r.state;
    t.action = actions_.str(task_action(r));
    if (r.batch != no_batch) t.batch_id = core::format_batch_id(batches_[r.batch].id);
    t.region = task_region(pos);
    if (r.batch != no_batch) t.target = batches_[r.batch].target;
    t.poll = polls_.get(task_poll(r));
    const std::string_view resources = r.resources;
    for (std::size_t b = 0; b < resources.size();) {
        auto e = resources.find('\n', b);
        if (e == std::string_view::npos) e = resources.size();
        t.resources.emplace_back(resources.substr(b, e - b));
        b = e + 1;
    }
    t.last_status = r.status.status();
    t.last_error = r.status.error();
    t.polls = r.polls;
    t.created_at = from_ns(task_created_at(r));
    t.finished_at = from_ns(r.finished_at);
    t.deadline = from_ns(task_deadline(r));
    t.labels = labels_.to_labels(task_labelset(r));
    t.created_seq = r.created_seq;
    t.updated_seq = r.updated_seq;
    return t;
}

core::batch store::batch_view(std::uint32_t pos) const {
    const auto& r = batches_[pos];
    core::batch b;
    b.id = core::format_batch_id(r.id);
    b.state = r.state;
    b.service = services_.str(r.service);
    b.action = actions_.str(r.action);
    b.region = regions_.str(r.region);
    b.code = r.code;
    b.message = r.message;
    b.created_at = from_ns(r.created_at);
    b.finished_at = from_ns(r.finished_at);
    b.labels = labels_.to_labels(r.labelset);
    b.client_token = r.client_token;
    b.target = r.target;
    b.poll = polls_.get(r.poll);
    if (r.entries_are_tasks) {
        for_each_task_entry(r, [&](std::string_view resource, std::uint32_t tp) {
            const auto& t = tasks_[tp];
            b.entries.push_back({std::string(resource), core::entry_outcome::accepted, 0, "",
                                 t.request_id.str(), t.state});
        });
    }
    b.entries.reserve(r.entries.size());
    for (const auto& e : r.entries) {
        core::entry out{
            std::string(e.resource_id()),        e.outcome,   e.code, std::string(e.message()),
            std::string(entry_request_id(r, e)), std::nullopt};
        if (e.outcome == core::entry_outcome::accepted) {
            if (auto tp = entry_task(pos, e)) out.state = tasks_[*tp].state;
        }
        b.entries.push_back(std::move(out));
    }
    b.counts = r.counts;
    b.created_seq = r.created_seq;
    b.updated_seq = r.updated_seq;
    return b;
}

void store::emit_task(std::uint32_t pos, change_kind kind) {
    tasks_[pos].updated_seq = ++seq_;
    change c{seq_, kind, task_subject(pos), core::to_string(tasks_[pos].state)};
    if (observer_) observer_->on_task_change(c, task_view(pos));
    log_.push(std::move(c));
}

void store::emit_batch(std::uint32_t pos, change_kind kind) {
    batches_[pos].updated_seq = ++seq_;
    change c{seq_, kind, core::format_batch_id(batches_[pos].id),
             core::to_string(batches_[pos].state)};
    if (observer_) observer_->on_batch_change(c, batch_view(pos));
    log_.push(std::move(c));
}

core::result<void> store::durability() const {
    if (observer_ == nullptr) return {};
    auto h = observer_->health();
    if (h) return h;
    return core::error{"changes are not being recorded durably: " + h.error().message,
                       core::error_kind::unavailable};
}

void store::when_durable(std::uint64_t seq, std::function<void(core::result<void>)> done) const {
    if (observer_ == nullptr) return done({});
    observer_->when_durable(seq, std::move(done));
}

void store::commit_and_run_callbacks() {
    if (observer_) observer_->on_commit();
    run_callbacks();
}

void store::run_callbacks() {
    watches_->take_changes(seq_, due_);
    // Callbacks may call the store (even register new watches); run a private copy.
    auto due = std::move(due_);
    due_.clear();
    for (auto& cb : due) cb();
}

core::result<core::batch> store::create_batch(const batch_spec& spec) {
    if (auto d = durability(); !d) return d.error();
    if (auto r = core::validate_service_name(spec.service); !r) return r.error();
    if (auto r = validate_name("action", spec.action, true); !r) return r.error();
    if (auto r = validate_name("region", spec.region, false); !r) return r.error();
    if (auto r = core::validate_labels(spec.labels); !r) return r.error();
    if (spec.client_token.size() > 128) return core::error{"client_token is longer than 128"};
    // Stored as text everywhere (the journal, the PostgreSQL ledger, which refuses NUL).
    for (char c : spec.client_token) {
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f)
            return core::error{"client_token must not contain control characters"};
    }
    if (auto r = core::validate_poll(spec.poll); !r) return r.error();
    for (const auto& res : spec.resources) {
        if (auto v = validate_resource(res); !v) return v.error();
    }
    if (!spec.client_token.empty()) {
        if (auto it = tokens_.find(spec.client_token); it != tokens_.end()) {
            return conflict(fmt::format("client_token is already used by batch {}",
                                        core::format_batch_id(it->second)));
        }
    }
    detail::batch_rec r;
    if (!spec.id.empty()) {
        auto id = core::parse_batch_id(spec.id);
        if (!id) return core::error{fmt::format("malformed batch id \"{}\"", spec.id)};
        if (batch_pos(*id)) return conflict("batch " + spec.id + " already exists");
        r.id = *id;
    } else {
        do {
            r.id = ids_.next();
        } while (batch_pos(r.id));
    }
    r.created_seq = seq_ + 1;
    r.client_token = spec.client_token;
    r.target = spec.target;
    r.poll = polls_.intern(spec.poll);
    r.created_at = to_ns(clock_.system_now());
    r.service = services_.intern(spec.service);
    r.action = actions_.intern(spec.action);
    r.region = regions_.intern(spec.region);
    r.labelset = labels_.intern(spec.labels);
    r.entries.reserve(spec.resources.size());
    for (const auto& res : spec.resources) {
        r.entries.push_back({res, {}, {}, 0, core::entry_outcome::unknown});
    }
    auto pos = insert_batch(std::move(r));
    emit_batch(pos, change_kind::batch_created);
    commit_and_run_callbacks();
    return batch_view(pos);
}

std::uint32_t store::insert_batch(detail::batch_rec&& rec) {
    auto pos = static_cast<std::uint32_t>(batches_.size());
    batches_.push_back(std::move(rec));
    index_batch(pos);
    return pos;
}

void store::index_batch(std::uint32_t pos, bool keys) {
    auto& b = batches_[pos];
    if (keys) set_batch_pos(b.id, pos);
    if (!b.client_token.empty()) tokens_[b.client_token.str()] = b.id;
    batch_by_service_.add(b.service, pos);
    batch_by_action_.add(b.action, pos);
    for (auto l : labels_.labels_of(b.labelset)) batch_by_label_.add(l, pos);
    batch_states_.set(static_cast<std::size_t>(b.state), pos);
    ++batch_counts_[static_cast<std::size_t>(b.state)];
    ++batch_total_;
}

void store::set_batch_state(std::uint32_t pos, core::batch_state to,
                            std::optional<std::int64_t> finished_at) {
    auto& b = batches_[pos];
    auto from = static_cast<std::size_t>(b.state);
    batch_states_.clear(from, pos);
    batch_states_.set(static_cast<std::size_t>(to), pos);
    --batch_counts_[from];
    ++batch_counts_[static_cast<std::size_t>(to)];
    b.state = to;
    if (!core::is_terminal(to)) return;
    b.finished_at = finished_at ? *finished_at : to_ns(clock_.system_now());
    finished_.push_back({b.finished_at, b.created_seq, true});
    ++finished_batches_;
    finished_tasks_ += b.tasks.size();
    watches_->take_object(b.created_seq, due_);
}

void store::maybe_finish_batch(std::uint32_t pos) {
    auto& b = batches_[pos];
    if (b.state != core::batch_state::submitted) return;
    auto live = b.counts[static_cast<std::size_t>(core::task_state::pending)] +
                b.counts[static_cast<std::size_t>(core::task_state::running)];
    if (live != 0) return;
    set_batch_state(pos, core::batch_state::done);
    emit_batch(pos, change_kind::batch_changed);
}

core::result<core::batch> store::record_batch_outcome(std::string_view batch_id,
                                                      const batch_outcome& outcome) {
    auto pos = find_batch(batch_id);
    if (!pos) return not_found(fmt::format("no batch {}", batch_id));
    if (batches_[*pos].state != core::batch_state::submitting) {
        return conflict(
            fmt::format("batch {} is already {}", batch_id, core::to_string(batches_[*pos].state)));
    }
    for (const auto& e : outcome.entries) {
        if (auto r = validate_resource(e.resource_id); !r) return r.error();
        if (e.outcome == core::entry_outcome::accepted) {
            if (auto r = core::validate_request_id(e.request_id); !r) return r.error();
        }
    }
    auto& b = batches_[*pos];
    b.code = outcome.code;
    b.message = outcome.message;
    bool any_accepted = false;
    bool any_unknown = false;
    b.entries.clear();  // the resources named at creation: the answer says what became of them
    b.entries_are_tasks = false;
    for (const auto& e : outcome.entries) {
        bool accepted = e.outcome == core::entry_outcome::accepted;
        any_accepted |= accepted;
        any_unknown |= e.outcome == core::entry_outcome::unknown;
        b.entries.push_back({e.resource_id, e.message,
                             accepted ? std::string_view(e.request_id) : std::string_view{}, e.code,
                             e.outcome});
    }
    b.entries.shrink_to_fit();
    auto to = any_accepted  ? core::batch_state::submitted
              : any_unknown ? core::batch_state::unknown
                            : core::batch_state::rejected;
    set_batch_state(*pos, to);
    emit_batch(*pos, change_kind::batch_changed);
    add_outcome_tasks(*pos, outcome);
    maybe_finish_batch(*pos);  // every accepted request_id may have been tracked already
    commit_and_run_callbacks();
    return batch_view(*pos);
}

core::result<core::batch> store::mark_batch_unknown(std::string_view batch_id,
                                                    std::string_view message) {
    auto pos = find_batch(batch_id);
    if (!pos) return not_found(fmt::format("no batch {}", batch_id));
    if (!core::can_transition(batches_[*pos].state, core::batch_state::unknown)) {
        return conflict(
            fmt::format("batch {} is already {}", batch_id, core::to_string(batches_[*pos].state)));
    }
    batches_[*pos].message = message;
    expand_entries(*pos);
    for (auto& e : batches_[*pos].entries) e.set_message(message);
    set_batch_state(*pos, core::batch_state::unknown);
    emit_batch(*pos, change_kind::batch_changed);
    commit_and_run_callbacks();
    return batch_view(*pos);
}

std::size_t store::track_lost_outcome_tasks() {
    std::size_t created = 0;
    for (std::uint32_t bpos = 0; bpos < batches_.size(); ++bpos) {
        const auto& b = batches_[bpos];
        if (!b.alive || b.state != core::batch_state::submitted) continue;
        batch_outcome lost;
        for (const auto& e : b.entries) {
            if (e.outcome != core::entry_outcome::accepted) continue;
            if (entry_task(bpos, e)) continue;
            core::entry entry;
            entry.resource_id = e.resource_id();
            entry.outcome = e.outcome;
            entry.request_id = e.own_request_id();
            lost.entries.push_back(std::move(entry));
        }
        if (lost.entries.empty()) continue;
        for (auto t : b.tasks) {
            if (auto d = task_deadline(tasks_[t]); d != 0) {
                lost.deadline = detail::from_ns(d);
                break;
            }
        }
        auto before = tasks_.size();
        add_outcome_tasks(bpos, lost);
        auto n = tasks_.size() - before;
        created += n;
        logger_.warn(
            "batch {}: {} of its tasks were not in the journal (the daemon stopped while recording "
            "its outcome); tracking them again from the batch's entries",
            core::format_batch_id(batches_[bpos].id), n);
    }
    if (created > 0) commit_and_run_callbacks();
    return created;
}

std::size_t store::finish_settled_batches() {
    std::size_t finished = 0;
    for (std::uint32_t bpos = 0; bpos < batches_.size(); ++bpos) {
        const auto& b = batches_[bpos];
        if (!b.alive || b.state != core::batch_state::submitted || b.tasks.empty()) continue;
        maybe_finish_batch(bpos);
        if (b.state != core::batch_state::done) continue;
        ++finished;
    }
    if (finished > 0) commit_and_run_callbacks();
    return finished;
}

core::result<core::batch> store::cancel_batch(std::string_view batch_id) {
    auto pos = find_batch(batch_id);
    if (!pos) return not_found(fmt::format("no batch {}", batch_id));
    if (batches_[*pos].state != core::batch_state::submitted) {
        return conflict(fmt::format("batch {} is {}: only a submitted batch can be cancelled",
                                    batch_id, core::to_string(batches_[*pos].state)));
    }
    auto tasks = batches_[*pos].tasks;  // copy: state changes finish the batch as they go
    for (auto tp : tasks) {
        if (core::is_terminal(tasks_[tp].state)) continue;
        set_task_state(tp, core::task_state::cancelled);
        emit_task(tp, change_kind::task_changed);
    }
    maybe_finish_batch(*pos);
    commit_and_run_callbacks();
    return batch_view(*pos);
}

}  // namespace taskpoller::store
