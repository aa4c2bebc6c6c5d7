// The PostgreSQL ledger's benchmarks (issue 19, docs/ha.md "Measured"), in one run, against a
// private PostgreSQL 15 cluster the program starts itself (tests/ledger/support/pg_cluster.hpp:
// initdb + pg_ctl in a temporary directory, a Unix socket, run as the `postgres` user when we are
// root; fsync, synchronous_commit and full_page_writes ON unless --pg-fsync off).
//
// 1. Write throughput. The workload, as the daemon would make it: N tasks created by batches of
//    --batch (create_batch, then record_batch_outcome creating the tasks), then each task updated
//    pending → running → succeeded with update_task, as the poller would; in blocks of 100
//    batches (create the block, run it, finish it), so that state changes of every kind are
//    mixed throughout. Measured from the first change to when_durable(last seq) completing:
//      postgres  a leader ledger::node (its io_context run on this thread, the producer posted on
//                it in chunks of 64 mutations, so the data loop writes while the store changes:
//                one fence-checked transaction per turn of up to 5,000 changes);
//      journal   the journal backend, durability strict (fdatasync at each commit, i.e. twice per
//                batch; poll results synced every sync_interval, as the daemon's timer does),
//                in a temporary directory on the same disk, fsync real.
//    Besides the wall time, this process's CPU (getrusage RUSAGE_SELF) per change, and for
//    postgres the server's CPU per change (every process of the cluster, from /proc).
// 2. Follower lag. A leader and a follower node in one database; the leader's store makes
//    changes at a steady --rate per second (the same workload, paced by a 10 ms timer) for
//    --seconds. For each seq s: (when the follower's store applied s) − (when the leader's store
//    emitted s, i.e. called its observer, the node); p50/p99/max over every change. Each node's
//    io_context runs on a thread of its own, as two daemons would: neither waits for the other's
//    turn, so the figure is the write transaction + NOTIFY + the follower's fetch and apply, not
//    a scheduling artefact of alternating them on one thread. Both clocks are this process's
//    steady_clock.
//
//   usage: ledger_throughput [--tasks N] [--batch B] [--rate R] [--seconds S] [--pg-fsync on|off]
//          (defaults: 100000, 10, 1000, 10, on)
// Prints a table and one JSON line. Exits non-zero if a write fails, the follower misses a change
// or ends with a different seq.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "core/clock.hpp"
#include "ledger/node.hpp"
#include "store/journal.hpp"
#include "store/store.hpp"
#include "support/pg_cluster.hpp"

namespace asio = boost::asio;
namespace core = taskpoller::core;
namespace st = taskpoller::store;
namespace ledger = taskpoller::ledger;
using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

namespace {

[[noreturn]] void fail(const std::string& what) {
    std::fprintf(stderr, "ledger_throughput: %s\n", what.c_str());
    std::exit(1);
}

double since(steady::time_point t0) {
    return std::chrono::duration<double>(steady::now() - t0).count();
}

// This process's user + system CPU seconds.
double cpu_self() {
    rusage u{};
    ::getrusage(RUSAGE_SELF, &u);
    return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
           static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) * 1e-6;
}

