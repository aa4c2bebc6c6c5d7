// Resident memory per tracked task, everything the daemon keeps for it (issue 8, benchmark 2):
// the store's records and indexes, plus the poller's schedule (tracker::resume_live_tasks, the
// same path as after a journal replay). CLB-like tasks, 10 per batch, each observed once
// (`running`, a status string). One child process per size so each starts from a clean heap.
//   usage: tracked_memory [tasks...]      (default: 100000 1000000)
// Prints a table and one JSON line. Target: <= 512 bytes per task.
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "core/clock.hpp"
#include "engine/tracker.hpp"
#include "http/client.hpp"
#include "store/store.hpp"
#include "support/live_tasks.hpp"

namespace core = taskpoller::core;
namespace st = taskpoller::store;
namespace eng = taskpoller::engine;

namespace {

long rss_bytes() {
    std::ifstream statm("/proc/self/statm");
    long size = 0, resident = 0;
    statm >> size >> resident;
    return resident * sysconf(_SC_PAGESIZE);
}

struct figures {
    long tasks = 0;
    double store_bytes = 0;   // per task
    double poller_bytes = 0;  // per task
};

// Runs in a child: fills a store, hands every live task to a tracker's poller, writes the
// figures to `fd`.
int measure(long tasks, int fd) {
    boost::asio::io_context io;  // never run: tasks are scheduled, not polled
    core::real_clock clock;
    st::store_options opts;
    opts.change_log_capacity = 65'536;
    taskpoller::http::client http(io.get_executor(), {}, {});
    eng::tracker_config cfg;
    cfg.default_region = "ap-guangzhou";
    auto before = rss_bytes();
    st::store s{clock, opts};
    eng::tracker t(io.get_executor(), s, clock, http, {"id", "key"}, cfg, {});
    if (!taskpoller::bench::fill_live_clb_tasks(s, tasks,
                                                clock.system_now() + std::chrono::hours(1), true))
        return 1;
    auto after_store = rss_bytes();
    auto resumed = t.resume_live_tasks();
    auto after_poller = rss_bytes();
    if (static_cast<long>(resumed) != tasks || static_cast<long>(t.polls().tracked()) != tasks) {
        std::fprintf(stderr, "tracked %zu of %ld tasks\n", resumed, tasks);
        return 1;
    }
    figures f{tasks, static_cast<double>(after_store - before) / static_cast<double>(tasks),
              static_cast<double>(after_poller - after_store) / static_cast<double>(tasks)};
    return ::write(fd, &f, sizeof f) == sizeof f ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
    std::vector<long> sizes;
    for (int i = 1; i < argc; ++i) sizes.push_back(std::atol(argv[i]));
    if (sizes.empty()) sizes = {100'000, 1'000'000};
    std::vector<figures> out;
    for (long n : sizes) {
        int p[2];
        if (::pipe(p) != 0) return 1;
        pid_t pid = ::fork();
        if (pid == 0) {
            ::close(p[0]);
            ::_exit(measure(n, p[1]));
        }
        ::close(p[1]);
        figures f;
        bool ok = ::read(p[0], &f, sizeof f) == sizeof f;
        ::close(p[0]);
        int status = 0;
        ::waitpid(pid, &status, 0);
        if (!ok || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
            std::fprintf(stderr, "tracked_memory: the run with %ld tasks failed\n", n);
            return 1;
        }
        out.push_back(f);
    }
    std::printf("%10s %14s %15s %13s %8s\n", "tasks", "store B/task", "poller B/task",
                "total B/task", "<= 512");
    for (const auto& f : out) {
        double total = f.store_bytes + f.poller_bytes;
        std::printf("%10ld %14.1f %15.1f %13.1f %8s\n", f.tasks, f.store_bytes, f.poller_bytes,
                    total, total <= 512 ? "yes" : "NO");
    }
    std::printf("{\"bench\":\"tracked_memory\",\"results\":[");
    for (std::size_t i = 0; i < out.size(); ++i) {
        std::printf(
            "%s{\"tasks\":%ld,\"store_bytes_per_task\":%.1f,\"poller_bytes_per_task\":%.1f,"
            "\"bytes_per_task\":%.1f}",
            i ? "," : "", out[i].tasks, out[i].store_bytes, out[i].poller_bytes,
            out[i].store_bytes + out[i].poller_bytes);
    }
    std::printf("]}\n");
}
