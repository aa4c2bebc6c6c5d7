#include "http/pool.hpp"

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "core/scope_exit.hpp"

namespace taskpoller::http::detail {
namespace asio = boost::asio;

using core::scope_exit;

// A request parked until a connection of its origin is freed. The timer doubles as the wake-up
// signal: expiry means the deadline passed, cancellation with `notified` set means "try again".
struct pool::waiter {
    explicit waiter(const asio::any_io_executor& ex) : timer(ex) {}
    asio::steady_timer timer;
    bool notified = false;
};

lease::lease(pool* owner, std::unique_ptr<connection> conn, bool reused) noexcept
    : owner_(owner), conn_(std::move(conn)), reused_(reused) {}

lease::lease(lease&& other) noexcept
    : owner_(std::exchange(other.owner_, nullptr)),
      conn_(std::move(other.conn_)),
      reused_(other.reused_) {}

lease& lease::operator=(lease&& other) noexcept {
    if (this != &other) {
        reset(false);
        owner_ = std::exchange(other.owner_, nullptr);
        conn_ = std::move(other.conn_);
        reused_ = other.reused_;
    }
    return *this;
}

lease::~lease() {
    reset(false);
}

void lease::keep() noexcept {
    reset(true);
}

void lease::reset(bool keep_alive) noexcept {
    if (owner_ && conn_) owner_->give_back(std::move(conn_), keep_alive);
    owner_ = nullptr;
    conn_.reset();
}

pool::pool(asio::any_io_executor executor, const client_options& options, asio::ssl::context* tls,
           core::logger log, client_stats& counters)
    : executor_(executor),
      options_(options),
      tls_(tls),
      log_(std::move(log)),
      counters_(counters),
      idle_timer_(executor) {}

pool::~pool() {
    shutdown();
}

asio::awaitable<boost::system::result<lease, error>> pool::async_acquire(
    const origin& where, bool allow_reuse, bool retry_if_stale, steady_clock::time_point deadline) {
    for (bool requeue = false;; requeue = true) {
        if (auto ready = try_acquire(where, allow_reuse, retry_if_stale))
            co_return std::move(*ready);
        if (shut_down_)
            co_return error{
                failure_class::not_sent,        failure_stage::pool_wait,      false, true,
                asio::error::operation_aborted, "the HTTP client is shut down"};
        host_entry& host = hosts_[where];  // at the cap (try_acquire created the entry)
        if (!host.idle.empty()) {  // at the cap with idle connections this request may not reuse
            host.idle.front()->close();
            host.idle.erase(host.idle.begin());
            --host.open;
            continue;
        }
        if (steady_clock::now() < deadline) {
            waiter w(executor_);
            w.timer.expires_at(deadline);
            // A woken waiter that lost the race to a newcomer keeps its place at the front.
            requeue ? host.waiters.push_front(&w) : host.waiters.push_back(&w);
            // Unregisters even if the frame is destroyed while suspended (io_context teardown).
            scope_exit unregister{[&] {
                if (auto it = hosts_.find(where); it != hosts_.end())
                    std::erase(it->second.waiters, &w);
            }};
            auto [ec] = co_await w.timer.async_wait(asio::as_tuple(asio::use_awaitable));
            unregister.run();
            if (w.notified) continue;
            // Deliberately no co_await from here on: the caller may have been cancelled.
            if (ec) {
                wake_one(where);
                forget_if_unused(where);
                co_return error{failure_class::not_sent,
                                failure_stage::pool_wait,
                                false,
                                true,
                                ec,
                                "cancelled while waiting for a free connection to " + where.key()};
            }
        }
        wake_one(where);
        forget_if_unused(where);
        co_return error{failure_class::not_sent,
                        failure_stage::pool_wait,
                        true,
                        false,
                        asio::error::timed_out,
                        "timed out waiting for a free connection to " + where.key() +
                            " (max_connections_per_host=" +
                            std::to_string(options_.max_connections_per_host) + ")"};
    }
}

std::optional<lease> pool::try_acquire(const origin& where, bool allow_reuse, bool retry_if_stale) {
    if (shut_down_) return std::nullopt;
    host_entry& host = hosts_[where];
    if (allow_reuse && !host.idle.empty()) {
        if (lease l = take_idle(host, retry_if_stale); l.reused()) return l;
    }
    if (host.open < options_.max_connections_per_host) return open_new(host, where);
    return std::nullopt;  // at the cap: async_acquire waits (the entry has connections)
}

lease pool::take_idle(host_entry& host, bool retry_if_stale) {
    // The peek costs a system call per request; a request that is sent again when the reused
    // connection turns out closed can skip it on a connection idle only briefly (the usual case
    // under load), where a server-side close is unlikely and is then caught by that retry.
    const auto now = retry_if_stale ? steady_clock::now() : steady_clock::time_point{};
    while (!host.idle.empty()) {
        std::unique_ptr<connection> conn = std::move(host.idle.back());
        host.idle.pop_back();
        bool peek = !retry_if_stale || now - conn->idle_since >= options_.stale_check_after;
        if (peek) ++counters_.stale_checks;
        if (conn->still_usable(peek)) {
            ++counters_.connections_reused;
            mark_busy(conn.get());
            return lease(this, std::move(conn), true);
        }
        ++counters_.stale_discarded;
        --host.open;
        log_.debug("http: discarding connection #{} to {}: closed by the server while idle",
                   conn->id(), conn->where().key());
        conn->close();
    }
    return lease();
}

void pool::mark_busy(connection* conn) {
    conn->busy_slot = busy_.size();
    busy_.push_back(conn);
}

void pool::unmark_busy(connection* conn) noexcept {
    connection* last = busy_.back();
    busy_[conn->busy_slot] = last;
    last->busy_slot = conn->busy_slot;
    busy_.pop_back();
}

lease pool::open_new(host_entry& host, const origin& where) {
    ++host.open;
    asio::ssl::context* tls = where.scheme == scheme::https ? tls_ : nullptr;
    std::size_t read_limit = options_.header_limit + options_.body_limit + 64 * 1024;
    auto conn = std::make_unique<connection>(executor_, tls, where, read_limit, next_id_++);
    mark_busy(conn.get());
    return lease(this, std::move(conn), false);
}

void pool::give_back(std::unique_ptr<connection> conn, bool keep_alive) noexcept {
    unmark_busy(conn.get());
    // The entry's own key: `conn` may be closed and destroyed below.
    auto it = hosts_.find(conn->where());
    if (it == hosts_.end()) return;  // unreachable: a leased connection keeps its entry open
    const origin& where = it->first;
    host_entry& host = it->second;
    if (keep_alive && !shut_down_) {
        conn->idle_since = steady_clock::now();
        host.idle.push_back(std::move(conn));
        arm_idle_timer();
    } else {
        conn->close();
        conn.reset();
        --host.open;
    }
    wake_one(where);
    forget_if_unused(where);  // last use of `where`: it may erase the entry
}

void pool::wake_one(const origin& where) noexcept {
    auto it = hosts_.find(where);
    if (it == hosts_.end()) return;
    host_entry& host = it->second;
    if (host.open >= options_.max_connections_per_host && host.idle.empty()) return;
    for (waiter* w : host.waiters) {
        if (!w->notified) {
            w->notified = true;
            w->timer.cancel();
            return;
        }
    }
}

void pool::forget_if_unused(const origin& where) noexcept {
    auto it = hosts_.find(where);
    if (it != hosts_.end() && it->second.open == 0 && it->second.waiters.empty()) hosts_.erase(it);
}

void pool::arm_idle_timer() {
    if (idle_timer_armed_ || shut_down_) return;
    std::optional<steady_clock::time_point> oldest;
    for (const auto& [key, host] : hosts_)
        if (!host.idle.empty() && (!oldest || host.idle.front()->idle_since < *oldest))
            oldest = host.idle.front()->idle_since;
    if (!oldest) return;
    idle_timer_armed_ = true;
    idle_timer_.expires_at(*oldest + options_.idle_timeout);
    idle_timer_.async_wait(
        [this, alive = std::weak_ptr<bool>(alive_)](boost::system::error_code ec) {
            if (!alive.lock()) return;
            idle_timer_armed_ = false;
            if (ec || shut_down_) return;
            expire_idle();
            arm_idle_timer();
        });
}

void pool::expire_idle() {
    const auto now = steady_clock::now();
    std::vector<origin> touched;
    for (auto& [key, host] : hosts_) {
        while (!host.idle.empty() && host.idle.front()->idle_since + options_.idle_timeout <= now) {
            log_.debug("http: closing connection #{} to {}: idle for {} ms",
                       host.idle.front()->id(), key.key(), options_.idle_timeout.count());
            host.idle.front()->close();
            host.idle.erase(host.idle.begin());
            --host.open;
            ++counters_.idle_expired;
            touched.push_back(key);
        }
    }
    for (const auto& key : touched) {
        wake_one(key);
        forget_if_unused(key);
    }
}

void pool::shutdown() {
    if (shut_down_) return;
    shut_down_ = true;
    idle_timer_.cancel();
    for (auto& [key, host] : hosts_) {
        for (auto& conn : host.idle) conn->close();
        host.open -= host.idle.size();
        host.idle.clear();
        for (waiter* w : host.waiters) {
            w->notified = true;  // wakes it; it then sees shut_down_
            w->timer.cancel();
        }
    }
    for (connection* conn : busy_) conn->close();
}

std::vector<host_stats> pool::stats() const {
    std::vector<host_stats> out;
    for (const auto& [key, host] : hosts_)
        out.push_back(host_stats{key.key(), host.open, host.idle.size(), host.waiters.size()});
    return out;
}

}  // namespace taskpoller::http::detail
