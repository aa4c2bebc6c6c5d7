#pragma once
// One taskpollerd's membership of a PostgreSQL ledger (issue 19, docs/ha.md): the lease loop
// (ledger::lease driven on its own connection, CLOCK_BOOTTIME), and the data loop on a second
// connection, which is either the follower's replication (current state loaded at start, then
// tp_changes applied in seq order, woken by NOTIFY) or the leader's writer (the store's changes,
// buffered by write_buffer, committed in one fence-checked transaction per turn).
//
// It is the store's observer (store/observer.hpp): as leader it buffers every change and answers
// when_durable at the commit; as follower the store only changes through replication.
//
// Becoming leader: the lease is granted with a new epoch → the data loop stops following,
// applies every change the old leader committed (none can commit any more: tp_fence), resets the
// write buffer at that seq, and calls on_leader(epoch) (the daemon marks interrupted
// submissions unknown and starts polling). Losing it (refused renewal, or the local deadline
// passed: self-fencing) calls on_lost(why) once; may_send() is false from the deadline on
// whatever the callbacks do. A node that lost its lease does not become a follower again in
// place: its store may hold changes the ledger never committed, so the daemon restarts
// (docs/ha.md "Failure semantics").
//
// Threading: the io_context's thread only. The store must outlive the node; stop() and let
// the loops end before destroying.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/json/object.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "core/logger.hpp"
#include "core/result.hpp"
#include "ledger/lease.hpp"
#include "store/observer.hpp"

namespace taskpoller::store {
class store;
}

namespace taskpoller::ledger {

struct node_options {
    std::string conninfo{};  ///< libpq connection string (never logged)
    std::string ledger = "default";
    std::string node{};  ///< this daemon's name in tp_lease.holder
    lease_options lease{};
    /// Changes per write transaction at most (a backlog is written in several).
    std::size_t max_changes_per_transaction = 5000;
    /// Bound of each data statement (a write transaction, a fetch of changes).
    std::chrono::milliseconds statement_timeout{10000};
    /// Start-up: how long to keep trying to reach the database before giving up (exit 1).
    std::chrono::milliseconds connect_patience{60000};
    /// A follower re-reads tp_changes at least this often even without a notification.
    std::chrono::milliseconds follow_poll{1000};
};

/// CLOCK_BOOTTIME as a steady_clock time point (counts while the host is suspended).
time_point boottime_now() noexcept;

/// "2026-12-07 03:40:12.123456+00" (ISO DateStyle, any offset), "infinity", "-infinity".
std::optional<core::sys_time> parse_pg_timestamp(std::string_view text);

/// A submission a follower recorded for the leader (tp_intents; docs/ha.md "Submissions on a
/// follower").
struct intent_row {
    std::string client_token{};
    std::string batch_id{};
    std::string fingerprint{};
    std::string request{};  ///< JSON (engine::submission_to_json)
};

class node final : public store::store_observer {
  public:
    struct callbacks {
        /// Leader of `epoch`, the store up to date with the ledger. Called on the io_context.
        std::function<void(std::uint64_t epoch)> on_leader{};
        /// The lease is lost (once). may_send() is already false.
        std::function<void(const std::string& why)> on_lost{};
        /// Leader: an open intent to submit (once per intent while it is being submitted; the
        /// daemon calls intent_finished when that ends, and intent_refused/intent_taken).
        std::function<void(intent_row)> on_intent{};
    };

    node(boost::asio::any_io_executor ex, store::store& st, node_options o, callbacks cb,
         core::logger log);
    ~node() override;
    node(const node&) = delete;
    node& operator=(const node&) = delete;

    /// Connects (both connections, retrying up to connect_patience), migrates the schema,
    /// creates the ledger's rows, and loads its current state into the (empty) store. An error
    /// is a start-up failure.
    boost::asio::awaitable<core::result<void>> async_open();
    /// The two loops; each returns after stop(). Spawn both after async_open().
    boost::asio::awaitable<void> run_lease();
    boost::asio::awaitable<void> run_data();
    /// Graceful stop: a leader writes what is buffered (bounded by statement_timeout) and
    /// releases the lease so that a follower takes over at once; the loops end.
    boost::asio::awaitable<void> async_stop();
    /// Ends the loops without writing or releasing anything (after a lost lease).
    void abandon();

    // ---- intents (docs/ha.md "Submissions on a follower")

    /// Follower: records the intent unless its client_token has one (then yields that one),
    /// on a connection of its own, and wakes the leader. unavailable when the database is not
    /// reachable.
    boost::asio::awaitable<core::result<intent_row>> async_record_intent(intent_row r);
    /// The intent's state ("intent", "done", "refused") and, when refused, "kind|message".
    boost::asio::awaitable<core::result<std::pair<std::string, std::string>>> async_intent_status(
        std::string client_token);
    /// Leader: the intent's submission was refused here (it is never sent); written with the
    /// next transaction. `why` is "kind|message".
    void intent_refused(const std::string& client_token, const std::string& why);
    /// Leader: the intent's token belongs to an existing batch (nothing new was created).
    void intent_taken(const std::string& client_token, const std::string& batch_id);
    /// Leader: the intent's submission ended (a later scan may hand it out again if it is still
    /// open, which the tracker's client_token check makes harmless).
    void intent_finished(const std::string& client_token);
    bool is_follower() const noexcept;

    /// The last check before a submission leaves (lease::may_send at CLOCK_BOOTTIME).
    bool may_send() const noexcept;
    bool is_leader() const noexcept;
    /// Whether this node may change the ledger now: an unavailable error on a follower
    /// (naming the leader) or a leader whose writes are failing.
    core::result<void> writable() const;
    /// role, node, ledger, epoch, leader, lease_expires_in_ms, seq, lag, stale, counters.
    boost::json::object status() const;

    // store_observer
    void on_batch_change(const store::change& c, const core::batch& b) override;
    void on_task_change(const store::change& c, const core::task& t) override;
    void on_commit() override;
    core::result<void> health() const override;
    void when_durable(std::uint64_t seq, std::function<void(core::result<void>)> done) override;

    struct impl;

  private:
    std::shared_ptr<impl> impl_;
};

}  // namespace taskpoller::ledger
