// Memory per tracked task: inserts 1,000,000 CLB-like tasks (10 per batch, so 100,000 batches)
// and prints the RSS growth per task, read from /proc/self/statm.
//   usage: store_memory [tasks]
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

#include "core/clock.hpp"
#include "store/store.hpp"

namespace core = taskpoller::core;
namespace st = taskpoller::store;

namespace {

long rss_bytes() {
    std::ifstream statm("/proc/self/statm");
    long size = 0, resident = 0;
    statm >> size >> resident;
    return resident * sysconf(_SC_PAGESIZE);
}

}  // namespace

int main(int argc, char** argv) {
    const long tasks = argc > 1 ? std::atol(argv[1]) : 1'000'000;
    const long per_batch = 10;
    core::real_clock clock;
    st::store_options opts;
    opts.change_log_capacity = 65'536;
    auto before = rss_bytes();
    st::store s{clock, opts};
    const auto deadline = clock.system_now() + std::chrono::hours(1);
    long next_rid = 6'356'081;
    for (long b = 0; b < tasks / per_batch; ++b) {
        auto batch = s.create_batch({"lb",
                                     "DeleteLoadBalancers",
                                     "ap-guangzhou",
                                     {{"owner", "bench"}, {"run", std::to_string(b % 50)}},
                                     ""});
        st::batch_outcome o;
        o.deadline = deadline;
        for (long i = 0; i < per_batch; ++i) {
            char lb[32];
            std::snprintf(lb, sizeof lb, "lb-%08lx",
                          static_cast<unsigned long>(next_rid * 7919) & 0xffffffffUL);
            o.entries.push_back(
                {lb, core::entry_outcome::accepted, 0, "", std::to_string(next_rid++), {}});
        }
        if (!s.record_batch_outcome(batch->id, o)) return 1;
    }
    // Touch every task once, as a poll would: a status string and a state change.
    st::task_update u;
    u.state = core::task_state::running;
    u.last_status = "running";
    for (long rid = 6'356'081; rid < next_rid; ++rid) {
        if (!s.update_task({"lb", std::to_string(rid)}, u)) return 1;
    }
    auto after = rss_bytes();
    std::printf("tasks=%zu batches=%zu rss_delta=%.1f MiB bytes_per_task=%.1f\n", s.task_count(),
                s.batch_count(), (after - before) / 1048576.0,
                static_cast<double>(after - before) / static_cast<double>(s.task_count()));
    return 0;
}