// The PostgreSQL server's CPU seconds: the postmaster (with its reaped children) and every live
// process it started (backends, checkpointer, WAL writer...), from /proc/<pid>/stat.
double cpu_server(const taskpoller::testing::pg_cluster& c) {
    std::ifstream pidfile(c.dir() + "/data/postmaster.pid");
    long postmaster = 0;
    if (!(pidfile >> postmaster)) return 0;
    const double tick = static_cast<double>(::sysconf(_SC_CLK_TCK));
    double total = 0;
    DIR* d = ::opendir("/proc");
    if (d == nullptr) return 0;
    while (dirent* e = ::readdir(d)) {
        char* end = nullptr;
        long pid = std::strtol(e->d_name, &end, 10);
        if (pid <= 0 || *end != '\0') continue;
        std::ifstream f(std::string("/proc/") + e->d_name + "/stat");
        std::string line;
        if (!std::getline(f, line)) continue;
        auto close = line.rfind(')');
        if (close == std::string::npos) continue;
        std::istringstream rest(line.substr(close + 2));
        // fields 3.. : state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt
        //              utime stime cutime cstime
        std::string state;
        long ppid = 0, skip = 0;
        unsigned long long utime = 0, stime = 0;
        long long cutime = 0, cstime = 0;
        rest >> state >> ppid;
        for (int i = 0; i < 9; ++i) rest >> skip;
        rest >> utime >> stime >> cutime >> cstime;
        if (pid == postmaster)
            total += static_cast<double>(utime + stime) + static_cast<double>(cutime + cstime);
        else if (ppid == postmaster)
            total += static_cast<double>(utime + stime);
    }
    ::closedir(d);
    return total / tick;
}

// The workload: blocks of `block` batches of `batch` tasks each; each block is created (one
// step per batch: create_batch + record_batch_outcome), then every task goes running (one step
// each), then succeeded (one step each). step() makes the next mutation.
class workload {
  public:
    workload(st::store& s, long tasks, int batch, std::string prefix)
        : s_(s), tasks_(tasks), batch_(batch), prefix_(std::move(prefix)) {}

    bool done() const { return created_ >= tasks_ && phase_ == 0; }

    void step() {
        if (phase_ == 0) {
            create_one();
            if (keys_.size() >= static_cast<std::size_t>(block_batches * batch_) ||
                created_ >= tasks_) {
                phase_ = 1;
                next_ = 0;
            }
            return;
        }
        st::task_update u;
        u.state = phase_ == 1 ? core::task_state::running : core::task_state::succeeded;
        u.last_status = phase_ == 1 ? "RUNNING" : "SUCCESS";
        u.count_poll = true;
        if (auto r = s_.update_task(keys_[next_], u); !r) fail("update_task: " + r.error().message);
        if (++next_ == keys_.size()) {
            next_ = 0;
            if (++phase_ == 3) {
                phase_ = 0;
                keys_.clear();
            }
        }
    }

  private:
    static constexpr int block_batches = 100;

    void create_one() {
        const long first = created_;
        const int n = static_cast<int>(std::min<long>(batch_, tasks_ - created_));
        const char* service = (first / batch_) % 5 == 0 ? "lb" : "cvm";
        st::batch_spec spec;
        spec.service = service;
        spec.action = "StopInstances";
        spec.region = "ap-guangzhou";
        spec.labels = {{"run", std::to_string((first / batch_) % 7)}};
        spec.client_token = prefix_ + "tok-" + std::to_string(first);
        for (int i = 0; i < n; ++i) spec.resources.push_back("ins-" + std::to_string(first + i));
        auto b = s_.create_batch(spec);
        if (!b) fail("create_batch: " + b.error().message);
        st::batch_outcome o;
        for (int i = 0; i < n; ++i) {
            o.entries.push_back({"ins-" + std::to_string(first + i),
                                 core::entry_outcome::accepted,
                                 0,
                                 "",
                                 prefix_ + "req-" + std::to_string(first + i),
                                 {}});
            keys_.push_back(
                {service, prefix_ + "req-" + std::to_string(first + i), "ap-guangzhou", b->id});
        }
        o.deadline = b->created_at + std::chrono::hours(1);
        if (auto r = s_.record_batch_outcome(b->id, o); !r)
            fail("record_batch_outcome: " + r.error().message);
        created_ += n;
    }

    st::store& s_;
    long tasks_;
    int batch_;
    std::string prefix_;
    long created_ = 0;
    int phase_ = 0;  // 0 creating the block, 1 running, 2 succeeded
    std::size_t next_ = 0;
    std::vector<core::task_key> keys_;
};

