#pragma once
// Test support (issue 19): a private PostgreSQL 15 cluster for one test executable. initdb and
// pg_ctl from /usr/lib/postgresql/15/bin, in a fresh temporary directory (owned by the
// `postgres` user when the tests run as root, which PostgreSQL refuses), listening only on a
// Unix socket in that directory, fsync off (on, with synchronous_commit, for a benchmark that
// asks for it: bench/ledger_throughput.cpp). The destructor stops it (immediate mode) and removes
// the directory; a watchdog process does the same if the test process dies first (SIGTERM from
// a ctest timeout, SIGKILL, a crash).

#include <sys/types.h>

#include <chrono>
#include <string>
#include <vector>

namespace taskpoller::testing {

class pg_cluster {
  public:
    /// initdb, then start; throws std::runtime_error (with the server log) on failure.
    /// `durable`: fsync, synchronous_commit and full_page_writes on (PostgreSQL's defaults)
    /// instead of off.
    explicit pg_cluster(bool durable = false);
    /// Stops the server (pg_ctl stop -m immediate) and removes the directory.
    ~pg_cluster();
    pg_cluster(const pg_cluster&) = delete;
    pg_cluster& operator=(const pg_cluster&) = delete;

    /// The directory: the data directory is dir()/data; the socket lives in dir().
    const std::string& dir() const noexcept { return dir_; }
    /// A libpq connection string for database `db` as the superuser "postgres".
    std::string conninfo(const std::string& db = "postgres") const;
    /// CREATE DATABASE with a new name (from `hint`, e.g. the test's name); returns the name.
    std::string create_database(const std::string& hint);
    /// Runs `sql` with psql in database `db` (unaligned, tuples only); returns its output.
    /// Throws std::runtime_error with psql's output when it fails.
    std::string psql(const std::string& db, const std::string& sql) const;
    /// pg_terminate_backend for every other connection to `db`; returns how many.
    int terminate_backends(const std::string& db) const;
    /// pg_terminate_backend(pid); true if there was such a backend.
    bool terminate_backend(int pid) const;

    /// pg_ctl stop (`mode`: fast, immediate, smart) and start again; start waits until the
    /// server accepts connections.
    void stop(const std::string& mode = "fast");
    void start();
    void restart() {
        stop();
        start();
    }

    /// How long initdb and the first start took.
    std::chrono::milliseconds initdb_time() const noexcept { return initdb_time_; }
    std::chrono::milliseconds start_time() const noexcept { return start_time_; }

  private:
    /// Runs a PostgreSQL program (as `postgres` when root) with its output captured; returns
    /// the exit status (-1 if it did not exit normally).
    int run(const std::string& program, const std::vector<std::string>& args,
            std::string& output) const;
    void start_watchdog();

    std::string dir_;
    bool as_postgres_ = false;  ///< the programs run via runuser -u postgres
    bool running_ = false;
    bool durable_ = false;
    pid_t watchdog_ = -1;
    int watchdog_fd_ = -1;  ///< the watchdog's pipe: closing it without "done" means cleanup
    int databases_ = 0;
    std::chrono::milliseconds initdb_time_{};
    std::chrono::milliseconds start_time_{};
};

/// The cluster shared by every test of this executable: started on first use (its times are
/// printed to stderr), stopped by a GoogleTest environment's TearDown at the end of the run.
pg_cluster& shared_pg_cluster();

}  // namespace taskpoller::testing
