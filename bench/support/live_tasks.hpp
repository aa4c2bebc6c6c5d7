#pragma once
// The store the memory and idle benchmarks measure (store_memory, tracked_memory, idle_cost):
// `tasks` live CLB tasks, 10 per DeleteLoadBalancers batch, each observed once as a poll would
// (state running, status "running"). requestIds are 7 digits from 6,356,081 (they fit inline, as
// API 2.0's do); resources `lb-xxxxxxxx`. Header-only: these benchmarks link the library alone.

#include <cstdio>
#include <string>

#include "core/clock.hpp"
#include "store/store.hpp"

namespace taskpoller::bench {

/// Fills `s`; false if the store refused something. `labelled`: every batch carries the labels
/// owner=bench and run=<batch % 50> (what the memory benchmarks count).
inline bool fill_live_clb_tasks(store::store& s, long tasks, core::sys_time deadline,
                                bool labelled) {
    constexpr long first_rid = 6'356'081;
    constexpr long per_batch = 10;
    long next_rid = first_rid;
    for (long b = 0; b < tasks / per_batch; ++b) {
        core::labels labels;
        if (labelled) labels = {{"owner", "bench"}, {"run", std::to_string(b % 50)}};
        auto batch = s.create_batch({"lb", "DeleteLoadBalancers", "ap-guangzhou", labels, ""});
        store::batch_outcome o;
        o.deadline = deadline;
        for (long i = 0; i < per_batch; ++i) {
            char lb[32];
            std::snprintf(lb, sizeof lb, "lb-%08lx",
                          static_cast<unsigned long>(next_rid * 7919) & 0xffffffffUL);
            o.entries.push_back(
                {lb, core::entry_outcome::accepted, 0, "", std::to_string(next_rid++), {}});
        }
        if (!s.record_batch_outcome(batch->id, o)) return false;
    }
    store::task_update u;
    u.state = core::task_state::running;
    u.last_status = "running";
    for (long rid = first_rid; rid < next_rid; ++rid) {
        if (!s.update_task({"lb", std::to_string(rid)}, u)) return false;
    }
    return true;
}

}  // namespace taskpoller::bench
