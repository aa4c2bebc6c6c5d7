#include "engine/durable.hpp"

// GCC 12 reports a false -Wmismatched-new-delete for coroutine frames whose promise type has a
// sized operator delete (Asio's awaitable); see GCC bug 109224.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <memory>
#include <optional>

#include "store/store.hpp"

namespace taskpoller::engine {
namespace asio = boost::asio;

asio::awaitable<core::result<void>> async_durable(const store::store& s, std::uint64_t seq) {
    struct state {
        explicit state(asio::any_io_executor ex) : wake(std::move(ex)) {}
        std::optional<core::result<void>> answer;
        asio::steady_timer wake;
    };
    // Shared with the callback: it may come after this coroutine was destroyed (shutdown).
    auto st = std::make_shared<state>(co_await asio::this_coro::executor);
    st->wake.expires_at(asio::steady_timer::time_point::max());
    s.when_durable(seq, [st](core::result<void> r) {
        st->answer = std::move(r);
        st->wake.cancel();
    });
    while (!st->answer) {
        boost::system::error_code ec;
        co_await st->wake.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
    co_return std::move(*st->answer);
}

}  // namespace taskpoller::engine