// Records when the leader's store emits each seq, and forwards everything to the node.
class emit_recorder final : public st::store_observer {
  public:
    emit_recorder(st::store_observer& inner, std::vector<steady::time_point>& at)
        : inner_(inner), at_(at) {}
    void on_batch_change(const st::change& c, const core::batch& b) override {
        mark(c.seq);
        inner_.on_batch_change(c, b);
    }
    void on_task_change(const st::change& c, const core::task& t) override {
        mark(c.seq);
        inner_.on_task_change(c, t);
    }
    void on_commit() override { inner_.on_commit(); }
    core::result<void> health() const override { return inner_.health(); }
    void when_durable(std::uint64_t seq, std::function<void(core::result<void>)> done) override {
        inner_.when_durable(seq, std::move(done));
    }

  private:
    void mark(std::uint64_t seq) {
        if (seq < at_.size()) at_[seq] = steady::now();
    }
    st::store_observer& inner_;
    std::vector<steady::time_point>& at_;
};

// One member of the ledger: its io_context, store and node (as tests/ledger/node_test.cpp).
struct member {
    member(const std::string& conninfo, const std::string& name) : st(clock, options_for(name)) {
        ledger::node_options o;
        o.conninfo = conninfo;
        o.ledger = "bench";
        o.node = name;
        o.connect_patience = 10s;
        n = std::make_unique<ledger::node>(
            io.get_executor(), st, o,
            ledger::node::callbacks{[this](std::uint64_t e) { led = e; },
                                    [this](const std::string& why) { lost = why; }},
            core::logger{[name](core::log_level, std::string_view line) {
                             std::fprintf(stderr, "%s: %.*s\n", name.c_str(),
                                          static_cast<int>(line.size()), line.data());
                         },
                         core::log_level::warn});
    }
    ~member() {
        n->abandon();
        io.restart();
        io.run_for(200ms);  // let the loops end
    }
    static st::store_options options_for(const std::string& name) {
        st::store_options o;
        o.id_seed = std::hash<std::string>{}(name);
        return o;
    }

    // Opens the node, makes `observer` (default: the node) the store's, spawns its loops.
    void open(st::store_observer* observer = nullptr) {
        std::optional<core::result<void>> r;
        std::exception_ptr error;
        asio::co_spawn(io, n->async_open(), [&](std::exception_ptr e, core::result<void> v) {
            error = e;
            if (!e) r.emplace(std::move(v));
        });
        io.restart();
        while (!r && !error) io.run_one();
        if (error) std::rethrow_exception(error);
        if (!*r) fail("node open: " + r->error().message);
        st.set_observer(observer != nullptr ? observer : n.get());
        auto handler = [this](std::exception_ptr e) {
            if (e) failure = e;
        };
        asio::co_spawn(io, n->run_lease(), handler);
        asio::co_spawn(io, n->run_data(), handler);
    }

    // Runs the io_context on this thread until `done` (or `timeout`: a failure).
    void run_until(const std::function<bool()>& done, steady::duration timeout, const char* what) {
        auto end = steady::now() + timeout;
        io.restart();
        while (!done()) {
            if (steady::now() > end) fail(std::string("timed out: ") + what);
            io.run_one_for(50ms);
            if (failure) std::rethrow_exception(failure);
            if (lost) fail("the lease was lost: " + *lost);
        }
    }

    core::real_clock clock;
    asio::io_context io;
    st::store st;
    std::unique_ptr<ledger::node> n;
    std::optional<std::uint64_t> led;
    std::optional<std::string> lost;
    std::exception_ptr failure;
};

struct throughput {
    double changes = 0, seconds = 0, cpu_s = 0, server_cpu_s = -1;
    unsigned long syncs = 0;
    double per_s() const { return changes / seconds; }
    double cpu_us() const { return cpu_s * 1e6 / changes; }
};

