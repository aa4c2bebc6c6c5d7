// Retention (expire/next_expiry), compaction, and start-up restore.
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <numeric>

#include "store/store.hpp"

namespace taskpoller::store {

using detail::from_ns;
using detail::no_batch;
using detail::to_ns;

template <class Rec>
std::optional<std::uint32_t> store::by_created_seq(const huge_vector<Rec>& recs,
                                                   std::uint64_t seq) {
    auto it = std::lower_bound(recs.begin(), recs.end(), seq,
                               [](const Rec& r, std::uint64_t s) { return r.created_seq < s; });
    if (it == recs.end() || it->created_seq != seq || !it->alive) return std::nullopt;
    return static_cast<std::uint32_t>(it - recs.begin());
}

bool store::unit_alive(const detail::finished_unit& u) const {
    if (u.is_batch) {
        auto pos = by_created_seq(batches_, u.created_seq);
        return pos && core::is_terminal(batches_[*pos].state);
    }
    auto pos = by_created_seq(tasks_, u.created_seq);
    return pos && core::is_terminal(tasks_[*pos].state) && tasks_[*pos].batch == no_batch;
}

std::size_t store::expire(core::sys_time now) {
    const auto now_ns = to_ns(now);
    const auto ttl_ns = std::chrono::nanoseconds(options_.retention.ttl).count();
    std::size_t evicted = 0;
    while (!finished_.empty()) {
        auto u = finished_.front();
        if (!unit_alive(u)) {
            finished_.pop_front();
            continue;
        }
        bool over = finished_tasks_ > options_.retention.max_finished_tasks ||
                    finished_batches_ > options_.retention.max_finished_batches;
        if (!over && now_ns - u.finished_at < ttl_ns) break;
        finished_.pop_front();
        evicted += evict_unit(u);
    }
    maybe_compact();
    run_callbacks();
    return evicted;
}

void store::maybe_compact() {
    // Evicted records leave holes; rebuild once they outnumber the living.
    auto dead = (tasks_.size() - task_total_) + (batches_.size() - batch_total_);
    if (dead > 4096 && dead > task_total_ + batch_total_) compact();
}

std::optional<core::sys_time> store::next_expiry() const {
    if (finished_.empty()) return std::nullopt;
    const auto& u = finished_.front();
    bool over = finished_tasks_ > options_.retention.max_finished_tasks ||
                finished_batches_ > options_.retention.max_finished_batches;
    if (over) return from_ns(u.finished_at);
    return from_ns(u.finished_at) +
           std::chrono::duration_cast<core::sys_time::duration>(options_.retention.ttl);
}

std::size_t store::evict_unit(const detail::finished_unit& u) {
    if (u.is_batch) return evict_batch(*by_created_seq(batches_, u.created_seq));
    evict_task(*by_created_seq(tasks_, u.created_seq));
    return 1;
}

void store::evict_task(std::uint32_t pos, bool batch_going) {
    emit_task(pos, change_kind::task_expired);
    if (!batch_going) unlink_entries_to(pos);  // its batch's entries outlive it
    auto& t = tasks_[pos];
    task_keys_.erase(task_hash(task_service(t), t.request_id),
                     [&](std::uint32_t p) { return p == pos; });
    auto s = static_cast<std::size_t>(t.state);
    task_states_.clear(s, pos);
    --task_counts_[s];
    --task_total_;
    --finished_tasks_;
    if (t.batch != no_batch) --batches_[t.batch].counts[s];
    drop_attrs(t);
    detail::task_rec dead;  // frees the strings; created_seq keeps the vector sorted
    dead.created_seq = t.created_seq;
    dead.alive = false;
    t = std::move(dead);
}

std::size_t store::evict_batch(std::uint32_t pos) {
    auto& b = batches_[pos];
    for (auto tp : b.tasks) {
        if (tasks_[tp].alive && !core::is_terminal(tasks_[tp].state)) {
            logger_.error("batch {} is {} but task {} is live; not evicting it",
                          core::format_batch_id(b.id), core::to_string(b.state), task_subject(tp));
            return 0;
        }
    }
    std::size_t evicted = 1;
    for (auto tp : b.tasks) {
        if (!tasks_[tp].alive) continue;
        evict_task(tp, true);
        ++evicted;
    }
    emit_batch(pos, change_kind::batch_expired);
    erase_batch_pos(b.id);
    if (!b.client_token.empty()) tokens_.erase(b.client_token.str());
    auto s = static_cast<std::size_t>(b.state);
    batch_states_.clear(s, pos);
    --batch_counts_[s];
    --batch_total_;
    --finished_batches_;
    detail::batch_rec dead;
    dead.created_seq = b.created_seq;
    dead.alive = false;
    b = std::move(dead);
    return evicted;
}

namespace {

// Every record alive and in creation order: compact() has nothing to move (the usual case after
// a replay: snapshot and log are both written in creation order).
template <class Rec>
bool in_order_and_alive(const huge_vector<Rec>& recs) {
    for (std::size_t i = 0; i < recs.size(); ++i) {
        if (!recs[i].alive || (i > 0 && recs[i - 1].created_seq >= recs[i].created_seq)) {
            return false;
        }
    }
    return true;
}

}  // namespace

void store::compact() {
    ++compactions_;
    // A linked entry names its task by its slot in the batch's task list, which is rebuilt
    // below: remember each link by the task's created_seq (which no compaction changes) and
    // find the slot again afterwards. An entry whose task is dead keeps its requestId itself.
    std::vector<std::uint64_t> links;
    std::vector<std::pair<std::uint64_t, std::size_t>> firsts;  // batch created_seq → in links
    for (auto& b : batches_) {
        if (!b.alive) continue;
        firsts.emplace_back(b.created_seq, links.size());
        for (auto& e : b.entries) {
            if (!e.linked()) continue;
            const auto& t = tasks_[b.tasks[e.slot()]];
            if (t.alive) {
                links.push_back(t.created_seq);
            } else {
                e.unlink(t.request_id.view());
            }
        }
    }
    // Nothing dead and nothing out of order: positions stay, so the key tables stay valid.
    bool keep_keys = in_order_and_alive(batches_) && in_order_and_alive(tasks_);
    if (keep_keys) {
        for (auto& b : batches_) {
            b.tasks.clear();
            b.counts = {};
        }
    } else {
        drop_dead_records();
        task_keys_.clear();
        batch_ids_.clear();
        task_keys_.reserve(tasks_.size());
        batch_ids_.reserve(batches_.size());
    }
    tokens_.clear();
    const std::array<posting_lists*, 6> lists{&task_by_service_, &task_by_action_,
                                              &task_by_label_,   &batch_by_service_,
                                              &batch_by_action_, &batch_by_label_};
    for (auto* p : lists) p->clear();
    task_states_.clear_all();
    batch_states_.clear_all();
    task_counts_ = {};
    batch_counts_ = {};
    task_total_ = batch_total_ = 0;
    for (std::uint32_t i = 0; i < batches_.size(); ++i) index_batch(i, !keep_keys);
    for (std::uint32_t i = 0; i < tasks_.size(); ++i) index_task(i, !keep_keys);
    // Each batch's task list is now in creation order (positions follow created_seq).
    std::sort(firsts.begin(), firsts.end());
    for (std::uint32_t bpos = 0; bpos < batches_.size(); ++bpos) {
        auto& b = batches_[bpos];
        auto first = std::lower_bound(firsts.begin(), firsts.end(),
                                      std::pair<std::uint64_t, std::size_t>{b.created_seq, 0});
        std::size_t next_link = first != firsts.end() ? first->second : links.size();
        for (auto& e : b.entries) {
            if (!e.linked()) continue;
            auto seq = links[next_link++];
            auto it = std::lower_bound(
                b.tasks.begin(), b.tasks.end(), seq,
                [&](std::uint32_t tp, std::uint64_t s) { return tasks_[tp].created_seq < s; });
            e.move_to(static_cast<std::uint16_t>(it - b.tasks.begin()));
        }
        link_entries(bpos);  // entries restored or replicated before their tasks
        collapse_entries(bpos);
    }
    for (auto* p : lists) p->optimize();
    rebuild_finished();
}

void store::drop_dead_records() {
    auto order = [](const auto& recs) {
        std::vector<std::uint32_t> idx;
        for (std::uint32_t i = 0; i < recs.size(); ++i) {
            if (recs[i].alive) idx.push_back(i);
        }
        std::stable_sort(idx.begin(), idx.end(), [&](std::uint32_t a, std::uint32_t b) {
            return recs[a].created_seq < recs[b].created_seq;
        });
        return idx;
    };
    auto border = order(batches_);
    auto torder = order(tasks_);
    std::vector<std::uint32_t> bmap(batches_.size(), no_batch);
    huge_vector<detail::batch_rec> nb;
    nb.reserve(border.size());
    for (auto p : border) {
        bmap[p] = static_cast<std::uint32_t>(nb.size());
        nb.push_back(std::move(batches_[p]));
        nb.back().tasks.clear();
        nb.back().counts = {};
    }
    huge_vector<detail::task_rec> nt;
    huge_vector<detail::task_attrs> na;
    nt.reserve(torder.size());
    for (auto p : torder) {
        auto& t = tasks_[p];
        auto batch = t.batch == no_batch ? no_batch : bmap[t.batch];
        if (t.batch != no_batch && batch == no_batch && core::is_terminal(t.state)) continue;
        std::optional<detail::task_attrs> attrs;
        if (t.attrs != detail::no_attrs) attrs = attrs_[t.attrs];
        if (t.batch != no_batch && batch == no_batch) {
            // A live task whose batch is gone is kept, unattached, with the batch's attributes.
            const auto& ob = batches_[t.batch];  // not moved: it is dead
            if (!attrs) attrs = detail::shared_attrs(ob);
            attrs->region = ob.region;  // own attrs of a batch task left these to the batch
            attrs->poll = ob.poll;
        }
        nt.push_back(std::move(t));
        auto& moved = nt.back();
        moved.batch = batch;
        moved.attrs = detail::no_attrs;
        if (attrs) {
            moved.attrs = static_cast<std::uint32_t>(na.size());
            na.push_back(*attrs);
        }
    }
    batches_ = std::move(nb);
    tasks_ = std::move(nt);
    attrs_ = std::move(na);
    free_attrs_.clear();
}

void store::rebuild_finished() {
    finished_.clear();
    finished_tasks_ = finished_batches_ = 0;
    for (const auto& b : batches_) {
        if (!core::is_terminal(b.state)) continue;
        finished_.push_back({b.finished_at, b.created_seq, true});
        ++finished_batches_;
        finished_tasks_ += b.tasks.size();
    }
    for (const auto& t : tasks_) {
        if (!core::is_terminal(t.state) || t.batch != no_batch) continue;
        finished_.push_back({t.finished_at, t.created_seq, false});
        ++finished_tasks_;
    }
    std::sort(finished_.begin(), finished_.end(), [](const auto& a, const auto& b) {
        return a.finished_at != b.finished_at ? a.finished_at < b.finished_at
                                              : a.created_seq < b.created_seq;
    });
}

}  // namespace taskpoller::store
