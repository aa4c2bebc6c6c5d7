#pragma once
// The poller: drives every live task from the scheduler's due times to a terminal state. One
// coroutine loop arms one timer at the scheduler's next due time, takes due tasks oldest first,
// and starts one poll per task-result task (DescribeLoadBalancersTaskResult & co) or one
// DescribeInstances per region and ≤100 instances for CVM tasks, each after its action's rate
// limiter grants a token. Answers update the store and the scheduler; failures follow the
// request-retry policy (engine/retry.hpp) and never make a task terminal by themselves, except
// as that policy says (not_found after N checks, a final error about the task itself).
//
// Threading and lifetime: everything on the io_context's thread. The store, registry,
// api_client, rate_limiter and clock must outlive the poller. Before destroying the poller,
// call stop() and let the io_context run until inflight() is 0 (polls in flight end quickly once
// the HTTP client is shut down). The clock's steady time must be std::chrono::steady_clock's
// (timers use it).

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.hpp"
#include "core/logger.hpp"
#include "core/result.hpp"
#include "core/task_key.hpp"
#include "engine/cvm_state.hpp"
#include "engine/retry.hpp"
#include "engine/scheduler.hpp"

namespace taskpoller::store {
class store;
}

namespace taskpoller::engine {

class api_client;
class rate_limiter;
class registry;

struct poller_options {
    scheduler_options schedule;
    retry_options retry;
    cvm_options cvm;
    std::size_t max_inflight = 64;  ///< poll calls in flight at once (incl. waiting for tokens)
    std::size_t cvm_batch = 100;    ///< instances per DescribeInstances (API maximum 100)
    double default_rate = 20.0;     ///< requests/s for a poll action without its own limit
};

/// What the poller needs to know about a task to poll it.
struct track_request {
    core::task_key key;
    std::string action;  ///< the submitted action (for CVM rules and learning)
    std::string region;
    std::vector<std::string> resources;  ///< CVM: the instance ids
    core::steady_time submitted{};       ///< steady time of the submission
    core::steady_time deadline{};        ///< steady time after which the task is timed_out
};

class poller {
  public:
    poller(boost::asio::any_io_executor ex, store::store& st, const registry& reg, api_client& api,
           rate_limiter& limiter, const core::clock& clock, poller_options options,
           core::logger log);
    ~poller();
    poller(const poller&) = delete;
    poller& operator=(const poller&) = delete;

    /// Starts polling a live task already in the store. Fails (changing nothing) if the key is
    /// already tracked, the service is unknown, or a CVM task has no action rule or instances.
    core::result<void> track(const track_request& r);
    /// Stops polling `key` (it was cancelled). Returns false if it was not tracked.
    bool untrack(const core::task_key& key);
    bool is_tracked(const core::task_key& key) const;

    /// Starts the loop (once).
    void start();
    /// Stops the loop and every wait; polls in flight finish without touching the store.
    void stop();

    std::size_t tracked() const noexcept;
    std::size_t inflight() const noexcept;
    const scheduler& schedule() const noexcept;

  private:
    struct impl;
    std::shared_ptr<impl> impl_;
};

}  // namespace taskpoller::engine