throughput postgres_throughput(taskpoller::testing::pg_cluster& c, long tasks, int batch) {
    member a(c.conninfo(c.create_database("throughput")), "bench-a");
    a.open();
    a.run_until([&] { return a.led.has_value(); }, 30s, "leadership");
    workload w(a.st, tasks, batch, "");
    const auto seq0 = a.st.seq();
    std::optional<core::result<void>> durable;
    steady::time_point end;
    std::function<void()> pump = [&] {
        for (int i = 0; i < 64 && !w.done(); ++i) w.step();
        if (!w.done()) {
            asio::post(a.io, pump);
            return;
        }
        a.st.when_durable(a.st.seq(), [&](core::result<void> r) {
            end = steady::now();
            durable = std::move(r);
        });
    };
    const auto server0 = cpu_server(c);
    const auto cpu0 = cpu_self();
    const auto t0 = steady::now();
    asio::post(a.io, pump);
    a.run_until([&] { return durable.has_value(); }, 600s, "postgres throughput");
    throughput t;
    t.seconds = std::chrono::duration<double>(end - t0).count();
    t.cpu_s = cpu_self() - cpu0;
    t.server_cpu_s = cpu_server(c) - server0;
    t.changes = static_cast<double>(a.st.seq() - seq0);
    if (!*durable) fail("when_durable: " + durable->error().message);
    return t;
}

throughput journal_throughput(long tasks, int batch) {
    char tmpl[] = "/tmp/tp-ledgerbench-XXXXXX";
    if (::mkdtemp(tmpl) == nullptr) fail("mkdtemp");
    const std::string dir = tmpl;
    throughput t;
    {
        core::real_clock clock;
        st::store s{clock};
        st::journal_options o;
        o.mode = st::durability::strict;
        auto j = st::journal::open(dir + "/journal", o);
        if (!j) fail("journal: " + j.error().message);
        if (auto r = (*j)->replay(s); !r) fail("journal replay: " + r.error().message);
        workload w(s, tasks, batch, "");
        const auto seq0 = s.seq();
        std::optional<core::result<void>> durable;
        const auto cpu0 = cpu_self();
        const auto t0 = steady::now();
        auto last_sync = t0;
        while (!w.done()) {
            w.step();
            // The daemon's on_dirty timer: poll results are synced every sync_interval.
            if ((*j)->sync_due() && steady::now() - last_sync >= (*j)->sync_interval()) {
                if (auto r = (*j)->flush(); !r) fail("journal flush: " + r.error().message);
                last_sync = steady::now();
            }
        }
        if (auto r = (*j)->flush(); !r) fail("journal flush: " + r.error().message);
        s.when_durable(s.seq(), [&](core::result<void> r) { durable = std::move(r); });
        t.seconds = since(t0);
        t.cpu_s = cpu_self() - cpu0;
        t.changes = static_cast<double>(s.seq() - seq0);
        t.syncs = static_cast<unsigned long>((*j)->counters().syncs);
        if (!durable || !*durable) fail("journal when_durable failed");
        (*j)->detach();
    }
    std::filesystem::remove_all(dir);
    return t;
}

struct lag_result {
    double changes = 0, seconds = 0, p50_ms = 0, p99_ms = 0, max_ms = 0, mean_ms = 0;
    long missing = 0;
};

