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
#include "support/live_tasks.hpp"

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
    core::real_clock clock;
    st::store_options opts;
    opts.change_log_capacity = 65'536;
    auto before = rss_bytes();
    st::store s{clock, opts};
    // Every task observed once, as a poll would: a status string and a state change.
    if (!taskpoller::bench::fill_live_clb_tasks(s, tasks,
                                                clock.system_now() + std::chrono::hours(1), true))
        return 1;
    auto after = rss_bytes();
    std::printf("tasks=%zu batches=%zu rss_delta=%.1f MiB bytes_per_task=%.1f\n", s.task_count(),
                s.batch_count(), (after - before) / 1048576.0,
                static_cast<double>(after - before) / static_cast<double>(s.task_count()));
    return 0;
}
