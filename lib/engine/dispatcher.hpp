#pragma once
// Which poll calls to start, and when to look again: the poller's decisions, I/O-free. The
// poller's loop (engine/poller.cpp) calls step() whenever its timer fires or it is woken, starts
// the calls step() returns, applies the writes to the store, and sleeps until next_wake().
//
// Rules:
//  - due tasks come from the scheduler earliest first; a task whose deadline passed is expired;
//  - a task-result task waits in its poll action's ready queue (oldest due first) until that
//    action's rate limiter has a token, which is taken when its call is returned: a saturated
//    action waits there, not in a call slot, so it cannot starve the others;
//  - due instance-state tasks are grouped per region up to the call's capacity and filled with
//    riders (poll_state::add_riders); such a call takes its tokens itself, one per chunk;
//  - at most options().max_inflight calls are in flight (counted from step() to finished()).

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <vector>

#include "engine/poll_state.hpp"

namespace taskpoller::engine::detail {

/// One poll call to start.
struct poll_call {
    bool instances = false;     ///< an instance-state call; else one task-result task
    std::uint16_t service = 0;  ///< poll_state::service_name
    std::uint16_t region = 0;   ///< poll_state::region_name
    rate_limiter::bucket_id bucket = 0;
    std::vector<std::uint32_t> handles;  ///< the tasks answered by the call
    std::vector<std::uint32_t> gens;     ///< their generations (poll_state::alive)
};

class dispatcher {
  public:
    /// `state` must outlive the dispatcher.
    explicit dispatcher(poll_state& state) : state_(state) {}

    /// Everything that can start at `now`: appends the calls to start to `calls` (each now in
    /// flight) and the writes of expired tasks to `writes`.
    void step(time_point now, std::vector<poll_call>& calls, std::vector<task_write>& writes);

    /// When step() has something to do next without being woken: the earliest due time or,
    /// for a waiting ready queue, when a batch of tokens is there (poller_options::token_batch:
    /// as many as its rate brings in that time, capped by half its burst, the free call slots
    /// and the queue's length), never sooner than poller_options::wake_tick after the last
    /// step(). nullopt while every call slot is taken (finished() wakes the loop) or nothing is
    /// tracked.
    std::optional<time_point> next_wake(time_point now);

    /// A call returned by step() has ended. Returns true if the poller's loop must be woken to
    /// use the freed slot (every slot was taken).
    bool finished() noexcept;

    std::size_t inflight() const noexcept { return inflight_; }
    /// Task-result tasks waiting for a token.
    std::size_t waiting() const noexcept;

  private:
    void take_due(time_point now, std::vector<poll_call>& calls, std::vector<task_write>& writes);
    void drain(time_point now, std::vector<poll_call>& calls);
    bool has_room() const noexcept { return inflight_ < state_.options().max_inflight; }

    poll_state& state_;
    std::size_t inflight_ = 0;
    time_point last_step_{};
    std::vector<scheduler::due_task> due_;
    // Due task-result tasks whose bucket has no token yet, oldest due first, as (handle, gen).
    std::map<rate_limiter::bucket_id, std::deque<std::pair<std::uint32_t, std::uint32_t>>> ready_;
};

}  // namespace taskpoller::engine::detail