lag_result follower_lag(taskpoller::testing::pg_cluster& c, double rate, double seconds) {
    const auto conninfo = c.conninfo(c.create_database("lag"));
    // Room for every seq the run can make (a step makes at most batch + 2 changes).
    const std::size_t capacity = static_cast<std::size_t>(rate * seconds * 1.5) + 10'000;
    std::vector<steady::time_point> emitted(capacity), applied(capacity);
    member a(conninfo, "bench-a"), b(conninfo, "bench-b");
    emit_recorder rec(*a.n, emitted);
    a.open(&rec);
    a.run_until([&] { return a.led.has_value(); }, 30s, "leadership");
    b.open();
    b.io.restart();
    b.io.run_for(300ms);
    if (b.failure) std::rethrow_exception(b.failure);
    const std::uint64_t seq0 = a.st.seq();
    if (b.st.seq() != seq0) fail("the follower did not load the leader's state");

    // The follower: a watcher re-armed at every change, noting when each seq was applied.
    std::uint64_t seen = seq0;
    st::watch_handle watch;
    std::function<void()> on_change = [&] {
        const auto now = steady::now();
        for (auto s = seen + 1; s <= b.st.seq(); ++s)
            if (s < capacity) applied[s] = now;
        seen = b.st.seq();
        watch = b.st.watch_changes(seen, on_change);
    };
    watch = b.st.watch_changes(seen, on_change);

    // The leader: a 10 ms timer makes the changes due at `rate` since t0 (whole mutations).
    workload w(a.st, static_cast<long>(rate * seconds) + 1000, 10, "lag-");
    std::atomic<std::uint64_t> last_seq{0};
    std::atomic<bool> caught_up{false};
    asio::steady_timer tick(a.io);
    const auto t0 = steady::now();
    const auto stop_at =
        t0 + std::chrono::duration_cast<steady::duration>(std::chrono::duration<double>(seconds));
    std::function<void()> produce = [&] {
        const auto now = steady::now();
        const double due =
            rate * std::chrono::duration<double>(std::min(now, stop_at) - t0).count();
        while (static_cast<double>(a.st.seq() - seq0) < due && !w.done()) w.step();
        if (now >= stop_at) {
            last_seq = a.st.seq();
            return;
        }
        tick.expires_after(10ms);
        tick.async_wait([&](boost::system::error_code ec) {
            if (!ec) produce();
        });
    };
    asio::post(a.io, produce);
    // The follower's thread checks for the end after each handler it runs.
    std::thread ta([&] {
        a.io.restart();
        while (!caught_up) {
            a.io.run_one_for(50ms);
            if (a.failure || a.lost) break;
        }
    });
    std::thread tb([&] {
        b.io.restart();
        const auto deadline = stop_at + 60s;
        while (!caught_up) {
            b.io.run_one_for(50ms);
            if (b.failure || steady::now() > deadline) break;
            auto last = last_seq.load();
            if (last != 0 && b.st.seq() >= last) caught_up = true;
        }
    });
    tb.join();
    caught_up = true;
    ta.join();
    if (a.failure) std::rethrow_exception(a.failure);
    if (b.failure) std::rethrow_exception(b.failure);
    if (a.lost) fail("the leader lost its lease: " + *a.lost);
    const auto last = last_seq.load();
    if (last == 0 || b.st.seq() != last)
        fail("the follower is at seq " + std::to_string(b.st.seq()) + ", the leader at " +
             std::to_string(a.st.seq()));

    lag_result r;
    r.seconds = seconds;
    r.changes = static_cast<double>(last - seq0);
    std::vector<double> ms;
    for (auto s = seq0 + 1; s <= last && s < capacity; ++s) {
        if (emitted[s] == steady::time_point{} || applied[s] == steady::time_point{}) {
            ++r.missing;
            continue;
        }
        ms.push_back(std::chrono::duration<double, std::milli>(applied[s] - emitted[s]).count());
    }
    a.st.set_observer(a.n.get());  // `rec` goes before `a`
    if (last >= capacity) r.missing += static_cast<long>(last - capacity + 1);
    if (ms.empty()) fail("no lag sample");
    std::sort(ms.begin(), ms.end());
    auto pct = [&](double p) {
        return ms[std::min(ms.size() - 1,
                           static_cast<std::size_t>(p * static_cast<double>(ms.size())))];
    };
    r.p50_ms = pct(0.50);
    r.p99_ms = pct(0.99);
    r.max_ms = ms.back();
    double sum = 0;
    for (double x : ms) sum += x;
    r.mean_ms = sum / static_cast<double>(ms.size());
    return r;
}

