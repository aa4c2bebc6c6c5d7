#include "engine/poller.hpp"

#include <fmt/format.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <deque>
#include <map>
#include <optional>

#include "engine/api_client.hpp"
#include "engine/poll_state.hpp"
#include "engine/rate_limiter.hpp"
#include "engine/registry.hpp"
#include "qcloud/response.hpp"
#include "store/store.hpp"

namespace taskpoller::engine {
namespace asio = boost::asio;
using detail::call_failure;
using detail::live_task;
using detail::poll_state;

struct poller::impl : std::enable_shared_from_this<impl>, poll_state {
    impl(asio::any_io_executor ex, store::store& st, const registry& reg, api_client& api,
         rate_limiter& limiter, const core::clock& clock, poller_options o, core::logger log)
        : poll_state(st, reg, limiter, clock, std::move(o), std::move(log)),
          executor(ex),
          api(api),
          timer(ex) {}

    asio::any_io_executor executor;
    api_client& api;
    asio::steady_timer timer;
    core::steady_time armed = core::steady_time::max();
    bool started = false;
    bool stopping = false;
    std::size_t inflight = 0;
    std::vector<scheduler::due_task> due;
    std::vector<asio::steady_timer*> token_waits;  // waits stop() must cut short
    // Due task-result tasks whose bucket has no token yet, oldest due first, as (handle, gen).
    // They wait here, not in a coroutine holding an in-flight slot, so one saturated action
    // cannot take every slot and starve the others (head-of-line blocking).
    std::map<rate_limiter::bucket_id, std::deque<std::pair<std::uint32_t, std::uint32_t>>> ready;

