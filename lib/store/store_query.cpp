// Read side: lookups, filtered and paginated listings.
#include <fmt/format.h>

#include <algorithm>
#include <charconv>

#include "store/store.hpp"

namespace taskpoller::store {

using detail::no_batch;

namespace {

// Page tokens are opaque to clients: a kind letter and the created_seq of the last item seen.
std::string make_token(char kind, std::uint64_t seq) {
    return fmt::format("{}{:x}", kind, seq);
}

core::result<std::uint64_t> parse_token(char kind, std::string_view token) {
    std::uint64_t seq = 0;
    if (token.empty()) return seq;
    if (token.size() < 2 || token.size() > 17 || token[0] != kind) {
        return core::error{"page_token is not one this listing issued"};
    }
    auto [p, ec] = std::from_chars(token.data() + 1, token.data() + token.size(), seq, 16);
    if (ec != std::errc{} || p != token.data() + token.size()) {
        return core::error{"page_token is not one this listing issued"};
    }
    return seq;
}

// The shortest position list a filter names: the walk takes its candidates from it and checks
// the rest of the filter on each record.
class driver {
  public:
    void consider(const posting_lists& lists, std::uint32_t id) {
        auto n = lists.count(id);
        if (set_ && n >= size_) return;
        set_ = true;
        size_ = n;
        lists_ = &lists;
        id_ = id;
    }
    void consider(std::span<const std::uint32_t> sorted) {
        if (set_ && sorted.size() >= size_) return;
        set_ = true;
        size_ = sorted.size();
        lists_ = nullptr;
        sorted_ = sorted;
    }
    bool set() const { return set_; }
    // Next candidate position at or after `from`, or `end`.
    std::uint32_t next(std::uint32_t from, std::uint32_t end) const {
        if (lists_ != nullptr) return lists_->next(id_, from, end);
        auto it = std::lower_bound(sorted_.begin(), sorted_.end(), from);
        return it == sorted_.end() || *it >= end ? end : *it;
    }

