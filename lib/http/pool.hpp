#pragma once
// Internal to lib/http: the connection pool. Counts connections per origin against the cap, keeps
// idle keep-alive connections (most recently used first), expires them after idle_timeout, and
// queues requests that wait for a free connection. Single-threaded; no I/O besides closing
// sockets and the idle timer.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/system/result.hpp>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/logger.hpp"
#include "http/client.hpp"
#include "http/connection.hpp"

namespace taskpoller::http::detail {

class pool;

/// One connection checked out of the pool (busy). Destroying a lease closes the connection and
/// frees its slot; keep() hands it back for reuse instead.
class lease {
  public:
    lease() = default;
    lease(pool* owner, std::unique_ptr<connection> conn, bool reused) noexcept;
    lease(lease&& other) noexcept;
    lease& operator=(lease&& other) noexcept;
    ~lease();

    connection& conn() const noexcept { return *conn_; }
    /// True when the connection came from the idle pool (already connected).
    bool reused() const noexcept { return reused_; }
    /// Returns the connection to the idle pool; the lease is empty afterwards.
    void keep() noexcept;

  private:
    void reset(bool keep_alive) noexcept;
    pool* owner_ = nullptr;
    std::unique_ptr<connection> conn_;
    bool reused_ = false;
};

class pool {
  public:
    /// `tls` may be null when no https origin is ever used; `counters` outlives the pool.
    pool(boost::asio::any_io_executor executor, const client_options& options,
         boost::asio::ssl::context* tls, core::logger log, client_stats& counters);
    ~pool();

    /// A live idle connection for `where` (when `allow_reuse`), or a new unconnected one if the
    /// origin is under the cap; otherwise waits until `deadline` for one to be freed. Fails
    /// not_sent at stage pool_wait on timeout, cancellation or shutdown. `retry_if_stale`: the
    /// caller sends again on a fresh connection if the reused one turns out closed, so an idle
    /// connection younger than client_options::stale_check_after is not peeked at.
    boost::asio::awaitable<boost::system::result<lease, error>> async_acquire(
        const origin& where, bool allow_reuse, bool retry_if_stale,
        steady_clock::time_point deadline);

    /// async_acquire's answer when no waiting is needed (the usual case), without a coroutine:
    /// nullopt means call async_acquire (the origin is at the cap, or the pool is shut down).
    std::optional<lease> try_acquire(const origin& where, bool allow_reuse, bool retry_if_stale);

    /// Closes idle and busy connections (busy operations then fail), wakes every waiter with an
    /// error, and refuses later acquisitions. Idempotent.
    void shutdown();
    bool is_shut_down() const noexcept { return shut_down_; }

    std::vector<host_stats> stats() const;

  private:
    friend class lease;
    struct waiter;
    struct host_entry {
        std::size_t open = 0;
        std::vector<std::unique_ptr<connection>> idle;  // back = most recently used
        std::deque<waiter*> waiters;
    };

    void give_back(std::unique_ptr<connection> conn, bool keep_alive) noexcept;
    lease take_idle(host_entry& host, bool retry_if_stale);
    lease open_new(host_entry& host, const origin& where);
    void mark_busy(connection* conn);
    void unmark_busy(connection* conn) noexcept;
    void wake_one(const origin& where) noexcept;
    void forget_if_unused(const origin& where) noexcept;
    void arm_idle_timer();
    void expire_idle();

    boost::asio::any_io_executor executor_;
    const client_options& options_;
    boost::asio::ssl::context* tls_;
    core::logger log_;
    client_stats& counters_;
    std::map<origin, host_entry> hosts_;
    std::vector<connection*> busy_;  // connection::busy_slot is the index
    boost::asio::steady_timer idle_timer_;
    bool idle_timer_armed_ = false;
    bool shut_down_ = false;
    std::uint64_t next_id_ = 1;
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace taskpoller::http::detail
