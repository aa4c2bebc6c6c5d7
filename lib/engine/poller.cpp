#include "engine/poller.hpp"

// GCC 12 reports a false -Wmismatched-new-delete for coroutine frames whose promise type has a
// sized operator delete (Asio's awaitable); see GCC bug 109224.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

#include <fmt/format.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "engine/cloud.hpp"
#include "engine/dispatcher.hpp"
#include "engine/poll_state.hpp"
#include "engine/rate_limiter.hpp"
#include "engine/registry.hpp"
#include "store/store.hpp"

namespace taskpoller::engine {
namespace asio = boost::asio;
using detail::dispatcher;
using detail::poll_call;
using detail::poll_state;
using detail::task_write;

struct poller::impl : std::enable_shared_from_this<impl> {
    impl(asio::any_io_executor ex, store::store& st, const registry& reg, cloud& api,
         rate_limiter& limiter, const core::clock& clock, poller_options o, core::logger log,
         core::fault_handler fault)
        : executor(ex),
          store(st),
          registry_(reg),
          api(api),
          clock(clock),
          log(log),
          on_fault(std::move(fault)),
          state(reg, limiter, clock, std::move(o), log),
          dispatch(state),
          timer(ex) {}

    asio::any_io_executor executor;
    store::store& store;
    const registry& registry_;
    cloud& api;
    const core::clock& clock;
    core::logger log;
    core::fault_handler on_fault;
    poll_state state;
    dispatcher dispatch;
    asio::steady_timer timer;
    core::steady_time armed = core::steady_time::max();
    bool started = false;
    bool stopping = false;
    std::uint64_t internal_errors = 0;
    std::function<void()> on_idle;
    std::vector<asio::steady_timer*> token_waits;  // waits stop() must cut short
    std::vector<poll_call> calls;                  // reused by every loop turn
    std::vector<task_write> writes;

