#include "engine/scheduler.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

namespace taskpoller::engine {
namespace {

// (Bit 0 is free: it said "queued", which record::pos now says.)
constexpr std::uint8_t resign_flag = 2;
constexpr std::uint8_t tracked_flag = 4;  // the slot holds a tracked task
constexpr std::uint8_t stalled_flag = 8;  // due again at the stall interval (account-wide error)
// Bits 4-6: the ladder rung a learned poll starts looking from (the rung after the one last
// scheduled; saturates at 7, past which rungs are found by time alone).
constexpr unsigned rung_shift = 4;
constexpr std::uint8_t rung_mask = 0x70;
constexpr std::size_t max_rung = 7;
constexpr std::size_t arity = 4;  // children per heap node

std::size_t next_rung(std::uint8_t flags) noexcept {
    return (flags & rung_mask) >> rung_shift;
}
void set_next_rung(std::uint8_t& flags, std::size_t rung) noexcept {
    flags =
        static_cast<std::uint8_t>((flags & ~rung_mask) | (std::min(rung, max_rung) << rung_shift));
}

std::int64_t ticks(time_point t) noexcept {
    return t.time_since_epoch().count();
}
std::int64_t ticks(duration d) noexcept {
    return d.count();
}
time_point at(std::int64_t t) noexcept {
    return time_point(duration(t));
}

void bump(std::uint8_t& c) noexcept {
    if (c < std::numeric_limits<std::uint8_t>::max()) ++c;
}

}  // namespace

scheduler::scheduler(scheduler_options o, random_source rng)
    : opt_(std::move(o)), rng_(std::move(rng)) {
    auto& l = opt_.learning.ladder;
    std::erase_if(l, [](double q) { return !(q > 0 && q < 1); });
    std::sort(l.begin(), l.end());
    l.erase(std::unique(l.begin(), l.end()), l.end());
}

// The heap's order: earliest due first, ties by handle (a strict total order: one entry per
// handle, so the pops come out the same whatever the heap's shape).
bool scheduler::before(const heap_entry& a, const heap_entry& b) noexcept {
    const std::int64_t da = a.due(), db = b.due();
    return da != db ? da < db : a.handle < b.handle;
}

void scheduler::place(std::size_t i, const heap_entry& e) {
    heap_[i] = e;
    tasks_[e.handle].pos = static_cast<std::uint32_t>(i);
}

void scheduler::sift_up(std::size_t i) {
    const heap_entry e = heap_[i];
    while (i > 0) {
        const std::size_t parent = (i - 1) / arity;
        if (!before(e, heap_[parent])) break;
        place(i, heap_[parent]);
        i = parent;
    }
    place(i, e);
}

void scheduler::sift_down(std::size_t i) {
    const heap_entry e = heap_[i];
    const std::size_t n = heap_.size();
    for (;;) {
        const std::size_t first = i * arity + 1;
        if (first >= n) break;
        std::size_t best = first;
        const std::size_t end = std::min(first + arity, n);
        for (std::size_t c = first + 1; c < end; ++c)
            if (before(heap_[c], heap_[best])) best = c;
        if (!before(heap_[best], e)) break;
        place(i, heap_[best]);
        i = best;
    }
    place(i, e);
}

void scheduler::unqueue(record& r) {
    const std::size_t i = r.pos;
    r.pos = not_queued;
    const heap_entry last = heap_.back();
    heap_.pop_back();
    if (i == heap_.size()) return;  // it was the last entry
    place(i, last);
    // The moved entry goes up or down, never both.
    if (i > 0 && before(last, heap_[(i - 1) / arity]))
        sift_up(i);
    else
        sift_down(i);
}

scheduler::profile_id scheduler::profile(const action_key& key) {
    if (auto it = profile_index_.find(key); it != profile_index_.end()) return it->second;
    if (profiles_.size() > std::numeric_limits<profile_id>::max())
        throw std::length_error("scheduler: too many (service, action) profiles");
    const auto id = static_cast<profile_id>(profiles_.size());
    profiles_.push_back(
        profile_state{key, duration_histogram(opt_.learning.max_weight), {}, 0, false});
    profile_index_.emplace(key, id);
    return id;
}

scheduler::record* scheduler::find(task_handle h) {
    return h < tasks_.size() && (tasks_[h].flags & tracked_flag) ? &tasks_[h] : nullptr;
}

const scheduler::record* scheduler::find(task_handle h) const {
    return h < tasks_.size() && (tasks_[h].flags & tracked_flag) ? &tasks_[h] : nullptr;
}

void scheduler::reserve(std::size_t n) {
    tasks_.reserve(n);
    heap_.reserve(n);
}

std::optional<scheduler::profile_id> scheduler::profile_of(task_handle h) const {
    const record* r = find(h);
    if (!r) return std::nullopt;
    return r->profile;
}

bool scheduler::contains(task_handle h) const {
    return find(h) != nullptr;
}

poll_policy scheduler::merged(const core::poll_settings& own) const {
    poll_policy p = opt_.poll;
    if (own.initial_delay) p.initial_delay = *own.initial_delay;
    if (own.interval) p.interval = *own.interval;
    if (own.max_interval) p.max_interval = *own.max_interval;
    // An own interval above the configured cap (or an own cap below the configured interval)
    // means that value: the other one follows it.
    if (p.max_interval < p.interval) {
        if (own.max_interval && !own.interval)
            p.interval = p.max_interval;
        else
            p.max_interval = p.interval;
    }
    return p;
}

std::optional<scheduler::policy_id> scheduler::acquire_policy(const core::poll_settings& own) {
    if (own.empty()) return policy_id{0};
    if (auto it = policy_index_.find(own); it != policy_index_.end()) {
        ++policies_[it->second].refs;
        return it->second;
    }
    policy_id id = 0;
    if (!free_policies_.empty()) {
        id = free_policies_.back();
        free_policies_.pop_back();
    } else if (policies_.size() <= std::numeric_limits<policy_id>::max()) {
        id = static_cast<policy_id>(policies_.size());
        policies_.emplace_back();
    } else {
        return std::nullopt;
    }
    policies_[id] = policy_slot{own, merged(own), 1};
    policy_index_.emplace(own, id);
    return id;
}

void scheduler::release_policy(policy_id id) {
    if (id == 0 || id >= policies_.size() || policies_[id].refs == 0) return;
    if (--policies_[id].refs > 0) return;
    policy_index_.erase(policies_[id].own);
    policies_[id] = policy_slot{};
    free_policies_.push_back(id);
}

const poll_policy& scheduler::policy(policy_id id) const {
    return id == 0 || id >= policies_.size() ? opt_.poll : policies_[id].effective;
}

void scheduler::forget(record& r) {
    if (r.pos != not_queued) unqueue(r);
    if (opt_.learning.censored) {
        auto& p = profiles_[r.profile];
        p.hist.remove_running(milliseconds(r.last_running_ms));
        if (r.last_running_ms > 0) ++p.changes;
    }
    release_policy(r.policy);
    r = record{};  // flags 0: not tracked
    --size_;
}

void scheduler::push(task_handle h, record& r, std::int64_t due) {
    r.flags &= static_cast<std::uint8_t>(~stalled_flag);
    heap_entry e;
    e.set_due(std::min(due, r.deadline));
    e.handle = h;
    if (r.pos == not_queued) {  // popped (or new): a new entry
        heap_.push_back(e);
        sift_up(heap_.size() - 1);
        return;
    }
    // Still queued: its one entry moves.
    const std::size_t i = r.pos;
    const bool earlier = before(e, heap_[i]);
    place(i, e);
    if (earlier)
        sift_up(i);
    else
        sift_down(i);
}

const std::vector<duration>* scheduler::ready_ladder(profile_state& p) {
    if (!opt_.learning.enabled || p.hist.weight() < opt_.learning.min_samples) return nullptr;
    // Recomputed once the observations that changed since reach 1/64 of all of them: a stale
    // ladder is then off by at most ~1.6 % of the probability mass, and a pass over the buckets
    // costs O(1) per answer amortised however many tasks are live.
    const double total = p.hist.weight() + static_cast<double>(p.hist.running());
    if (!p.computed || static_cast<double>(p.changes) >= std::max(1.0, total / 64)) {
        p.ladder.clear();
        for (double q : opt_.learning.ladder) p.ladder.push_back(p.hist.quantile(q));
        p.changes = 0;
        p.computed = true;
    }
    return &p.ladder;
}

std::vector<duration> scheduler::learned_ladder(profile_id id) {
    const auto* l = ready_ladder(profiles_.at(id));
    return l ? *l : std::vector<duration>{};
}

std::optional<std::int64_t> scheduler::learned_due(profile_state& p, record& r, std::int64_t now) {
    if (r.policy != 0) return std::nullopt;  // an own schedule: the caller chose the cadence
    const auto* ladder = ready_ladder(p);
    if (!ladder) return std::nullopt;
    const std::int64_t age = std::max<std::int64_t>(0, now - r.submitted);
    const std::int64_t earliest = age + ticks(opt_.learning.min_gap);
    // Each rung once: the ladder moves as it learns, and the rung just polled may since have
    // moved a little past this poll; polling it again would ask the same question twice.
    for (std::size_t i = next_rung(r.flags); i < ladder->size(); ++i) {
        if (ticks((*ladder)[i]) >= earliest) {
            set_next_rung(r.flags, i + 1);
            return r.submitted + ticks((*ladder)[i]);
        }
    }
    set_next_rung(r.flags, ladder->size());
    // Past the last rung: the task is an outlier; poll at a fraction of its age.
    const auto& pol = opt_.poll;
    const auto tail =
        static_cast<std::int64_t>(static_cast<double>(age) * opt_.learning.tail_fraction);
    return now + std::clamp(tail, ticks(pol.interval),
                            std::max(ticks(pol.interval), ticks(pol.max_interval)));
}

std::int64_t scheduler::static_delay(const record& r) const {
    const auto& p = policy(r.policy);
    const backoff_policy b{p.interval, p.multiplier, p.max_interval, p.jitter};
    const std::uint32_t n = r.polls > 0 ? r.polls - 1u : 0u;
    // Full jitter may draw ~0; a poll right after a poll learns nothing, so keep min_gap (and
    // an own schedule never closer than min_own_interval).
    const duration floor =
        std::max(std::min(opt_.learning.min_gap, backoff_ceiling(b, n)), own_floor(r));
    return ticks(std::max(backoff_delay(b, n, rng_), floor));
}

duration scheduler::own_floor(const record& r) const {
    return r.policy == 0 ? duration(0) : opt_.min_own_interval;
}

std::int64_t scheduler::first_due(record& r, std::int64_t now) {
    if (auto d = learned_due(profiles_[r.profile], r, now)) return *d;
    return r.submitted + ticks(policy(r.policy).initial_delay);
}

std::int64_t scheduler::next_poll_due(record& r, std::int64_t now, std::uint32_t share) {
    const auto& p = policy(r.policy);
    const std::size_t rung = next_rung(r.flags);
    if (auto d = learned_due(profiles_[r.profile], r, now)) {
        // A shared call polls before the rung (its gap divided by `share`): the rung is still
        // ahead, and stays the one to aim at.
        if (share > 1) set_next_rung(r.flags, rung);
        return shared_due(*d, now, share, p.interval);
    }
    if (share > 1) {
        // Shared calls already spread the polls: divide the step itself, not a jittered draw
        // (which may be near zero and would then set the pace for every task of the call).
        const backoff_policy b{p.interval, p.multiplier, p.max_interval, p.jitter};
        const std::uint32_t n = r.polls > 0 ? r.polls - 1u : 0u;
        return shared_due(now + ticks(backoff_ceiling(b, n)), now, share, p.interval, own_floor(r));
    }
    return now + static_delay(r);
}

std::int64_t scheduler::shared_due(std::int64_t due, std::int64_t from, std::uint32_t share,
                                   duration interval, duration floor) const {
    if (share <= 1) return due;
    const std::int64_t step = std::max<std::int64_t>(1, ticks(interval));
    const std::int64_t gap =
        std::max<std::int64_t>(0, due - from) / static_cast<std::int64_t>(share);
    // Never closer than `interval`, and rounded to the nearest multiple of it (steady clock):
    // tasks that share calls then come due at the same instants, and one sweep of calls
    // observes them all, instead of calls going out whenever any one of them comes due.
    std::int64_t shared = from + std::max(gap, step);
    shared = (shared + step / 2) / step * step;
    return std::max(shared, from + std::max(step / 2, ticks(floor)));
}

bool scheduler::add(task_handle h, profile_id p, time_point submitted, time_point now,
                    std::optional<time_point> deadline, std::uint32_t share, policy_id pol) {
    if (p >= profiles_.size() || contains(h)) return false;
    if (pol != 0 && (pol >= policies_.size() || policies_[pol].refs == 0)) return false;
    if (h >= tasks_.size()) tasks_.resize(std::size_t{h} + 1);  // geometric growth
    record& stored = tasks_[h];
    stored = record{};
    stored.submitted = ticks(submitted);
    stored.deadline = deadline ? ticks(*deadline) : ticks(submitted + opt_.poll.timeout);
    stored.profile = p;
    stored.policy = pol;
    stored.flags = tracked_flag;
    ++size_;
    if (opt_.learning.censored) profiles_[p].hist.add_running(duration(0));
    const std::int64_t first = first_due(stored, ticks(now));
    if (share > 1) set_next_rung(stored.flags, 0);  // polled before it: see next_poll_due
    // A shared call may bring the first poll forward, but not an own schedule's initial_delay.
    push(h, stored,
         pol != 0
             ? first
             : std::min(first, shared_due(first, stored.submitted, share, policy(pol).interval)));
    return true;
}

void scheduler::set_policy(const poll_policy& poll, const backoff_policy& retry) {
    opt_.poll = poll;
    opt_.retry = retry;
    for (auto& slot : policies_)
        if (slot.refs > 0) slot.effective = merged(slot.own);
}

bool scheduler::remove(task_handle h) {
    record* r = find(h);
    if (!r) return false;
    forget(*r);
    return true;
}

std::optional<time_point> scheduler::next_due() {
    if (heap_.empty()) return std::nullopt;
    return at(heap_.front().due());
}

std::size_t scheduler::pop_due(time_point now, std::size_t max, std::vector<due_task>& out) {
    const std::int64_t t = ticks(now);
    std::size_t n = 0;
    while (n < max) {
        if (heap_.empty() || heap_.front().due() > t) break;
        const task_handle h = heap_.front().handle;
        record& r = tasks_[h];  // queued: tracked
        unqueue(r);
        if (t >= r.deadline) {
            out.push_back({h, due_task::reason::deadline});
            forget(r);
        } else {
            out.push_back({h, due_task::reason::poll});
        }
        ++n;
    }
    return n;
}

bool scheduler::on_running(task_handle h, time_point now, std::uint32_t share) {
    record* r = find(h);
    if (!r) return false;
    bump(r->polls);
    r->retries = r->missing = 0;
    r->flags &= static_cast<std::uint8_t>(~resign_flag);
    const auto age_ms = std::chrono::duration_cast<milliseconds>(now - at(r->submitted)).count();
    seen_running(*r, static_cast<std::uint32_t>(std::clamp<std::int64_t>(
                         age_ms, 0, std::numeric_limits<std::uint32_t>::max())));
    push(h, *r, next_poll_due(*r, ticks(now), share));
    return true;
}

void scheduler::seen_running(record& r, std::uint32_t age_ms) {
    if (opt_.learning.censored) {
        auto& p = profiles_[r.profile];
        if (p.hist.move_running(milliseconds(r.last_running_ms), milliseconds(age_ms))) ++p.changes;
    }
    r.last_running_ms = age_ms;
}

std::optional<time_point> scheduler::last_seen(task_handle h) const {
    const record* r = find(h);
    if (!r) return std::nullopt;
    return at(r->submitted) + milliseconds(r->last_running_ms);
}

bool scheduler::on_retry(task_handle h, time_point now) {
    record* r = find(h);
    if (!r) return false;
    bump(r->retries);
    r->flags &= static_cast<std::uint8_t>(~resign_flag);
    push(h, *r, ticks(now) + ticks(backoff_delay(opt_.retry, r->retries - 1u, rng_)));
    return true;
}

bool scheduler::on_stall(task_handle h, time_point now) {
    record* r = find(h);
    if (!r) return false;
    bump(r->retries);
    r->flags &= static_cast<std::uint8_t>(~resign_flag);
    push(h, *r, ticks(now) + ticks(opt_.retry.max));
    r->flags |= stalled_flag;
    return true;
}

std::size_t scheduler::wake_stalled(time_point now) {
    std::size_t n = 0;
    for (std::size_t h = 0; h < tasks_.size(); ++h) {
        auto& r = tasks_[h];
        if ((r.flags & tracked_flag) == 0 || (r.flags & stalled_flag) == 0) continue;
        push(static_cast<task_handle>(h), r, ticks(now));
        ++n;
    }
    return n;
}

bool scheduler::on_resign_retry(task_handle h, time_point now) {
    record* r = find(h);
    if (!r) return false;
    r->flags |= resign_flag;
    push(h, *r, ticks(now));
    return true;
}

std::uint32_t scheduler::on_missing(task_handle h, time_point now) {
    record* r = find(h);
    if (!r) return 0;
    bump(r->missing);
    bump(r->polls);
    r->retries = 0;
    r->flags &= static_cast<std::uint8_t>(~resign_flag);
    push(h, *r, next_poll_due(*r, ticks(now)));
    return r->missing;
}

std::optional<duration> scheduler::complete(task_handle h, time_point now, bool learn) {
    record* found = find(h);
    if (!found) return std::nullopt;
    const record r = *found;
    forget(*found);
    if (!learn) return std::nullopt;
    // The task finished somewhere between the last "running" answer and now: take the
    // geometric middle of that interval (or half the age if it was never seen running), so
    // the estimate can move below the poll times that observed it.
    const double upper = std::max(0.0, seconds(now - at(r.submitted)));
    const double lower = r.last_running_ms / 1000.0;
    const double est = lower > 0 && lower < upper ? std::sqrt(lower * upper) : upper / 2;
    profile_state& p = profiles_[r.profile];
    p.hist.add(from_seconds(est));
    ++p.changes;
    return from_seconds(est);
}

retry_history scheduler::history(task_handle h) const {
    const record* r = find(h);
    if (!r) return {};
    return {r->missing, (r->flags & resign_flag) != 0};
}

}  // namespace taskpoller::engine
