#include "control/server.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "control/server_state.hpp"

namespace taskpoller::control {

namespace asio = boost::asio;
using local = asio::local::stream_protocol;

namespace detail {

connection::connection(local::socket s, std::shared_ptr<server_state> srv)
    : stream(std::move(s)), server(std::move(srv)), wake(stream.get_executor()) {}

server_state::server_state(asio::io_context& io, router r, server_options o, core::logger l)
    : ioc(io),
      routes(std::move(r)),
      opts(std::move(o)),
      log(std::move(l)),
      acceptor(io),
      shutdown_timer(io, asio::steady_timer::time_point::max()),
      grace_timer(io),
      waiter_count(opts.max_waiters) {}

asio::awaitable<void> server_state::async_wait_shutdown() {
    if (stopping) co_return;
    // Keeps the state alive while waiting, even if the server object goes away.
    auto self = shared_from_this();
    co_await shutdown_timer.async_wait(asio::as_tuple(asio::use_awaitable));
}

asio::awaitable<void> server_state::accept_loop() {
    auto self = shared_from_this();
    asio::steady_timer backoff(ioc);
    while (!stopping) {
        auto [ec, sock] = co_await acceptor.async_accept(asio::as_tuple(asio::use_awaitable));
        if (stopping) break;
        if (ec) {
            // EMFILE/ENFILE and friends: keep the acceptor, wait a little for fds to free up.
            log.warn("control: accept failed: {}", ec.message());
            backoff.expires_after(std::chrono::milliseconds(50));
            co_await backoff.async_wait(asio::as_tuple(asio::use_awaitable));
            continue;
        }
        auto c = std::make_shared<connection>(std::move(sock), self);
        c->id = next_id++;
        if (opts.after_accept) opts.after_accept();
        admit(std::move(c));
    }
    accepting = false;
    check_done();
}

void server_state::spawn_accept_loop() {
    accepting = true;
    asio::co_spawn(ioc, accept_loop(), [self = shared_from_this()](std::exception_ptr e) {
        if (e) self->accept_loop_failed(e);
    });
}

void server_state::accept_loop_failed(const std::exception_ptr& e) {
    accepting = false;
    const std::string why = core::describe(e);
    if (stopping) {
        log.critical("control: the accept loop failed while shutting down: {}", why);
    } else if (accept_budget.allow(std::chrono::steady_clock::now())) {
        // Accepting holds no state: restarting it loses nothing; open sessions go on.
        log.critical("control: the accept loop failed: {}; restarting it", why);
        spawn_accept_loop();
        return;
    } else {
        log.critical("control: the accept loop failed {} times within 10 s, last: {}",
                     accept_budget.max_restarts() + 1, why);
        if (!opts.on_fault) std::terminate();
        opts.on_fault("the control socket's accept loop: " + why);
    }
    check_done();
}

void server_state::admit(std::shared_ptr<connection> c) {
    const auto now = std::chrono::steady_clock::now();
    c->header_deadline = now + opts.header_timeout;
    c->peer = opts.read_peer ? opts.read_peer(c->stream.socket().native_handle()) : std::nullopt;
    const uid_t uid = c->peer ? c->peer->uid : static_cast<uid_t>(-1);
    const bool admin = is_admin_peer(opts.access, c->peer, opts.groups);
    const admission_limits limits{opts.max_connections, opts.max_connections_per_uid,
                                  opts.admin_reserved_connections};
    const auto d = table.decide(uid, admin, limits);
    if (d.verdict == admission_verdict::refuse_total ||
        d.verdict == admission_verdict::refuse_uid) {
        if (rejected_connections) rejected_connections->inc();
        if (rejecting >= opts.max_connections) return;  // flood: just close
        auto why =
            d.verdict == admission_verdict::refuse_uid
                ? fmt::format("too many connections from uid {} (limit {}); retry later", uid,
                              opts.max_connections_per_uid)
                : fmt::format("too many connections (limit {}); retry later", opts.max_connections);
        asio::co_spawn(ioc, run_reject(std::move(c), std::move(why)), asio::detached);
        return;
    }
    if (d.verdict == admission_verdict::admit_after_evicting) evict(d.victim);
    table.add(c->id, uid);
    auto& slot_owner = *c;
    asio::co_spawn(
        ioc, run_session(c),
        asio::bind_cancellation_slot(slot_owner.cancel.slot(), [c](std::exception_ptr) {}));
}

void server_state::evict(std::uint64_t id) {
    table.remove(id);
    auto it = by_id.find(id);
    if (it == by_id.end()) return;
    connection& victim = *it->second;
    victim.evicted = true;
    victim.stream.cancel();  // its wait for the next request ends; the session closes it
    if (evicted_connections) evicted_connections->inc();
    log.debug("control: closed idle connection {} to make room", id);
}

void server_state::begin_shutdown(std::chrono::milliseconds grace) {
    stopping = true;
    boost::system::error_code ec;
    acceptor.close(ec);
    if (created_socket) ::unlink(opts.socket_path.c_str());
    shutdown_timer.cancel();
    for (connection* c : connections) {
        if (c->state == connection::phase::idle) c->stream.cancel();
        if (c->feed) c->feed->end(line_stream::end_reason::shutting_down);
    }
    grace_timer.expires_after(grace);
    grace_timer.async_wait([self = shared_from_this()](boost::system::error_code e) {
        if (!e) self->abort_all();
    });
    check_done();
}

void server_state::abort_all() {
    if (!connections.empty())
        log.warn("control: shutdown grace period over; cancelling {} connection(s)",
                 connections.size());
    // Copy: cancellation may complete sessions synchronously-enough to touch the set later.
    std::vector<connection*> all(connections.begin(), connections.end());
    for (connection* c : all) {
        c->aborted = true;
        c->cancel.emit(asio::cancellation_type::terminal);
        if (c->feed) c->feed->end(line_stream::end_reason::write_failed);
        c->stream.close();
    }
}

void server_state::check_done() {
    if (!stopping || accepting || !connections.empty()) return;
    grace_timer.cancel();
    auto callbacks = std::move(on_done);
    on_done.clear();
    for (auto& f : callbacks)
        if (f) f();
}

}  // namespace detail

server::server(asio::io_context& ioc, router routes, server_options options, core::logger log)
    : state_(std::make_shared<detail::server_state>(ioc, std::move(routes), std::move(options),
                                                    std::move(log))) {
    state_->register_metrics();
}

server::~server() {
    // Sessions hold the state alive; without a graceful shutdown they are closed now.
    if (!state_->stopping) {
        state_->stopping = true;
        boost::system::error_code ec;
        state_->acceptor.close(ec);
        state_->shutdown_timer.cancel();
        state_->abort_all();
    }
}

core::result<void> server::open() {
    auto& s = *state_;
    int fd = s.opts.listen_fd;
    if (fd >= 0) {
        if (auto r = detail::check_listening_unix_fd(fd); !r) return r.error();
    } else {
        auto r =
            detail::open_unix_listener(s.opts.socket_path, s.opts.socket_mode, s.opts.socket_group);
        if (!r) return r.error();
        fd = *r;
        s.created_socket = true;
    }
    boost::system::error_code ec;
    s.acceptor.assign(local(), fd, ec);
    if (ec) {
        ::close(fd);
        return core::error{"control socket: cannot adopt listening socket: " + ec.message()};
    }
    return {};
}

void server::start() {
    auto& s = *state_;
    if (!s.acceptor.is_open() || s.accepting || s.stopping) return;
    s.spawn_accept_loop();
    s.log.info("control: listening on {}",
               s.opts.listen_fd >= 0 ? "an inherited socket" : s.opts.socket_path);
}

void server::shutdown(std::chrono::milliseconds grace, std::function<void()> done) {
    auto& s = *state_;
    if (done) s.on_done.push_back(std::move(done));
    if (s.stopping) {
        s.check_done();
        return;
    }
    s.begin_shutdown(grace);
}

void server::reconfigure(const server_options& o) {
    auto& s = state_->opts;
    s.access = o.access;
    s.max_connections = o.max_connections;
    s.max_connections_per_uid = o.max_connections_per_uid;
    s.admin_reserved_connections = o.admin_reserved_connections;
    s.body_limit = o.body_limit;
    s.header_timeout = o.header_timeout;
    s.request_timeout = o.request_timeout;
}

std::size_t server::connection_count() const noexcept {
    return state_->connections.size();
}
bool server::shutting_down() const noexcept {
    return state_->stopping;
}

}  // namespace taskpoller::control
