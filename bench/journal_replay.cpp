// The journal's start-up replay of one million tasks (100,000 batches of 10) from a snapshot plus
// a log, and the per-change cost of strict (fdatasync per commit) vs relaxed (a sync every 5 ms)
// durability on the disk holding DIR.
//   usage: journal_replay [DIR] [tasks] [build|replay]   (DIR defaults to the current directory;
//          a third argument runs one phase only and keeps DIR/journal-bench*, for profiling)
#include <time.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "core/clock.hpp"
#include "store/journal.hpp"
#include "store/store.hpp"

namespace core = taskpoller::core;
namespace st = taskpoller::store;
using steady = std::chrono::steady_clock;

namespace {

double since(steady::time_point t0) {
    return std::chrono::duration<double>(steady::now() - t0).count();
}

// CPU seconds used by this (single-threaded) process: the machine may be shared, so wall time
// alone overstates the cost.
double cpu_now() {
    timespec ts{};
    ::clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

std::unique_ptr<st::journal> open_journal(const std::string& path, st::store& s,
                                          st::durability mode) {
    st::journal_options o;
    o.mode = mode;
    o.compact_at_bytes = ~std::uint64_t{0};
    auto j = st::journal::open(path, o);
    if (!j) {
        std::fprintf(stderr, "%s\n", j.error().message.c_str());
        std::exit(1);
    }
    auto r = (*j)->replay(s);
    if (!r) {
        std::fprintf(stderr, "%s\n", r.error().message.c_str());
        std::exit(1);
    }
    return std::move(*j);
}

// One submission of `n` resources: the intent, the outcome, n tasks.
void submit(st::store& s, long& rid, int n) {
    auto b = s.create_batch({rid % 20 ? "cvm" : "lb",
                             "StopInstances",
                             "ap-guangzhou",
                             {{"run", std::to_string(rid % 7)}},
                             "tok-" + std::to_string(rid)});
    if (!b) {
        std::fprintf(stderr, "create_batch: %s\n", b.error().message.c_str());
        std::exit(1);
    }
    st::batch_outcome o;
    for (int i = 0; i < n; ++i, ++rid) {
        o.entries.push_back({"ins-" + std::to_string(rid),
                             core::entry_outcome::accepted,
                             0,
                             "",
                             "req-" + std::to_string(rid),
                             {}});
    }
    if (!s.record_batch_outcome(b->id, o)) std::exit(1);
}

void build(const std::string& path, long tasks) {
    std::filesystem::remove(path);
    std::filesystem::remove(path + ".snapshot");
    std::filesystem::remove(path + ".control");
    core::real_clock clock;
    st::store s{clock};
    auto j = open_journal(path, s, st::durability::relaxed);
    auto t0 = steady::now();
    long rid = 0;
    while (rid < tasks / 2) submit(s, rid, 10);
    if (auto r = j->compact(); !r) std::exit(1);
    std::printf("snapshot of %zu tasks written in %.3f s (incl. building them)\n", s.task_count(),
                since(t0));
    while (rid < tasks) submit(s, rid, 10);
    st::task_update u;
    u.state = core::task_state::running;
    u.last_status = "RUNNING";
    for (long r = 0; r < tasks; r += 4) {
        s.update_task({r % 200 < 10 ? "lb" : "cvm", "req-" + std::to_string(r)}, u);
    }
    if (auto r = j->flush(); !r) std::exit(1);
    std::printf("log: %lu records, %.1f MiB; snapshot %.1f MiB\n",
                static_cast<unsigned long>(j->counters().records),
                static_cast<double>(j->counters().log_bytes) / (1 << 20),
                static_cast<double>(std::filesystem::file_size(path + ".snapshot")) / (1 << 20));
}

void replay(const std::string& path) {
    core::real_clock clock;
    st::store s{clock};
    auto t0 = steady::now();
    auto c0 = cpu_now();
    auto j = open_journal(path, s, st::durability::relaxed);
    double secs = since(t0);
    std::printf("replay: %zu batches, %zu tasks in %.3f s wall, %.3f s CPU  (target <= 2 s)\n",
                s.batch_count(), s.task_count(), secs, cpu_now() - c0);
}

// µs per change and per submission (1 batch of 10 tasks = 12 changes). strict syncs each
// commit: the intent, then the outcome with its tasks (2 fdatasyncs per submission).
void cost(const std::string& path, st::durability mode, int submissions) {
    core::real_clock clock;
    st::store s{clock};
    auto j = open_journal(path, s, mode);
    long rid = 0;
    auto t0 = steady::now();
    auto last_sync = t0;
    for (int i = 0; i < submissions; ++i) {
        submit(s, rid, 10);
        if (mode == st::durability::relaxed && steady::now() - last_sync >= j->sync_interval()) {
            (void)j->flush();  // what the daemon's timer does
            last_sync = steady::now();
        }
    }
    (void)j->flush();
    double us = since(t0) * 1e6;
    auto changes = static_cast<double>(s.seq());
    std::printf("%-8s %7.1f us/change  %8.1f us/submission of 10  (%lu fdatasyncs, %.0f changes)\n",
                mode == st::durability::strict ? "strict" : "relaxed", us / changes,
                us / submissions, static_cast<unsigned long>(j->counters().syncs), changes);
}

// The control file (issue 16): what one checkpoint() costs (temp file, fsync, rename, fsync of
// the directory), and its share of the loop at the daemon's one per 2 s housekeeping tick.
void control_cost(const std::string& path, int checkpoints) {
    core::real_clock clock;
    st::store s{clock};
    auto j = open_journal(path, s, st::durability::relaxed);
    long rid = 0;
    double total = 0;
    for (int i = 0; i < checkpoints; ++i) {
        submit(s, rid, 10);
        (void)j->flush();
        auto t0 = steady::now();
        if (auto r = j->checkpoint(); !r) std::exit(1);
        total += since(t0);
    }
    double ms = total * 1e3 / checkpoints;
    std::printf("control  %7.2f ms per checkpoint  (%.3f %% of the loop at one per 2 s)\n", ms,
                ms / 2000 * 100);
}

void remove_journal(const std::string& path) {
    for (const char* ext : {"", ".snapshot", ".control", ".lock"})
        std::filesystem::remove(path + ext);
}

}  // namespace

int main(int argc, char** argv) {
    std::string dir = argc > 1 ? argv[1] : ".";
    long tasks = argc > 2 ? std::atol(argv[2]) : 1'000'000;
    // "build" or "replay": one phase (profiling); "control": the control file's cost only.
    std::string only = argc > 3 ? argv[3] : "";
    auto base = (std::filesystem::path(dir) / "journal-bench").string();
    if (only == "control") {
        control_cost(base + "-control", 200);
        remove_journal(base + "-control");
        return 0;
    }
    if (only != "replay") build(base, tasks);
    if (only != "build") replay(base);
    if (!only.empty()) return 0;
    remove_journal(base);
    cost(base + "-strict", st::durability::strict, 300);
    cost(base + "-relaxed", st::durability::relaxed, 3000);
    control_cost(base + "-control", 200);
    for (const char* m : {"-strict", "-relaxed", "-control"}) remove_journal(base + m);
}
