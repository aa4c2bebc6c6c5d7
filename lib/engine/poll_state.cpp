#include "engine/poll_state.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <random>
#include <unordered_set>

#include "engine/registry.hpp"
#include "store/store.hpp"

namespace taskpoller::engine::detail {
namespace {

random_source seeded_rng() {
    auto engine = std::make_shared<std::mt19937_64>(std::random_device{}());
    return [engine] { return std::uniform_real_distribution<double>(0.0, 1.0)(*engine); };
}

call_failure failure_of(const qcloud::response_error& e) {
    bool api = e.what == qcloud::response_error::kind::api;
    return call_failure{api ? poll_failure::kind::api : poll_failure::kind::malformed, e.code,
                        e.code_desc,
                        api ? fmt::format("code {}: {}", e.code, e.message)
                            : fmt::format("malformed response: {}", e.message)};
}

const char* outcome_label(const call_failure& f) {
    if (f.what == poll_failure::kind::malformed) return "malformed";
    return f.code == 4400 ? "throttled" : "api_error";
}

}  // namespace

std::uint16_t name_table::intern(std::string_view name) {
    for (std::size_t i = 0; i < names_.size(); ++i) {
        if (names_[i] == name) return static_cast<std::uint16_t>(i);
    }
    names_.emplace_back(name);
    return static_cast<std::uint16_t>(names_.size() - 1);
}

poll_state::poll_state(store::store& st, const registry& reg, rate_limiter& lim,
                       const core::clock& clk, poller_options o, core::logger lg)
    : store_(st),
      registry_(reg),
      limiter(lim),
      clock(clk),
      options(std::move(o)),
      log(std::move(lg)),
      sched(options.schedule, seeded_rng()) {}

rate_limiter::bucket_id poll_state::poll_bucket(const std::string& service,
                                                const std::string& action) {
    std::size_t before = limiter.size();
    auto now = clock.steady_now();
    auto id = limiter.bucket({service, action}, now);
    if (limiter.size() != before) {
        limiter.configure({service, action},
                          registry_.rate_limit(service, action, options.default_rate), now);
    }
    return id;
}

core::result<void> poll_state::add(const track_request& r) {
    const service_profile* svc = registry_.find_service(r.key.service);
    if (svc == nullptr) return core::error{"unknown service " + r.key.service};
    std::string key = core::format_task_key(r.key);
    if (index_.contains(key)) {
        return core::error{key + " is already tracked", core::error_kind::conflict};
    }
    std::unique_ptr<cvm_task_state> cvm;
    if (svc->resolver == resolver_kind::instance_state) {
        auto action = registry_.find_action(svc->name, r.action);
        if (!action) return action.error();
        if (!(*action)->cvm) return core::error{r.action + " has no instance-state rule"};
        if (r.resources.empty())
            return core::error{key + ": an instance-state task needs instance ids"};
        cvm = std::make_unique<cvm_task_state>(*(*action)->cvm, r.resources, r.submitted,
                                               options.cvm);
    }
    std::uint32_t h;
    if (!free_.empty()) {
        h = free_.back();
        free_.pop_back();
    } else {
        h = static_cast<std::uint32_t>(tasks.size());
        tasks.emplace_back();
    }
    auto [it, inserted] = index_.emplace(std::move(key), h);
    live_task& t = tasks[h];
    t.key = &it->first;
    ++t.gen;
    t.service = services.intern(svc->name);
    t.region = regions.intern(r.region);
    t.profile = sched.profile({svc->name, r.action.empty() ? "(adopted)" : r.action});
    t.bucket = poll_bucket(svc->name, svc->result_action);
    t.cvm = std::move(cvm);
    t.polling = false;
    if (t.cvm) {
        cvm_live_.insert(h);
        if (cvm_live_by_region_.size() <= t.region) cvm_live_by_region_.resize(t.region + 1u, 0);
        ++cvm_live_by_region_[t.region];
    }
    sched.add(h, t.profile, r.submitted, clock.steady_now(), r.deadline, share_of(h));
    return {};
}

std::optional<std::uint32_t> poll_state::handle_of(const core::task_key& key) const {
    auto it = index_.find(core::format_task_key(key));
    if (it == index_.end()) return std::nullopt;
    return it->second;
}

bool poll_state::remove_key(const core::task_key& key) {
    auto h = handle_of(key);
    if (!h) return false;
    sched.remove(*h);
    release(*h);
    return true;
}

live_task* poll_state::find(std::uint32_t h) {
    return h < tasks.size() && tasks[h].key != nullptr ? &tasks[h] : nullptr;
}

bool poll_state::alive(std::uint32_t h, std::uint32_t gen) const {
    return h < tasks.size() && tasks[h].key != nullptr && tasks[h].gen == gen;
}

core::task_key poll_state::key_of(std::uint32_t h) const {
    const std::string& k = *tasks[h].key;
    auto slash = k.find('/');
    return core::task_key{k.substr(0, slash), k.substr(slash + 1)};
}

std::string poll_state::request_id_of(std::uint32_t h) const {
    return key_of(h).request_id;
}

void poll_state::release(std::uint32_t h) {
    live_task& t = tasks[h];
    if (t.key == nullptr) return;
    index_.erase(*t.key);
    t.key = nullptr;
    if (t.cvm) --cvm_live_by_region_[t.region];
    t.cvm.reset();
    t.polling = false;
    cvm_live_.erase(h);
    free_.push_back(h);
}

void poll_state::mark_running(std::uint32_t h, std::string status) {
    store::task_update u;
    u.state = core::task_state::running;
    u.last_status = std::move(status);
    u.last_error = std::string();
    u.count_poll = true;
    if (auto r = store_.update_task(key_of(h), u); !r)
        log.debug("poll result dropped: {}", r.error().message);
    sched.on_running(h, clock.steady_now(), share_of(h));
}

std::uint32_t poll_state::share_of(std::uint32_t h) const {
    const live_task& t = tasks[h];
    if (!t.cvm || t.region >= cvm_live_by_region_.size()) return 1;
    return static_cast<std::uint32_t>(std::clamp<std::size_t>(
        std::min<std::size_t>(cvm_live_by_region_[t.region], options.cvm_batch), 1,
        options.cvm_batch));
}

void poll_state::note_error(std::uint32_t h, const std::string& message) {
    store::task_update u;
    u.last_error = message;
    u.count_poll = true;
    if (auto r = store_.update_task(key_of(h), u); !r)
        log.debug("poll error dropped: {}", r.error().message);
}

void poll_state::finish(std::uint32_t h, core::task_state s, std::string status,
                        std::string error) {
    store::task_update u;
    u.state = s;
    if (!status.empty()) u.last_status = std::move(status);
    if (!error.empty()) u.last_error = std::move(error);
    u.count_poll = true;
    auto key = key_of(h);
    if (auto r = store_.update_task(key, u); !r) {
        log.warn("{}: could not record {}: {}", *tasks[h].key, core::to_string(s),
                 r.error().message);
    }
    bool learn = s == core::task_state::succeeded || s == core::task_state::failed;
    sched.complete(h, clock.steady_now(), learn);
    release(h);
}

void poll_state::expire(std::uint32_t h) {
    store::task_update u;
    u.state = core::task_state::timed_out;
    auto previous = store_.get_task(key_of(h));
    u.last_error = fmt::format("deadline passed after {} polls{}", previous ? previous->polls : 0,
                               previous && !previous->last_error.empty()
                                   ? "; last error: " + previous->last_error
                                   : std::string());
    if (auto r = store_.update_task(key_of(h), u); !r)
        log.warn("timeout dropped: {}", r.error().message);
    release(h);
}

void poll_state::apply_task_result(std::uint32_t h, const call_outcome& out, api_stats& stats) {
    const std::string& service = services.name(tasks[h].service);
    const std::string& action = registry_.find_service(service)->result_action;
    if (out.what != call_outcome::kind::answered) {
        apply_failure(h, call_failure{poll_failure::kind::transport, 0, {}, out.error});
        return;
    }
    auto r = qcloud::parse_task_result(out.body);
    if (!r) {
        auto f = failure_of(r.error());
        stats.count(service, action, outcome_label(f));
        apply_failure(h, f);
        return;
    }
    stats.count(service, action, "ok");
    switch (*r) {
        case qcloud::task_status::running:
            mark_running(h, "running");
            break;
        case qcloud::task_status::succeeded:
            finish(h, core::task_state::succeeded, "succeeded", {});
            break;
        case qcloud::task_status::failed:
            finish(h, core::task_state::failed, "failed",
                   "the cloud reports the task failed (status 1)");
            break;
    }
}

std::optional<call_failure> poll_state::read_instances(const call_outcome& out,
                                                       std::vector<qcloud::instance_state>& seen,
                                                       api_stats& stats,
                                                       const std::string& action) {
    if (out.what != call_outcome::kind::answered) {
        return call_failure{poll_failure::kind::transport, 0, {}, out.error};
    }
    auto r = qcloud::parse_describe_instances(out.body);
    if (!r) {
        auto f = failure_of(r.error());
        stats.count("cvm", action, outcome_label(f));
        return f;
    }
    stats.count("cvm", action, "ok");
    seen.insert(seen.end(), r->instances.begin(), r->instances.end());
    return std::nullopt;
}

void poll_state::apply_failure(std::uint32_t h, const call_failure& f) {
    auto now = clock.steady_now();
    poll_failure pf{f.what, f.code, f.code_desc};
    switch (decide(pf, sched.history(h), options.retry)) {
        case retry_action::retry:
            sched.on_retry(h, now);
            break;
        case retry_action::retry_throttled:
            limiter.on_throttled(tasks[h].bucket, now);
            sched.on_retry(h, now);
            break;
        case retry_action::retry_resigned:
            sched.on_resign_retry(h, now);
            break;
        case retry_action::count_missing:
            sched.on_missing(h, now);
            break;
        case retry_action::stall:
            sched.on_stall(h, now);
            break;
        case retry_action::not_found:
            finish(h, core::task_state::not_found, {},
                   "the cloud does not know this task: " + f.message);
            return;
        case retry_action::fail:
            finish(h, core::task_state::failed, {}, f.message);
            return;
    }
    note_error(h, f.message);
}

void poll_state::apply_cvm(std::uint32_t h, std::span<const qcloud::instance_state> seen) {
    cvm_task_state& cvm = *tasks[h].cvm;
    auto v = cvm.observe(seen, clock.steady_now());
    switch (v) {
        case verdict::running:
            mark_running(h, cvm.last_status());
            break;
        case verdict::succeeded:
            finish(h, core::task_state::succeeded, cvm.last_status(), {});
            break;
        case verdict::failed:
            finish(h, core::task_state::failed, cvm.last_status(), cvm.reason());
            break;
        case verdict::not_found:
            finish(h, core::task_state::not_found, cvm.last_status(), cvm.reason());
            break;
    }
}

std::vector<std::vector<std::uint32_t>> poll_state::group_cvm(
    const std::vector<std::uint32_t>& hs) const {
    std::vector<std::vector<std::uint32_t>> groups;
    std::size_t count = 0;
    for (auto h : hs) {
        std::size_t n = tasks[h].cvm->pending_instances().size();
        if (groups.empty() || (count + n > options.cvm_batch && count > 0)) {
            groups.emplace_back();
            count = 0;
        }
        groups.back().push_back(h);
        count += n;
    }
    return groups;
}

std::size_t poll_state::add_riders(std::vector<std::uint32_t>& group, std::uint16_t region) const {
    std::size_t count = 0;
    for (auto h : group) count += tasks[h].cvm->pending_instances().size();
    if (count >= options.cvm_batch) return 0;
    // Candidates: idle live CVM tasks of the region, the ones seen longest ago first.
    std::vector<std::pair<core::steady_time, std::uint32_t>> idle;
    for (auto h : cvm_live_) {
        const live_task& t = tasks[h];
        if (t.polling || t.region != region) continue;
        idle.emplace_back(sched.last_seen(h).value_or(core::steady_time::min()), h);
    }
    // Each task has at least one pending instance, so at most this many can ride.
    const std::size_t room = std::min(idle.size(), options.cvm_batch - count);
    std::partial_sort(idle.begin(), idle.begin() + static_cast<std::ptrdiff_t>(room), idle.end());
    std::size_t added = 0;
    for (const auto& [seen, h] : idle) {
        if (count >= options.cvm_batch) break;
        std::size_t n = tasks[h].cvm->pending_instances().size();
        if (count + n > options.cvm_batch) continue;
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
        for (auto& id : tasks[h].cvm->pending_instances()) {
            if (seen.insert(id).second) ids.push_back(std::move(id));
        }
    }
    return ids;
}

}  // namespace taskpoller::engine::detail