    asio::awaitable<void> run();
    void dispatch(core::steady_time now);
    void drain(core::steady_time now);
    std::optional<core::steady_time> next_token(core::steady_time now);
    void wake_if_earlier();
    asio::awaitable<bool> wait_for_token(rate_limiter::bucket_id bucket);
    asio::awaitable<void> poll_task_result(std::uint32_t h, std::uint32_t gen);  // token taken
    asio::awaitable<void> poll_cvm(std::string region, std::vector<std::uint32_t> handles,
                                   std::vector<std::uint32_t> gens);
    void finished_one();
};

asio::awaitable<void> poller::impl::run() {
    auto self = shared_from_this();
    while (!stopping) {
        auto now = clock.steady_now();
        drain(now);
        if (inflight < options.max_inflight) {
            due.clear();
            sched.pop_due(now, options.max_inflight - inflight, due);
            if (!due.empty()) {
                dispatch(now);
                continue;
            }
        }
        std::optional<core::steady_time> next;
        if (inflight < options.max_inflight) {
            next = sched.next_due();
            if (auto token = next_token(now); token && (!next || *token < *next)) next = token;
        }
        armed = next ? *next : core::steady_time::max();
        timer.expires_at(armed);
        boost::system::error_code ec;
        co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
        armed = core::steady_time::max();
    }
}

void poller::impl::wake_if_earlier() {
    if (!started || stopping) return;
    auto next = sched.next_due();
    if (next && *next < armed) timer.cancel();
}

void poller::impl::finished_one() {
    --inflight;
    if (stopping) return;
    // A free slot matters only if the loop is parked because every slot was taken.
    if (inflight + 1 == options.max_inflight) {
        timer.cancel();
    } else {
        wake_if_earlier();
    }
}

void poller::impl::dispatch(core::steady_time now) {
    std::map<std::uint16_t, std::vector<std::uint32_t>> cvm_by_region;
    for (const auto& d : due) {
        live_task* t = find(d.handle);
        if (t == nullptr) continue;
        if (d.why == scheduler::due_task::reason::deadline) {
            expire(d.handle);
            continue;
        }
        if (t->cvm) {
            // Already riding along in a call in flight: its answer reschedules it.
            if (t->polling) continue;
            cvm_by_region[t->region].push_back(d.handle);
            continue;
        }
        ready[t->bucket].emplace_back(d.handle, t->gen);
    }
    drain(now);
    for (auto& [region, handles] : cvm_by_region) {
        for (auto h : handles) tasks[h].polling = true;  // due: never someone else's rider
        for (auto& group : group_cvm(handles)) {
            add_riders(group, region);
            std::vector<std::uint32_t> gens;
            for (auto h : group) {
                tasks[h].polling = true;
                gens.push_back(tasks[h].gen);
            }
            ++inflight;
            asio::co_spawn(executor,
                           poll_cvm(regions.name(region), std::move(group), std::move(gens)),
                           asio::detached);
        }
    }
    (void)now;
}

void poller::impl::drain(core::steady_time now) {
    for (auto it = ready.begin(); it != ready.end();) {
        auto& q = it->second;
        while (!q.empty() && inflight < options.max_inflight) {
            auto [h, gen] = q.front();
            if (!alive(h, gen)) {  // cancelled while waiting
                q.pop_front();
                continue;
            }
            if (limiter.available(it->first, now) == 0) break;
            q.pop_front();
            limiter.acquire(it->first, now);
            ++inflight;
            asio::co_spawn(executor, poll_task_result(h, gen), asio::detached);
        }
        it = q.empty() ? ready.erase(it) : std::next(it);
    }
}

std::optional<core::steady_time> poller::impl::next_token(core::steady_time now) {
    std::optional<core::steady_time> first;
    for (const auto& [bucket, q] : ready) {
        if (q.empty()) continue;
        auto t = std::max(limiter.next_ready(bucket, now), now + std::chrono::milliseconds(1));
        if (!first || t < *first) first = t;
    }
    return first;
}

asio::awaitable<bool> poller::impl::wait_for_token(rate_limiter::bucket_id bucket) {
    // Take the token just before sending: a reservation made far ahead would keep its time
    // even after a 4400 halves the rate (engine/rate_limiter.hpp).
    while (!stopping) {
        auto now = clock.steady_now();
        if (limiter.available(bucket, now) > 0) {
            limiter.acquire(bucket, now);
            co_return true;
        }
        asio::steady_timer wait(executor, limiter.next_ready(bucket, now));
        token_waits.push_back(&wait);
        boost::system::error_code ec;
        co_await wait.async_wait(asio::redirect_error(asio::use_awaitable, ec));
        std::erase(token_waits, &wait);
    }
    co_return false;
}

asio::awaitable<void> poller::impl::poll_task_result(std::uint32_t h, std::uint32_t gen) {
    auto self = shared_from_this();
    const auto* svc = registry_.find_service(services.name(tasks[h].service));
    const std::string id = request_id_of(h);
    // By reference: async_call reads these only until it has signed the request.
    const qcloud::param_view param{svc->result_param, id};
    auto out = co_await api.async_call(svc->name, svc->result_action, regions.name(tasks[h].region),
                                       std::span(&param, 1), false);
    if (!stopping && alive(h, gen)) apply_task_result(h, out, api.mutable_stats());
    finished_one();
}

asio::awaitable<void> poller::impl::poll_cvm(std::string region, std::vector<std::uint32_t> handles,
                                             std::vector<std::uint32_t> gens) {
    auto self = shared_from_this();
    auto ids = pending_instances(handles);
    auto bucket = tasks[handles.front()].bucket;
    const std::string& action = registry_.find_service("cvm")->result_action;
    std::vector<qcloud::instance_state> seen;
    std::optional<call_failure> failure;
    for (std::size_t off = 0; off < ids.size() && !failure; off += options.cvm_batch) {
        if (!co_await wait_for_token(bucket)) break;
        qcloud::param_list params;
        std::size_t end = std::min(ids.size(), off + options.cvm_batch);
        for (std::size_t i = off; i < end; ++i) {
            params.push_back({fmt::format("instanceIds.{}", i - off), ids[i]});
        }
        params.push_back({"offset", "0"});
        params.push_back({"limit", std::to_string(end - off)});
        auto out = co_await api.async_call("cvm", action, region, params, false);
        if (stopping) break;
        failure = read_instances(out, seen, api.mutable_stats(), action);
    }
    if (!stopping) {
        for (std::size_t i = 0; i < handles.size(); ++i) {
            if (!alive(handles[i], gens[i])) continue;
            tasks[handles[i]].polling = false;
            // Riders get the failure too: one of them may have come due (and been skipped)
            // meanwhile, and only an answer gives it a due time again.
            if (failure) {
                apply_failure(handles[i], *failure);
            } else {
                apply_cvm(handles[i], seen);
            }
        }
    }
    finished_one();
}

poller::poller(asio::any_io_executor ex, store::store& st, const registry& reg, api_client& api,
               rate_limiter& limiter, const core::clock& clock, poller_options options,
               core::logger log)
    : impl_(std::make_shared<impl>(ex, st, reg, api, limiter, clock, std::move(options),
                                   std::move(log))) {}

poller::~poller() {
    stop();
}

core::result<void> poller::track(const track_request& r) {
    auto res = impl_->add(r);
    if (res) impl_->wake_if_earlier();
    return res;
}

bool poller::untrack(const core::task_key& key) {
    return impl_->remove_key(key);
}
bool poller::is_tracked(const core::task_key& key) const {
    return impl_->handle_of(key).has_value();
}

void poller::start() {
    if (impl_->started) return;
    impl_->started = true;
    asio::co_spawn(impl_->executor, impl_->run(), asio::detached);
}

void poller::stop() {
    if (impl_->stopping) return;
    impl_->stopping = true;
    impl_->timer.cancel();
    for (auto* t : impl_->token_waits) t->cancel();
}

std::size_t poller::tracked() const noexcept {
    return impl_->sched.size();
}
std::size_t poller::inflight() const noexcept {
    return impl_->inflight;
}
const scheduler& poller::schedule() const noexcept {
    return impl_->sched;
}

}  // namespace taskpoller::engine
