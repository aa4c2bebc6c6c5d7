#include "store/waiters.hpp"

#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "store/store.hpp"

namespace taskpoller::store {

namespace asio = boost::asio;

namespace {

// `watch(cb)` registers cb with the store and returns result<watch_handle>.
template <class Watch>
asio::awaitable<wait_status> wait_for(Watch watch, wait_duration timeout) {
    asio::steady_timer timer(co_await asio::this_coro::executor);
    timer.expires_after(timeout);
    bool fired = false;
    // Declared after `timer` and `fired`, so it is destroyed (unregistering the callback that
    // refers to them) before they are.
    auto handle = watch([&fired, &timer] {
        fired = true;
        timer.cancel();
    });
    if (!handle) co_return wait_status::not_found;
    if (fired) co_return wait_status::ready;
    boost::system::error_code ec;
    co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (fired) co_return wait_status::ready;
    co_return ec ? wait_status::cancelled : wait_status::timed_out;
}

}  // namespace

std::string_view to_string(wait_status s) noexcept {
    switch (s) {
        case wait_status::ready:
            return "ready";
        case wait_status::timed_out:
            return "timed_out";
        case wait_status::not_found:
            return "not_found";
        case wait_status::cancelled:
            return "cancelled";
    }
    return "invalid";
}

asio::awaitable<wait_status> async_wait_terminal(store& s, core::task_key key,
                                                 wait_duration timeout) {
    co_return co_await wait_for(
        [&](watch_table::callback cb) { return s.watch_task_terminal(key, std::move(cb)); },
        timeout);
}

asio::awaitable<wait_status> async_wait_batch_terminal(store& s, std::string batch_id,
                                                       wait_duration timeout) {
    co_return co_await wait_for(
        [&](watch_table::callback cb) { return s.watch_batch_terminal(batch_id, std::move(cb)); },
        timeout);
}

asio::awaitable<wait_status> async_wait_changes(store& s, std::uint64_t since,
                                                wait_duration timeout) {
    co_return co_await wait_for(
        [&](watch_table::callback cb) {
            return core::result<watch_handle>(s.watch_changes(since, std::move(cb)));
        },
        timeout);
}

}  // namespace taskpoller::store