    asio::awaitable<void> run();
    void start_call(poll_call c);
    asio::awaitable<void> poll_task(poll_call c);
    asio::awaitable<void> poll_instances(poll_call c);
    asio::awaitable<bool> wait_for_token(rate_limiter::bucket_id bucket);
    void call_failed(const poll_call& c, const std::exception_ptr& e);
    call_failure service_gone(const poll_call& c) const;
    void call_ended();
    void write(const task_write& w);
    void write_unguarded(const task_write& w);
    void wake_if_earlier();
};

asio::awaitable<void> poller::impl::run() {
    auto self = shared_from_this();
    while (!stopping) {
        auto now = clock.steady_now();
        calls.clear();
        writes.clear();
        dispatch.step(now, calls, writes);
        for (const auto& w : writes) write(w);
        for (auto& c : calls) start_call(std::move(c));
        armed = dispatch.next_wake(now).value_or(core::steady_time::max());
        timer.expires_at(armed);
        boost::system::error_code ec;
        co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
        armed = core::steady_time::max();
    }
}

void poller::impl::write(const task_write& w) {
    // poll_state has already moved the task on (a terminal one is no longer tracked): a write
    // that throws would leave the store saying `running` with nothing polling it. Not safe to
    // carry on: end the daemon (the journal replays and polling resumes).
    try {
        write_unguarded(w);
    } catch (...) {
        core::fatal_on_exception(log, "recording a poll result for " + core::format_task_key(w.key),
                                 on_fault)(std::current_exception());
    }
}

void poller::impl::write_unguarded(const task_write& w) {
    store::task_update u = w.update;
    if (w.what == task_write::kind::timed_out) {
        auto previous = store.get_task(w.key);
        u.last_error = fmt::format(
            "deadline passed after {} polls{}", previous ? previous->polls : 0,
            previous && !previous->last_error.empty() ? "; last error: " + previous->last_error
                                                      : std::string());
    }
    auto r = store.update_task(w.key, u);
    if (r) return;
    if (w.what == task_write::kind::running || w.what == task_write::kind::error) {
        log.debug("poll result dropped: {}", r.error().message);
    } else {
        log.warn("{}: could not record {}: {}", core::format_task_key(w.key),
                 u.state ? core::to_string(*u.state) : "the result", r.error().message);
    }
}

void poller::impl::start_call(poll_call c) {
    // The call's own exceptions are handled inside it (call_failed); what escapes that handling
    // is a fault of the poller itself.
    auto body = c.instances ? poll_instances(std::move(c)) : poll_task(std::move(c));
    asio::co_spawn(executor, std::move(body),
                   core::fatal_on_exception(log, "a poll call's fault handling", on_fault));
}

void poller::impl::wake_if_earlier() {
    if (!started || stopping) return;
    auto next = dispatch.next_wake(clock.steady_now());
    if (next && *next < armed) timer.cancel();
}

void poller::impl::call_ended() {
    bool was_full = dispatch.finished();
    if (stopping) {
        if (dispatch.inflight() == 0 && on_idle) std::exchange(on_idle, {})();
        return;
    }
    // A free slot matters only if the loop is parked because every slot was taken.
    if (was_full) {
        timer.cancel();
    } else {
        wake_if_earlier();
    }
}

call_failure poller::impl::service_gone(const poll_call& c) const {
    // Like an account-wide error: the task stalls until the service is configured again or its
    // deadline passes.
    return call_failure{call_failure::kind::api,
                        failure_class::account,
                        {},
                        "service " + state.service_name(c.service) +
                            " is no longer configured (configuration reload)"};
}

void poller::impl::call_failed(const poll_call& c, const std::exception_ptr& e) {
    ++internal_errors;
    std::string why = core::describe(e);
    log.critical("internal error in a poll of {} task(s) (first {}): {}; polling them again later",
                 c.handles.size(),
                 state.alive(c.handles.front(), c.gens.front())
                     ? core::format_task_key(state.key_of(c.handles.front()))
                     : std::string("gone"),
                 why);
    if (stopping) return;
    const call_failure f{
        call_failure::kind::transport, failure_class::transient, {}, "internal error: " + why};
    for (std::size_t i = 0; i < c.handles.size(); ++i) {
        if (!state.alive(c.handles[i], c.gens[i])) continue;
        state.set_polling(c.handles[i], false);
        write(state.apply_failure(c.handles[i], f));
    }
}

asio::awaitable<bool> poller::impl::wait_for_token(rate_limiter::bucket_id bucket) {
    // Take the token just before sending: a reservation made far ahead would keep its time
    // even after a throttled answer halves the rate (engine/rate_limiter.hpp).
    auto& limiter = state.limiter();
    while (!stopping) {
        auto now = clock.steady_now();
        if (limiter.available(bucket, now) > 0) {
            limiter.acquire(bucket, now);
            co_return true;
        }
        asio::steady_timer wait(executor, limiter.next_ready(bucket, now));
        token_waits.push_back(&wait);
        core::scope_exit forget([&] { std::erase(token_waits, &wait); });
        boost::system::error_code ec;
        co_await wait.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
    co_return false;
}

asio::awaitable<void> poller::impl::poll_task(poll_call c) {  // its token is taken
    auto self = shared_from_this();
    core::scope_exit slot([this] { call_ended(); });
    try {
        const std::uint32_t h = c.handles.front();
        // Started after a post: the task may have been cancelled since it was dispatched.
        if (!state.alive(h, c.gens.front())) co_return;
        const auto* svc = registry_.find_service(state.service_name(c.service));
        if (svc == nullptr) {  // a reload removed the service
            write(state.apply_failure(h, service_gone(c)));
            co_return;
        }
        const std::string id(state.request_id_of(h));
        auto answer = co_await api.async_poll_task(*svc, state.region_name(c.region), id);
        if (!stopping && state.alive(h, c.gens.front())) write(state.apply(h, answer));
    } catch (...) {
        call_failed(c, std::current_exception());
    }
}

asio::awaitable<void> poller::impl::poll_instances(poll_call c) {
    auto self = shared_from_this();
    core::scope_exit slot([this] { call_ended(); });
    try {
        // Started after a post: tasks cancelled since they were dispatched are left out.
        std::vector<std::uint32_t> live;
        for (std::size_t i = 0; i < c.handles.size(); ++i) {
            if (state.alive(c.handles[i], c.gens[i])) live.push_back(c.handles[i]);
        }
        if (live.empty()) co_return;
        auto ids = state.pending_instances(live);
        const std::string region = state.region_name(c.region);
        const std::size_t chunk = std::min(state.options().cvm_batch, api.max_instances_per_call());
        std::vector<instance_observation> seen;
        std::optional<call_failure> failure;
        std::optional<core::steady_time> sent;  // the first describe's: its reads are no older
        for (std::size_t off = 0; off < ids.size() && !failure; off += chunk) {
            if (!co_await wait_for_token(c.bucket)) break;
            // Looked up after every suspension: a reload replaces the registry's profiles.
            const auto* svc = registry_.find_service(state.service_name(c.service));
            if (svc == nullptr) {
                failure = service_gone(c);
                break;
            }
            std::size_t end = std::min(ids.size(), off + chunk);
            if (!sent) sent = clock.steady_now();
            auto answer = co_await api.async_poll_instances(
                *svc, region, std::span<const std::string>(ids).subspan(off, end - off));
            if (stopping) break;
            failure = std::move(answer.failure);
            seen.insert(seen.end(), std::make_move_iterator(answer.instances.begin()),
                        std::make_move_iterator(answer.instances.end()));
        }
        if (stopping) co_return;
        for (std::size_t i = 0; i < c.handles.size(); ++i) {
            const auto h = c.handles[i];
            if (!state.alive(h, c.gens[i])) continue;
            state.set_polling(h, false);
            // Riders get the failure too: one of them may have come due (and been skipped)
            // meanwhile, and only an answer gives it a due time again.
            write(failure ? state.apply_failure(h, *failure)
                          : state.apply_instances(h, seen, sent));
        }
    } catch (...) {
        call_failed(c, std::current_exception());
    }
}

poller::poller(asio::any_io_executor ex, store::store& st, const registry& reg, cloud& api,
               rate_limiter& limiter, const core::clock& clock, poller_options options,
               core::logger log, core::fault_handler on_fault)
    : impl_(std::make_shared<impl>(ex, st, reg, api, limiter, clock, std::move(options),
                                   std::move(log), std::move(on_fault))) {}

poller::~poller() {
    stop();
}

core::result<void> poller::track(const track_request& r) {
    auto res = impl_->state.add(r);
    if (res) impl_->wake_if_earlier();
    return res;
}

void poller::reserve(std::size_t n) {
    impl_->state.reserve(n);
}

bool poller::untrack(const core::task_key& key) {
    return impl_->state.remove_key(key);
}
std::size_t poller::wake_stalled() {
    auto n = impl_->state.schedule().wake_stalled(impl_->clock.steady_now());
    if (n > 0) impl_->wake_if_earlier();
    return n;
}

bool poller::is_tracked(const core::task_key& key) const {
    return impl_->state.handle_of(key).has_value();
}

void poller::start() {
    if (impl_->started) return;
    impl_->started = true;
    asio::co_spawn(impl_->executor, impl_->run(),
                   core::fatal_on_exception(impl_->log, "the poll loop", impl_->on_fault));
}

void poller::stop() {
    if (impl_->stopping) return;
    impl_->stopping = true;
    impl_->timer.cancel();
    for (auto* t : impl_->token_waits) t->cancel();
    // An idle callback set before stop(): nothing in flight means idle now.
    if (impl_->dispatch.inflight() == 0 && impl_->on_idle) std::exchange(impl_->on_idle, {})();
}

void poller::set_options(const poller_options& o) {
    impl_->state.set_options(o);
}

void poller::set_idle_callback(std::function<void()> f) {
    if (impl_->stopping && impl_->dispatch.inflight() == 0) {
        if (f) f();
        return;
    }
    impl_->on_idle = std::move(f);
}

std::size_t poller::tracked() const noexcept {
    return impl_->state.schedule().size();
}
std::size_t poller::inflight() const noexcept {
    return impl_->dispatch.inflight();
}
std::uint64_t poller::internal_errors() const noexcept {
    return impl_->internal_errors;
}
const scheduler& poller::schedule() const noexcept {
    return impl_->state.schedule();
}
poller::policy_reservation poller::reserve_policy(const core::poll_settings& own) {
    auto id = impl_->state.schedule().acquire_policy(own);
    if (!id) return {};
    return {impl_, *id};
}

poller::policy_reservation::~policy_reservation() {
    if (owner_) owner_->state.schedule().release_policy(id_);
}

std::optional<duration> poller::learned_completion(const core::task_key& key, double q) const {
    return impl_->state.learned_completion(key, q);
}

}  // namespace taskpoller::engine
