// One connection: read a request (bounded in size and time), route it, check access and body,
// run the handler, write the answer; repeat while keep-alive holds.
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

#include "control/server_state.hpp"

namespace taskpoller::control::detail {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using clock_type = std::chrono::steady_clock;
using parser_type = http::request_parser<http::string_body>;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

namespace {

// Registers the connection for shutdown and eviction while it lives; its admission slot
// (counted since accept) is given back at the end.
struct registration {
    connection& c;
    explicit registration(connection& conn) : c(conn) {
        c.server->connections.insert(&c);
        c.server->by_id.emplace(c.id, &c);
        if (c.server->open_connections) c.server->open_connections->inc();
    }
    ~registration() {
        auto& s = *c.server;
        s.connections.erase(&c);
        s.by_id.erase(c.id);
        s.table.remove(c.id);
        if (s.open_connections) s.open_connections->dec();
        s.check_done();
    }
};

bool is_json_media_type(std::string_view ct) {
    ct = ct.substr(0, ct.find(';'));
    while (!ct.empty() && (ct.back() == ' ' || ct.back() == '\t')) ct.remove_suffix(1);
    while (!ct.empty() && (ct.front() == ' ' || ct.front() == '\t')) ct.remove_prefix(1);
    return beast::iequals(ct, "application/json");
}

// The error (or nothing) for a request whose header has been read, before the body is read.
std::optional<response> check_before_body(connection& c, const parser_type& p, request_context& ctx,
                                          const router::match_result& m) {
    auto& s = *c.server;
    // A request that arrives once shutdown has begun is refused rather than started.
    if (s.stopping) return response::error(shutting_down());
    if (m.kind != router::outcome::found) {
        auto r = response::error(m.error);
        if (m.kind == router::outcome::method_not_allowed)
            r.headers.push_back({"Allow", allow_header(m.allowed)});
        return r;
    }
    auto decision = decide_access(s.opts.access, c.peer, m.matched->mutation, s.opts.groups);
    if (decision != access_decision::allow)
        s.log.warn("control: denied {} {} to {}", ctx.method, ctx.path, ctx.peer_text());
    if (decision == access_decision::deny_no_credentials)
        return response::error(forbidden("the peer's credentials could not be read"));
    if (decision == access_decision::deny_not_admin)
        return response::error(
            forbidden(fmt::format("{} {} changes state and needs an admin peer; uid {} is not one",
                                  ctx.method, ctx.path, c.peer ? c.peer->uid : 0)));
    const bool has_body = p.chunked() || p.content_length().value_or(0) > 0;
    if (has_body && !is_json_media_type(ctx.header("Content-Type")))
        return response::error(unsupported_media_type(
            "request bodies must be JSON: send Content-Type: application/json"));
    if (p.content_length() && *p.content_length() > s.opts.body_limit)
        return response::error(
            payload_too_large(fmt::format("the request body exceeds {} bytes", s.opts.body_limit)));
    return std::nullopt;
}

request_context make_context(connection& c, const parser_type& p) {
    const auto& req = p.get();
    request_context ctx;
    ctx.method = std::string(req.method_string());
    auto [path, query] = split_target(req.target());
    ctx.path = std::string(path);
    for (const auto& f : req)
        ctx.headers.push_back({std::string(f.name_string()), std::string(f.value())});
    ctx.peer = c.peer;
    ctx.services = c.server.get();
    ctx.log = c.server->log;
    return ctx;
}

// 400/413/431 for a request the parser refused; nullopt when the peer just went away or was
// too slow (then the connection closes without an answer).
std::optional<response> read_error_response(const beast::error_code& ec, const server_options& o) {
    if (ec == http::error::header_limit)
        return response::error(header_too_large(
            fmt::format("the request line and headers exceed {} bytes", o.header_limit)));
    if (ec == http::error::body_limit)
        return response::error(
            payload_too_large(fmt::format("the request body exceeds {} bytes", o.body_limit)));
    if (ec.category() == beast::http::make_error_code(http::error::bad_method).category() &&
        ec != http::error::end_of_stream && ec != http::error::partial_message)
        return response::error(bad_request("malformed HTTP request: " + ec.message()));
    return std::nullopt;
}

}  // namespace

// Writes `r`; returns whether the connection may serve another request.
asio::awaitable<bool> write_response(connection& c, response& r, bool keep_alive, bool head) {
    if (r.stream) {
        c.feed = std::move(r.stream);
        co_await run_stream(c);
        co_return false;
    }
    http::response<http::string_body> res{static_cast<http::status>(r.status), 11};
    res.set(http::field::content_type, r.content_type);
    for (const auto& h : r.headers) res.set(h.name, h.value);
    res.keep_alive(keep_alive);
    res.body() = std::move(r.body);
    res.prepare_payload();
    c.stream.expires_after(c.server->opts.write_timeout);
    beast::error_code ec;
    if (head) {
        http::response_serializer<http::string_body> sr{res};
        std::tie(ec, std::ignore) = co_await http::async_write_header(c.stream, sr, use_tuple);
    } else {
        std::tie(ec, std::ignore) = co_await http::async_write(c.stream, res, use_tuple);
    }
    c.stream.expires_never();
    co_return !ec && keep_alive;
}

namespace {

// Waits for the first byte of the next request: on a new connection within the header timeout
// (counted from accept), on a keep-alive one within the idle timeout. Sets the deadlines of
// the request that starts.
asio::awaitable<bool> wait_for_request(connection& c) {
    const auto& o = c.server->opts;
    if (c.buffer.size() == 0) {
        if (c.served == 0)
            c.stream.expires_at(c.header_deadline);
        else
            c.stream.expires_after(o.idle_timeout);
        auto [ec, n] = co_await c.stream.async_read_some(c.buffer.prepare(4096), use_tuple);
        c.buffer.commit(n);
        if (ec || n == 0) co_return false;
    }
    const auto now = clock_type::now();
    if (c.served > 0) c.header_deadline = now + o.header_timeout;
    c.request_deadline = now + o.request_timeout;
    co_return true;
}

asio::awaitable<response> call_handler(connection& c, const route& rt, request_context& ctx) {
    try {
        co_return co_await rt.fn(ctx);
    } catch (const std::exception& e) {
        if (c.aborted) throw;
        c.server->log.error("control: {} {} failed: {}", ctx.method, ctx.path, e.what());
    }
    co_return response::error(internal_error());
}

// Reads the body and runs the handler; `early` answers are returned without reading the body.
asio::awaitable<std::pair<response, bool>> handle(connection& c, parser_type& p,
                                                  request_context& ctx) {
    auto& s = *c.server;
    auto [path, query] = split_target(p.get().target());
    auto m = s.routes.match(ctx.method, path);
    if (m.matched) ctx.route = m.matched->pattern;
    if (auto early = check_before_body(c, p, ctx, m))
        co_return std::pair{std::move(*early), p.is_done()};
    auto q = parse_query(query);
    if (!q) co_return std::pair{response::error(q.error()), p.is_done()};
    ctx.query = std::move(*q);
    ctx.params = std::move(m.params);
    ctx.mutation = m.matched->mutation;
    if (beast::iequals(p.get()[http::field::expect], "100-continue") && !p.is_done()) {
        http::response<http::empty_body> cont{http::status::continue_, 11};
        co_await http::async_write(c.stream, cont, asio::use_awaitable);
    }
    c.stream.expires_at(c.request_deadline);
    auto [ec, n] = co_await http::async_read(c.stream, c.buffer, p, use_tuple);
    if (ec) {
        auto r = read_error_response(ec, s.opts);
        if (!r) throw boost::system::system_error(ec);
        co_return std::pair{std::move(*r), false};
    }
    ctx.body = std::move(p.get().body());
    c.stream.expires_never();
    c.state = connection::phase::busy;
    co_return std::pair{co_await call_handler(c, *m.matched, ctx), true};
}

// One request/response exchange; returns whether to keep the connection.
asio::awaitable<bool> serve_one(connection& c) {
    auto& s = *c.server;
    const auto start = clock_type::now();
    parser_type p;
    p.header_limit(static_cast<std::uint32_t>(s.opts.header_limit));
    p.body_limit(s.opts.body_limit);
    c.stream.expires_at(std::min(c.header_deadline, c.request_deadline));
    auto [ec, n] = co_await http::async_read_header(c.stream, c.buffer, p, use_tuple);
    if (ec) {
        auto r = read_error_response(ec, s.opts);
        if (r) {
            s.record("other", "unmatched", r->status, clock_type::now() - start);
            co_await write_response(c, *r, false, false);
        }
        co_return false;
    }
    request_context ctx = make_context(c, p);
    auto [res, may_continue] = co_await handle(c, p, ctx);
    const bool head = ctx.method == "HEAD";
    const unsigned status = res.status;
    const bool keep = may_continue && p.get().keep_alive() && !s.stopping;
    const bool streamed = res.stream != nullptr;
    // Recorded before writing, so a client that has its answer also sees it counted.
    s.record(ctx.method, ctx.route.empty() ? "unmatched" : ctx.route, status,
             clock_type::now() - start);
    if (ctx.mutation)
        s.log.info("control: {} {} -> {} by {}{}", ctx.method, ctx.path, status, ctx.peer_text(),
                   streamed ? " (stream)" : "");
    bool kept = co_await write_response(c, res, keep, head);
    c.state = connection::phase::idle;
    co_return kept;
}

}  // namespace

asio::awaitable<void> run_session(std::shared_ptr<connection> c) {
    registration reg(*c);
    auto& s = *c->server;
    try {
        while (!s.stopping && !c->evicted) {
            c->state = connection::phase::idle;
            // Between two requests a connection may be closed to make room (admission.hpp).
            if (c->served > 0) s.table.set_idle(c->id, clock_type::now());
            const bool arrived = co_await wait_for_request(*c);
            s.table.set_busy(c->id);
            if (!arrived || c->evicted) break;
            c->state = connection::phase::busy;
            const bool keep = co_await serve_one(*c);
            ++c->served;
            if (!keep) break;
        }
    } catch (const std::exception& e) {
        if (!c->aborted) s.log.debug("control: connection {} ended: {}", c->id, e.what());
    }
    beast::error_code ec;
    c->stream.socket().shutdown(asio::socket_base::shutdown_both, ec);
    c->stream.close();
}

asio::awaitable<void> run_reject(std::shared_ptr<connection> c, std::string why) {
    auto& s = *c->server;
    ++s.rejecting;
    parser_type p;
    p.header_limit(static_cast<std::uint32_t>(s.opts.header_limit));
    c->stream.expires_after(std::min(s.opts.header_timeout, std::chrono::milliseconds(2000)));
    auto [ec, n] = co_await http::async_read_header(c->stream, c->buffer, p, use_tuple);
    if (!ec) {
        auto r = response::error(too_many_requests(std::move(why)));
        co_await write_response(*c, r, false, false);
    }
    beast::error_code ignored;
    c->stream.socket().shutdown(asio::socket_base::shutdown_both, ignored);
    c->stream.close();
    --s.rejecting;
}

}  // namespace taskpoller::control::detail
