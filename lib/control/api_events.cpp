// GET /v1/events?since=SEQ: every store change as an NDJSON line, replayed from the change log
// and then live. The producer is a detached coroutine feeding the response's bounded
// line_stream; it stops when the stream ends for any reason (finished, slow reader, shutdown,
// client gone), which the stream's on_end callback signals by cancelling a timer.
// GCC 12 reports a false -Wmismatched-new-delete when it inlines an Asio awaitable frame into a
// route lambda (the frame's operator new/delete pair is Asio's own).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

#include <fmt/format.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <charconv>

#include "control/api_common.hpp"
#include "control/router.hpp"
#include "control/views.hpp"
#include "engine/tracker.hpp"
#include "store/store.hpp"
#include "store/waiters.hpp"

namespace taskpoller::control::detail {

namespace asio = boost::asio;
namespace json = boost::json;
using asio::awaitable;

namespace {

// Replay pushes at most this many lines ahead of the writer before pausing, so a long replay
// does not trip the slow-reader bound of a client that reads at a normal pace.
constexpr std::size_t replay_backlog = 1024;

struct events_feed {
    events_feed(api_context& c, std::shared_ptr<line_stream> s, waiter_slot w,
                asio::any_io_executor ex, std::uint64_t since)
        : ctx(c), out(std::move(s)), slot(std::move(w)), ended(ex), last(since) {
        ended.expires_at(asio::steady_timer::time_point::max());
        ++ctx.events_subscribers;
    }
    ~events_feed() { --ctx.events_subscribers; }

    api_context& ctx;
    std::shared_ptr<line_stream> out;
    waiter_slot slot;
    asio::steady_timer ended;  // cancelled when the stream ends
    std::uint64_t last;        // the newest seq delivered (or skipped as a gap)
};

// Pushes every retained change after f.last; false once the stream has ended.
awaitable<bool> replay(events_feed& f) {
    while (!f.out->ended()) {
        auto page = f.ctx.store.changes_since(f.last, f.ctx.events_batch);
        if (page.gap) {
            const std::uint64_t to =
                page.changes.empty() ? page.last_seq : page.changes.front().seq - 1;
            if (to > f.last) {
                json::object gap{{"type", "gap"}, {"from", f.last + 1}, {"to", to}};
                if (!f.out->push(json::serialize(gap))) co_return false;
                f.last = to;
            }
        }
        if (page.changes.empty()) co_return true;
        for (const auto& c : page.changes) {
            if (!f.out->push(change_line(f.ctx.store, c, &f.ctx.tracker.services())))
                co_return false;
            f.last = c.seq;
        }
        // Let the writer drain before pushing more.
        asio::steady_timer pause(co_await asio::this_coro::executor);
        while (!f.out->ended() && f.out->queued_lines() > replay_backlog) {
            pause.expires_after(std::chrono::milliseconds(5));
            boost::system::error_code ec;
            co_await pause.async_wait(asio::redirect_error(asio::use_awaitable, ec));
        }
    }
    co_return false;
}

awaitable<void> run_feed(std::shared_ptr<events_feed> f) {
    using namespace asio::experimental::awaitable_operators;
    std::weak_ptr<events_feed> weak = f;
    f->out->on_end([weak](line_stream::end_reason) {
        if (auto p = weak.lock()) p->ended.cancel();
    });
    while (co_await replay(*f)) {
        boost::system::error_code ec;
        co_await (store::async_wait_changes(f->ctx.store, f->last, std::chrono::hours(1)) ||
                  f->ended.async_wait(asio::redirect_error(asio::use_awaitable, ec)));
    }
}

expected<std::uint64_t> since_of(const query_params& q, std::uint64_t current) {
    auto text = q.get("since");
    if (!text) return expected<std::uint64_t>(boost::system::in_place_value, current);
    std::uint64_t n = 0;
    auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), n);
    if (ec != std::errc{} || end != text->data() + text->size())
        return bad_request(fmt::format("since must be a non-negative integer, got '{}'", *text));
    if (n > current)
        return bad_request(
            fmt::format("since {} is ahead of the newest change ({}); the daemon may have "
                        "restarted without a journal: list the objects and resume with since={}",
                        n, current, current));
    return expected<std::uint64_t>(boost::system::in_place_value, n);
}

awaitable<response> events(api_context& ctx, request_context& rc) {
    if (auto ok = check_query(rc.query, {"since"}); !ok) co_return response::error(ok.error());
    auto since = since_of(rc.query, ctx.store.seq());
    if (!since) co_return response::error(since.error());
    if (rc.services == nullptr) co_return response::error(internal_error());
    if (rc.services->shutting_down()) co_return response::error(shutting_down());
    auto slot = rc.services->waiters().try_acquire();
    if (!slot)
        co_return response::error(too_many_requests(fmt::format(
            "too many long waiters (limit {}); retry later", rc.services->waiters().max())));
    auto stream = rc.services->make_stream();
    auto ex = co_await asio::this_coro::executor;
    auto feed = std::make_shared<events_feed>(ctx, stream, std::move(*slot), ex, *since);
    asio::co_spawn(ex, run_feed(std::move(feed)), asio::detached);
    co_return response::streaming(std::move(stream));
}

}  // namespace

void add_event_routes(router& r, api_context& ctx) {
    r.add("GET", "/v1/events",
          [&ctx](request_context& rc) -> awaitable<response> { return events(ctx, rc); });
}

}  // namespace taskpoller::control::detail
