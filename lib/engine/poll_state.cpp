#include "engine/poll_state.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <functional>
#include <limits>
#include <random>
#include <unordered_set>

#include "core/batch_id.hpp"
#include "engine/registry.hpp"

namespace taskpoller::engine::detail {
namespace {

random_source seeded_rng() {
    auto engine = std::make_shared<std::mt19937_64>(std::random_device{}());
    return [engine] { return std::uniform_real_distribution<double>(0.0, 1.0)(*engine); };
}

// The parts of live_task::id (its layout: poll_state.hpp).
struct id_parts {
    std::string_view request_id;
    std::string_view region;  // region_text only
    std::string_view batch;   // batch_text only
};

id_parts split_id(const live_task& t) {
    std::string_view rest = t.id.view();
    auto take = [&rest] {
        const auto nl = rest.find('\n');
        const auto part = rest.substr(0, nl);
        rest = nl == std::string_view::npos ? std::string_view{} : rest.substr(nl + 1);
        return part;
    };
    id_parts p;
    p.request_id = take();
    if ((t.form & live_task::region_text) != 0) p.region = take();
    if ((t.form & live_task::batch_text) != 0) p.batch = take();
    return p;
}

// The number of a batch id written as core::format_batch_id writes it; nullopt for any other
// text (kept as text: the identity compares batch ids as strings).
std::optional<std::uint64_t> canonical_batch(std::string_view b) {
    const auto v = core::parse_batch_id(b);
    if (!v || core::format_batch_id(*v) != b) return std::nullopt;
    return *v;
}

}  // namespace

std::optional<std::uint16_t> name_table::find(std::string_view name) const {
    auto it = ids_.find(std::string(name));
    if (it == ids_.end()) return std::nullopt;
    return it->second;
}

std::optional<std::uint16_t> name_table::intern(std::string_view name) {
    if (auto id = find(name)) return id;
    if (names_.size() > std::numeric_limits<std::uint16_t>::max()) return std::nullopt;
    auto id = static_cast<std::uint16_t>(names_.size());
    names_.emplace_back(name);
    ids_.emplace(names_.back(), id);
    return id;
}

poll_state::poll_state(const registry& reg, rate_limiter& lim, const core::clock& clk,
                       poller_options o, core::logger lg)
    : registry_(reg),
      limiter_(lim),
      clock_(clk),
      options_(std::move(o)),
      log_(std::move(lg)),
      sched_(options_.schedule, seeded_rng()) {}

void poll_state::set_options(const poller_options& o) {
    options_.schedule.poll = o.schedule.poll;
    options_.schedule.retry = o.schedule.retry;
    options_.retry = o.retry;
    options_.cvm = o.cvm;
    options_.default_rate = o.default_rate;
    options_.token_batch = o.token_batch;
    options_.wake_tick = o.wake_tick;
    sched_.set_policy(o.schedule.poll, o.schedule.retry);
    sched_.set_min_own_interval(o.schedule.min_own_interval);
}

rate_limiter::bucket_id poll_state::poll_bucket(const std::string& service,
                                                const std::string& action) {
    std::size_t before = limiter_.size();
    auto now = clock_.steady_now();
    auto id = limiter_.bucket({service, action}, now);
    if (limiter_.size() != before) {
        limiter_.configure({service, action},
                           registry_.rate_limit(service, action, options_.default_rate), now);
    }
    return id;
}

core::result<void> poll_state::add(const track_request& r) {
    const service_profile* svc = registry_.find_service(r.key.service);
    if (svc == nullptr) return core::error{"unknown service " + r.key.service};
    if (handle_of(r.key)) {
        return core::error{core::format_task_key(r.key) + " is already tracked",
                           core::error_kind::conflict};
    }
    std::optional<cvm_task_state> cvm;
    if (svc->resolver == resolver_kind::instance_state) {
        auto action = registry_.find_action(svc->name, r.action);
        if (!action) return action.error();
        if (!(*action)->cvm) return core::error{r.action + " has no instance-state rule"};
        if (r.resources.empty())
            return core::error{core::format_task_key(r.key) +
                               ": an instance-state task needs instance ids"};
        cvm.emplace(*(*action)->cvm, r.resources, r.submitted, options_.cvm, r.target);
    }
    if (tasks_.size() > handle_index::max_handle && free_.empty())
        return core::error{"too many tracked tasks", core::error_kind::unavailable};
    // Services come from the registry: far fewer than live_task's 15-bit id holds.
    const auto service = services_.intern(svc->name);
    if (!service || *service > live_task::max_service)
        return core::error{"too many services", core::error_kind::unavailable};
    // Regions come from clients (an adopted task names its own).
    const auto region = regions_.intern(r.region);
    if (!region)
        return core::error{"too many regions (65536) among tracked tasks",
                           core::error_kind::unavailable};
    // Last: a refusal after it would have to give the reference back.
    const auto policy = sched_.acquire_policy(r.poll);
    if (!policy)
        return core::error{"too many distinct poll settings in use (65535); use fewer",
                           core::error_kind::unavailable};
    std::uint32_t h;
    if (!free_.empty()) {
        h = free_.back();
        free_.pop_back();
    } else {
        h = static_cast<std::uint32_t>(tasks_.size());
        tasks_.emplace_back();
    }
    live_task& t = tasks_[h];
    ++t.gen;  // odd: live
    t.service = *service & live_task::max_service;
    t.region = *region;
    // The identity (live_task's layout): what does not fit the compact form goes after the
    // requestId.
    std::string id = r.key.request_id;
    t.form = 0;
    if (r.key.region == r.region && !r.region.empty()) {
        t.form |= live_task::region_same;
    } else if (!r.key.region.empty()) {
        t.form |= live_task::region_text;
        id.append(1, '\n').append(r.key.region);
    }
    if (auto b = canonical_batch(r.key.batch_id)) {
        t.form |= live_task::batch_number | (*b & live_task::batch_mask);
    } else if (!r.key.batch_id.empty()) {
        t.form |= live_task::batch_text;
        id.append(1, '\n').append(r.key.batch_id);
    }
    t.id = id;
    index_.insert(key_hash(t.service, r.key.request_id), h,
                  [this](std::uint32_t x) { return hash_of(x); });
    const auto profile = sched_.profile({svc->name, r.action.empty() ? "(adopted)" : r.action});
    if (buckets_.size() <= *service) buckets_.resize(*service + 1u, 0);
    buckets_[*service] = poll_bucket(svc->name, svc->result_action);
    t.instance_state = cvm ? 1 : 0;
    if (cvm) {
        cvm_.insert_or_assign(h, cvm_slot{std::move(*cvm), false});
        if (cvm_live_by_region_.size() <= t.region) cvm_live_by_region_.resize(t.region + 1u, 0);
        ++cvm_live_by_region_[t.region];
    }
    sched_.add(h, profile, r.submitted, clock_.steady_now(), r.deadline, share_of(h), *policy);
    return {};
}

std::uint64_t poll_state::key_hash(std::uint16_t service, std::string_view request_id) noexcept {
    return std::hash<std::string_view>{}(request_id) ^ (std::uint64_t{service} << 48);
}

std::uint64_t poll_state::hash_of(std::uint32_t h) const noexcept {
    return key_hash(tasks_[h].service, split_id(tasks_[h]).request_id);
}

bool poll_state::same_key(std::uint32_t h, std::uint16_t service, const core::task_key& key) const {
    const live_task& t = tasks_[h];
    if (t.service != service) return false;
    const id_parts p = split_id(t);
    if (p.request_id != key.request_id) return false;
    // The key's region.
    if ((t.form & live_task::region_same) != 0) {
        if (regions_.name(t.region) != key.region) return false;
    } else if ((t.form & live_task::region_text) != 0) {
        if (p.region != key.region) return false;
    } else if (!key.region.empty()) {
        return false;
    }
    // The batch id.
    if ((t.form & live_task::batch_number) != 0) {
        const auto b = canonical_batch(key.batch_id);
        return b && *b == (t.form & live_task::batch_mask);
    }
    if ((t.form & live_task::batch_text) != 0) return p.batch == key.batch_id;
    return key.batch_id.empty();
}

std::optional<std::uint32_t> poll_state::handle_of(const core::task_key& key) const {
    const auto service = services_.find(key.service);
    if (!service) return std::nullopt;
    return index_.find(key_hash(*service, key.request_id),
                       [&](std::uint32_t h) { return same_key(h, *service, key); });
}

std::optional<duration> poll_state::learned_completion(const core::task_key& key, double q) const {
    const auto h = handle_of(key);
    if (!h) return std::nullopt;
    const auto profile = sched_.profile_of(*h);
    if (!profile) return std::nullopt;
    const auto& hist = sched_.histogram(*profile);
    if (hist.observations() == 0 || hist.weight() < options_.schedule.learning.min_samples) {
        return std::nullopt;
    }
    return hist.quantile(q);
}

void poll_state::reserve(std::size_t n) {
    sched_.reserve(n);  // its records are indexed by handle, as tasks_
    tasks_.reserve(n);
    index_.reserve(n, [this](std::uint32_t x) { return hash_of(x); });
}

bool poll_state::remove_key(const core::task_key& key) {
    auto h = handle_of(key);
    if (!h) return false;
    sched_.remove(*h);
    release(*h);
    return true;
}

void poll_state::set_polling(std::uint32_t h, bool polling) {
    if (auto it = cvm_.find(h); it != cvm_.end()) it->second.polling = polling;
}

bool poll_state::polling(std::uint32_t h) const {
    const auto it = cvm_.find(h);
    return it != cvm_.end() && it->second.polling;
}

const live_task* poll_state::find(std::uint32_t h) const {
    return h < tasks_.size() && tasks_[h].live() ? &tasks_[h] : nullptr;
}

bool poll_state::alive(std::uint32_t h, std::uint32_t gen) const {
    return h < tasks_.size() && tasks_[h].live() && tasks_[h].gen == gen;
}

core::task_key poll_state::key_of(std::uint32_t h) const {
    const live_task& t = tasks_[h];
    const id_parts p = split_id(t);
    core::task_key k{services_.name(t.service), std::string(p.request_id)};
    if ((t.form & live_task::region_same) != 0) {
        k.region = regions_.name(t.region);
    } else if ((t.form & live_task::region_text) != 0) {
        k.region = p.region;
    }
    if ((t.form & live_task::batch_number) != 0) {
        k.batch_id = core::format_batch_id(t.form & live_task::batch_mask);
    } else if ((t.form & live_task::batch_text) != 0) {
        k.batch_id = p.batch;
    }
    return k;
}

std::string_view poll_state::request_id_of(std::uint32_t h) const {
    return split_id(tasks_[h]).request_id;
}

void poll_state::release(std::uint32_t h) {
    live_task& t = tasks_[h];
    if (!t.live()) return;
    index_.erase(hash_of(h), h);
    ++t.gen;  // even: free
    t.id = std::string_view{};
    t.form = 0;
    if (t.instance_state) {
        --cvm_live_by_region_[t.region];
        cvm_.erase(h);
    }
    t.instance_state = 0;
    free_.push_back(h);
}

task_write poll_state::running(std::uint32_t h, std::string status) {
    task_write w{task_write::kind::running, key_of(h), {}};
    w.update.state = core::task_state::running;
    w.update.last_status = std::move(status);
    w.update.last_error = std::string();
    w.update.count_poll = true;
    sched_.on_running(h, clock_.steady_now(), share_of(h));
    return w;
}

std::uint32_t poll_state::share_of(std::uint32_t h) const {
    const live_task& t = tasks_[h];
    if (!t.instance_state || t.region >= cvm_live_by_region_.size()) return 1;
    return static_cast<std::uint32_t>(std::clamp<std::size_t>(
        std::min<std::size_t>(cvm_live_by_region_[t.region], options_.cvm_batch), 1,
        options_.cvm_batch));
}

task_write poll_state::error(std::uint32_t h, std::string message) {
    task_write w{task_write::kind::error, key_of(h), {}};
    w.update.last_error = std::move(message);
    w.update.count_poll = true;
    return w;
}

task_write poll_state::finish(std::uint32_t h, core::task_state s, std::string status,
                              std::string error) {
    task_write w{task_write::kind::terminal, key_of(h), {}};
    w.update.state = s;
    if (!status.empty()) w.update.last_status = std::move(status);
    if (!error.empty()) w.update.last_error = std::move(error);
    w.update.count_poll = true;
    bool learn = s == core::task_state::succeeded || s == core::task_state::failed;
    sched_.complete(h, clock_.steady_now(), learn);
    release(h);
    return w;
}

task_write poll_state::expire(std::uint32_t h) {
    task_write w{task_write::kind::timed_out, key_of(h), {}};
    w.update.state = core::task_state::timed_out;
    release(h);
    return w;
}

task_write poll_state::apply(std::uint32_t h, const task_poll_answer& a) {
    if (a.failure) return apply_failure(h, *a.failure);
    switch (a.status) {
        case remote_status::running:
            break;
        case remote_status::succeeded:
            return finish(h, core::task_state::succeeded, "succeeded", {});
        case remote_status::failed:
            return finish(h, core::task_state::failed, "failed",
                          "the cloud reports the task failed");
    }
    return running(h, "running");
}

task_write poll_state::apply_failure(std::uint32_t h, const call_failure& f) {
    auto now = clock_.steady_now();
    switch (decide(f, sched_.history(h), options_.retry)) {
        case retry_action::retry:
            sched_.on_retry(h, now);
            break;
        case retry_action::retry_throttled:
            limiter_.on_throttled(bucket_of(tasks_[h].service), now);
            sched_.on_retry(h, now);
            break;
        case retry_action::retry_resigned:
            sched_.on_resign_retry(h, now);
            break;
        case retry_action::count_missing:
            sched_.on_missing(h, now);
            break;
        case retry_action::stall:
            sched_.on_stall(h, now);
            break;
        case retry_action::not_found:
            return finish(h, core::task_state::not_found, {},
                          "the cloud does not know this task: " + f.message);
        case retry_action::fail:
            return finish(h, core::task_state::failed, {}, f.message);
    }
    return error(h, f.message);
}

task_write poll_state::apply_instances(std::uint32_t h, std::span<const instance_observation> seen,
                                       std::optional<core::steady_time> sent) {
    cvm_task_state& cvm = cvm_.at(h).state;
    switch (cvm.observe(seen, sent.value_or(clock_.steady_now()), request_id_of(h))) {
        case verdict::running:
            break;
        case verdict::succeeded:
            return finish(h, core::task_state::succeeded, cvm.last_status(), {});
        case verdict::failed:
            return finish(h, core::task_state::failed, cvm.last_status(), cvm.reason());
        case verdict::not_found:
            return finish(h, core::task_state::not_found, cvm.last_status(), cvm.reason());
    }
    return running(h, cvm.last_status());
}

std::vector<std::vector<std::uint32_t>> poll_state::group_cvm(
    const std::vector<std::uint32_t>& hs) const {
    std::vector<std::vector<std::uint32_t>> groups;
    std::size_t count = 0;
    for (auto h : hs) {
        std::size_t n = cvm_of(h).pending_instances().size();
        if (groups.empty() || (count + n > options_.cvm_batch && count > 0)) {
            groups.emplace_back();
            count = 0;
        }
        groups.back().push_back(h);
        count += n;
    }
    return groups;
}

std::size_t poll_state::add_riders(std::vector<std::uint32_t>& group, std::uint16_t service,
                                   std::uint16_t region) const {
    std::size_t count = 0;
    for (auto h : group) count += cvm_of(h).pending_instances().size();
    if (count >= options_.cvm_batch) return 0;
    // Candidates: idle live tasks of the service and region, the ones seen longest ago first.
    std::vector<std::pair<core::steady_time, std::uint32_t>> idle;
    for (const auto& [h, slot] : cvm_) {
        const live_task& t = tasks_[h];
        if (slot.polling || t.region != region || t.service != service) continue;
        idle.emplace_back(sched_.last_seen(h).value_or(core::steady_time::min()), h);
    }
    // Each task has at least one pending instance, so at most this many can ride.
    const std::size_t room = std::min(idle.size(), options_.cvm_batch - count);
    std::partial_sort(idle.begin(), idle.begin() + static_cast<std::ptrdiff_t>(room), idle.end());
    std::size_t added = 0;
    for (const auto& [seen, h] : idle) {
        if (count >= options_.cvm_batch) break;
        std::size_t n = cvm_of(h).pending_instances().size();
        if (count + n > options_.cvm_batch) continue;
        group.push_back(h);
        count += n;
        ++added;
    }
    return added;
}

std::vector<std::string> poll_state::pending_instances(const std::vector<std::uint32_t>& hs) const {
    std::vector<std::string> ids;
    std::unordered_set<std::string> seen;
    for (auto h : hs) {
        for (auto& id : cvm_of(h).pending_instances()) {
            if (seen.insert(id).second) ids.push_back(std::move(id));
        }
    }
    return ids;
}

}  // namespace taskpoller::engine::detail