std::string json_throughput(const throughput& t) {
    char buf[512];
    std::snprintf(buf, sizeof buf,
                  "{\"changes\":%.0f,\"seconds\":%.3f,\"changes_per_s\":%.0f,"
                  "\"cpu_us_per_change\":%.2f",
                  t.changes, t.seconds, t.per_s(), t.cpu_us());
    std::string out = buf;
    if (t.server_cpu_s >= 0) {
        std::snprintf(buf, sizeof buf, ",\"server_cpu_us_per_change\":%.2f",
                      t.server_cpu_s * 1e6 / t.changes);
        out += buf;
    } else {
        std::snprintf(buf, sizeof buf, ",\"fdatasyncs\":%lu", t.syncs);
        out += buf;
    }
    return out + "}";
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"The PostgreSQL ledger's write throughput (against the journal) and follower lag"};
    long tasks = 100'000;
    int batch = 10;
    double rate = 1000, seconds = 10;
    std::string pg_fsync = "on";
    app.add_option("--tasks", tasks, "tasks of the throughput workload")
        ->check(CLI::Range(1L, 10'000'000L));
    app.add_option("--batch", batch, "tasks per batch")->check(CLI::Range(1, 1000));
    app.add_option("--rate", rate, "the leader's changes per second for the lag")
        ->check(CLI::Range(1.0, 100000.0));
    app.add_option("--seconds", seconds, "how long the lag run lasts")
        ->check(CLI::Range(0.5, 600.0));
    app.add_option("--pg-fsync", pg_fsync, "the cluster's fsync and synchronous_commit")
        ->check(CLI::IsMember({"on", "off"}));
    CLI11_PARSE(app, argc, argv);

    auto cluster = std::make_unique<taskpoller::testing::pg_cluster>(pg_fsync == "on");
    std::fprintf(stderr, "cluster %s: initdb %lld ms, start %lld ms\n", cluster->dir().c_str(),
                 static_cast<long long>(cluster->initdb_time().count()),
                 static_cast<long long>(cluster->start_time().count()));

    const auto pg = postgres_throughput(*cluster, tasks, batch);
    const auto jn = journal_throughput(tasks, batch);
    const auto lag = follower_lag(*cluster, rate, seconds);

    std::printf("workload: %ld tasks in batches of %d (create, outcome, running, succeeded)\n",
                tasks, batch);
    std::printf("%-26s %9s %8s %12s %14s %14s\n", "backend", "changes", "s", "changes/s",
                "cpu us/change", "server us/chg");
    std::printf("%-26s %9.0f %8.3f %12.0f %14.2f %14.2f\n",
                pg_fsync == "on" ? "postgres (fsync on)" : "postgres (fsync off)", pg.changes,
                pg.seconds, pg.per_s(), pg.cpu_us(), pg.server_cpu_s * 1e6 / pg.changes);
    std::printf("%-26s %9.0f %8.3f %12.0f %14.2f %14s  (%lu fdatasyncs)\n", "journal (strict)",
                jn.changes, jn.seconds, jn.per_s(), jn.cpu_us(), "-", jn.syncs);
    std::printf(
        "follower lag at %.0f changes/s for %.1f s (%.0f changes): p50 %.2f ms, p99 %.2f "
        "ms, max %.2f ms, mean %.2f ms, missing %ld\n",
        rate, seconds, lag.changes, lag.p50_ms, lag.p99_ms, lag.max_ms, lag.mean_ms, lag.missing);
    std::printf(
        "{\"bench\":\"ledger_throughput\",\"tasks\":%ld,\"batch\":%d,\"pg_fsync\":\"%s\","
        "\"postgres\":%s,\"journal\":%s,\"lag\":{\"rate\":%.0f,\"seconds\":%.1f,"
        "\"changes\":%.0f,\"p50_ms\":%.3f,\"p99_ms\":%.3f,\"max_ms\":%.3f,"
        "\"mean_ms\":%.3f,\"missing\":%ld}}\n",
        tasks, batch, pg_fsync.c_str(), json_throughput(pg).c_str(), json_throughput(jn).c_str(),
        rate, seconds, lag.changes, lag.p50_ms, lag.p99_ms, lag.max_ms, lag.mean_ms, lag.missing);
    return lag.missing == 0 ? 0 : 1;
}
