#include "http/pool.hpp"

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace taskpoller::http::detail {
namespace asio = boost::asio;

namespace {

template <class F>
class scope_exit {
  public:
    explicit scope_exit(F f) : f_(std::move(f)) {}
    ~scope_exit() { run(); }
    scope_exit(const scope_exit&) = delete;
    scope_exit& operator=(const scope_exit&) = delete;
    void run() {
        if (armed_) f_();
        armed_ = false;
    }

  private:
    F f_;
    bool armed_ = true;
};

}  // namespace

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
    const origin& where, bool allow_reuse, steady_clock::time_point deadline) {
    const std::string key = where.key();
    for (bool requeue = false;; requeue = true) {
        if (shut_down_)
            co_return error{
                failure_class::not_sent,        failure_stage::pool_wait,      false, true,
                asio::error::operation_aborted, "the HTTP client is shut down"};
        host_entry& host = hosts_[key];
        if (allow_reuse && !host.idle.empty()) {
            if (lease l = take_idle(host, where); l.reused()) co_return l;
        }
        if (host.open < options_.max_connections_per_host) co_return open_new(host, where);
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
                if (auto it = hosts_.find(key); it != hosts_.end())
                    std::erase(it->second.waiters, &w);
            }};
            auto [ec] = co_await w.timer.async_wait(asio::as_tuple(asio::use_awaitable));
            unregister.run();
            if (w.notified) continue;
            // Deliberately no co_await from here on: the caller may have been cancelled.
            if (ec) {
                wake_one(key);
                forget_if_unused(key);
                co_return error{failure_class::not_sent,
                                failure_stage::pool_wait,
                                false,
                                true,
                                ec,
                                "cancelled while waiting for a free connection to " + key};
            }
        }
        wake_one(key);
        forget_if_unused(key);
        co_return error{failure_class::not_sent,
                        failure_stage::pool_wait,
                        true,
                        false,
                        asio::error::timed_out,
                        "timed out waiting for a free connection to " + key +
                            " (max_connections_per_host=" +
                            std::to_string(options_.max_connections_per_host) + ")"};
    }
}

lease pool::take_idle(host_entry& host, const origin& where) {
    while (!host.idle.empty()) {
        std::unique_ptr<connection> conn = std::move(host.idle.back());
        host.idle.pop_back();
        if (conn->still_usable()) {
            ++counters_.connections_reused;
            busy_.insert(conn.get());
            log_.debug("http: reusing connection #{} to {}", conn->id(), where.key());
            return lease(this, std::move(conn), true);
        }
        ++counters_.stale_discarded;
        --host.open;
        log_.debug("http: discarding connection #{} to {}: closed by the server while idle",
                   conn->id(), where.key());
        conn->close();
    }
    return lease();
}

lease pool::open_new(host_entry& host, const origin& where) {
    ++host.open;
    asio::ssl::context* tls = where.scheme == scheme::https ? tls_ : nullptr;
    std::size_t read_limit = options_.header_limit + options_.body_limit + 64 * 1024;
    auto conn = std::make_unique<connection>(executor_, tls, where, read_limit, next_id_++);
    busy_.insert(conn.get());
    return lease(this, std::move(conn), false);
}

void pool::give_back(std::unique_ptr<connection> conn, bool keep_alive) noexcept {
    busy_.erase(conn.get());
    const std::string key = conn->where().key();
    auto it = hosts_.find(key);
    if (it == hosts_.end()) return;  // unreachable: a leased connection keeps its entry open
    host_entry& host = it->second;
    if (keep_alive && !shut_down_) {
        conn->idle_since = steady_clock::now();
        host.idle.push_back(std::move(conn));
        arm_idle_timer();
    } else {
        conn->close();
        --host.open;
    }
    wake_one(key);
    forget_if_unused(key);
}

void pool::wake_one(const std::string& key) noexcept {
    auto it = hosts_.find(key);
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

void pool::forget_if_unused(const std::string& key) noexcept {
    auto it = hosts_.find(key);
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
    std::vector<std::string> touched;
    for (auto& [key, host] : hosts_) {
        while (!host.idle.empty() && host.idle.front()->idle_since + options_.idle_timeout <= now) {
            log_.debug("http: closing connection #{} to {}: idle for {} ms",
                       host.idle.front()->id(), key, options_.idle_timeout.count());
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
        out.push_back(host_stats{key, host.open, host.idle.size(), host.waiters.size()});
    return out;
}

}  // namespace taskpoller::http::detail
