// Streamed responses: chunked NDJSON fed by a line_stream. The writer never buffers beyond the
// line_stream's bound; a concurrent read notices a client that hung up while nothing is queued.
#include <array>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http/chunk_encode.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/write.hpp>

#include "control/server_state.hpp"

namespace taskpoller::control::detail {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);
constexpr std::size_t max_chunk = 64 * 1024;

namespace {

asio::awaitable<void> watch_peer(std::shared_ptr<connection> c, std::shared_ptr<line_stream> feed) {
    std::array<char, 512> discard{};
    while (!feed->ended()) {
        auto [ec, n] =
            co_await c->stream.socket().async_read_some(asio::buffer(discard), use_tuple);
        if (ec) break;
    }
    feed->end(line_stream::end_reason::client_closed);
}

asio::awaitable<bool> write_chunk(connection& c, std::string_view data) {
    c.stream.expires_after(c.server->opts.write_timeout);
    auto [ec, n] =
        co_await asio::async_write(c.stream, http::make_chunk(asio::buffer(data)), use_tuple);
    co_return !ec;
}

// Whatever ends the writer (normal end, exception, cancellation), the producer learns of it.
struct feed_guard {
    connection& c;
    std::shared_ptr<line_stream> feed;
    ~feed_guard() {
        feed->set_waker({});
        feed->end(line_stream::end_reason::write_failed);
        c.feed.reset();
        boost::system::error_code ec;
        c.stream.socket().cancel(ec);  // stops watch_peer
    }
};

bool wants_final_chunk(line_stream::end_reason r) {
    using enum line_stream::end_reason;
    return r == finished || r == slow_reader || r == shutting_down;
}

}  // namespace

asio::awaitable<void> run_stream(connection& c) {
    auto feed = c.feed;
    feed_guard guard{c, feed};
    c.state = connection::phase::streaming;
    if (c.server->stopping) feed->end(line_stream::end_reason::shutting_down);
    http::response<http::empty_body> res{http::status::ok, 11};
    res.set(http::field::content_type, "application/x-ndjson");
    res.set(http::field::cache_control, "no-cache");
    res.keep_alive(false);
    res.chunked(true);
    http::response_serializer<http::empty_body> sr{res};
    c.stream.expires_after(c.server->opts.write_timeout);
    auto [ec, n] = co_await http::async_write_header(c.stream, sr, use_tuple);
    if (ec) co_return;
    feed->set_waker([&c] { c.wake.cancel(); });
    asio::co_spawn(c.stream.get_executor(), watch_peer(c.shared_from_this(), feed), asio::detached);
    bool ok = true;
    while (ok) {
        while (ok) {
            auto chunk = feed->take(max_chunk);
            if (!chunk) break;
            ok = co_await write_chunk(c, *chunk);
        }
        if (!ok || feed->ended()) break;
        c.wake.expires_at(asio::steady_timer::time_point::max());
        co_await c.wake.async_wait(use_tuple);
    }
    if (!ok) co_return;
    while (auto rest = feed->take(max_chunk))  // lines queued before a finish/shutdown
        if (!co_await write_chunk(c, *rest)) co_return;
    if (!wants_final_chunk(feed->reason())) co_return;
    if (auto last = feed->final_line(); !last.empty())
        if (!co_await write_chunk(c, last)) co_return;
    c.stream.expires_after(c.server->opts.write_timeout);
    co_await asio::async_write(c.stream, http::make_chunk_last(), use_tuple);
}

}  // namespace taskpoller::control::detail