  private:
    bool set_ = false;
    std::uint64_t size_ = 0;
    const posting_lists* lists_ = nullptr;
    std::uint32_t id_ = 0;
    std::span<const std::uint32_t> sorted_;
};

// Walks candidates from `start`, keeps those `match` accepts, stops after `limit` and records a
// token if at least one more matches.
template <class T, class Next, class Match, class View, class SeqOf>
page<T> paginate(char kind, std::uint32_t start, std::uint32_t end, std::size_t limit, Next next,
                 Match match, View view, SeqOf seq_of) {
    page<T> out;
    std::uint32_t last = end;
    for (auto pos = next(start); pos < end; pos = next(pos + 1)) {
        if (!match(pos)) continue;
        if (out.items.size() == limit) {
            out.next_page_token = make_token(kind, seq_of(last));
            break;
        }
        out.items.push_back(view(pos));
        last = pos;
    }
    return out;
}

}  // namespace

template <class Rec>
std::uint32_t store::first_after(const huge_vector<Rec>& recs, std::uint64_t created_seq) {
    auto it = std::upper_bound(recs.begin(), recs.end(), created_seq,
                               [](std::uint64_t seq, const Rec& r) { return seq < r.created_seq; });
    return static_cast<std::uint32_t>(it - recs.begin());
}

std::optional<core::batch> store::get_batch(std::string_view batch_id) const {
    auto pos = find_batch(batch_id);
    if (!pos) return std::nullopt;
    return batch_view(*pos);
}

std::optional<core::task> store::get_task(const core::task_key& key) const {
    auto pos = find_task(key);
    if (!pos) return std::nullopt;
    return task_view(*pos);
}

std::optional<core::task_state> store::task_state_of(const core::task_key& key) const {
    auto pos = find_task(key);
    if (!pos) return std::nullopt;
    return tasks_[*pos].state;
}

std::optional<core::batch> store::find_batch_by_token(std::string_view client_token) const {
    if (client_token.empty()) return std::nullopt;
    auto it = tokens_.find(std::string(client_token));
    if (it == tokens_.end()) return std::nullopt;
    auto pos = batch_pos(it->second);
    if (!pos) return std::nullopt;
    return batch_view(*pos);
}

core::result<page<core::task>> store::list_tasks(const task_filter& f,
                                                 const page_request& p) const {
    auto after = parse_token('t', p.page_token);
    if (!after) return after.error();
    std::size_t limit = std::clamp<std::size_t>(p.limit, 1, max_page_limit);
    auto end = static_cast<std::uint32_t>(tasks_.size());
    std::uint32_t svc = no_id, act = no_id, bpos = no_batch;
    if (!f.service.empty() && (svc = services_.find(f.service)) == no_id) return page<core::task>{};
    if (!f.action.empty() && (act = actions_.find(f.action)) == no_id) return page<core::task>{};
    if (!f.batch_id.empty()) {
        auto b = find_batch(f.batch_id);
        if (!b) return page<core::task>{};
        bpos = *b;
    }
    std::vector<std::uint32_t> label_ids;
    for (const auto& [k, v] : f.labels) {
        auto id = labels_.find_label(k, v);
        if (id == no_id) return page<core::task>{};
        label_ids.push_back(id);
    }
    // Drive the walk from the shortest position list that applies; check the rest per record.
    driver d;
    if (svc != no_id) d.consider(task_by_service_, svc);
    if (act != no_id) d.consider(task_by_action_, act);
    if (bpos != no_batch) d.consider(batches_[bpos].tasks);
    for (auto id : label_ids) d.consider(task_by_label_, id);

    auto match = [&](std::uint32_t pos) {
        const auto& t = tasks_[pos];
        if (!t.alive || (f.state && t.state != *f.state)) return false;
        if ((svc != no_id && task_service(t) != svc) || (act != no_id && task_action(t) != act))
            return false;
        if (bpos != no_batch && t.batch != bpos) return false;
        return std::all_of(label_ids.begin(), label_ids.end(),
                           [&](std::uint32_t l) { return labels_.contains(task_labelset(t), l); });
    };
    auto next = [&](std::uint32_t from) -> std::uint32_t {
        if (d.set()) return d.next(from, end);
        if (f.state) return task_states_.next(static_cast<std::size_t>(*f.state), from, end);
        return from;
    };
    return paginate<core::task>(
        't', first_after(tasks_, *after), end, limit, next, match,
        [&](std::uint32_t pos) { return task_view(pos); },
        [&](std::uint32_t pos) { return tasks_[pos].created_seq; });
}

core::result<page<core::batch>> store::list_batches(const batch_filter& f,
                                                    const page_request& p) const {
    auto after = parse_token('b', p.page_token);
    if (!after) return after.error();
    std::size_t limit = std::clamp<std::size_t>(p.limit, 1, max_page_limit);
    auto end = static_cast<std::uint32_t>(batches_.size());
    std::uint32_t svc = no_id, act = no_id;
    if (!f.service.empty() && (svc = services_.find(f.service)) == no_id)
        return page<core::batch>{};
    if (!f.action.empty() && (act = actions_.find(f.action)) == no_id) return page<core::batch>{};
    std::vector<std::uint32_t> label_ids;
    for (const auto& [k, v] : f.labels) {
        auto id = labels_.find_label(k, v);
        if (id == no_id) return page<core::batch>{};
        label_ids.push_back(id);
    }
    driver d;
    if (svc != no_id) d.consider(batch_by_service_, svc);
    if (act != no_id) d.consider(batch_by_action_, act);
    for (auto id : label_ids) d.consider(batch_by_label_, id);

    auto match = [&](std::uint32_t pos) {
        const auto& b = batches_[pos];
        if (!b.alive || (f.state && b.state != *f.state)) return false;
        if ((svc != no_id && b.service != svc) || (act != no_id && b.action != act)) return false;
        return std::all_of(label_ids.begin(), label_ids.end(),
                           [&](std::uint32_t l) { return labels_.contains(b.labelset, l); });
    };
    auto next = [&](std::uint32_t from) -> std::uint32_t {
        if (d.set()) return d.next(from, end);
        if (f.state) return batch_states_.next(static_cast<std::size_t>(*f.state), from, end);
        return from;
    };
    return paginate<core::batch>(
        'b', first_after(batches_, *after), end, limit, next, match,
        [&](std::uint32_t pos) { return batch_view(pos); },
        [&](std::uint32_t pos) { return batches_[pos].created_seq; });
}

void store::for_each_live_task(
    const std::function<void(const core::task_key&, core::task_state, core::sys_time)>& fn) const {
    auto end = static_cast<std::uint32_t>(tasks_.size());
    for (auto s : {core::task_state::pending, core::task_state::running}) {
        for (auto pos = task_states_.next(static_cast<std::size_t>(s), 0, end); pos < end;
             pos = task_states_.next(static_cast<std::size_t>(s), pos + 1, end)) {
            const auto& t = tasks_[pos];
            fn(task_key_of(pos), t.state, detail::from_ns(task_deadline(t)));
        }
    }
}

}  // namespace taskpoller::store
