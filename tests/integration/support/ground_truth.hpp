#pragma once
// Test support shared by the crash test (durability_crash_test.cpp) and the fault soak
// (reliability_soak_test.cpp): a client that submits through the daemon's socket with client
// tokens until each submission is acknowledged, retrying across daemon restarts; a thread that
// restarts the daemon at random moments (SIGKILL, SIGTERM or a mix); and the end-of-run check of
// everything the daemon says against the simulator's ground truth.

#include <atomic>
#include <boost/json/object.hpp>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "ctl/unix_client.hpp"

namespace taskpoller::testing {

class daemon_process;
class http_client;

/// The simulator of the crash-style tests: `instances` running CVM instances, no rate limits,
/// operations of 0.5–4 s failing 10 % of the time, stale reads for 300 ms, this `seed`.
std::string crash_sim_config(int instances, int seed);

/// The integer in environment variable `name`, or `fallback` if unset or empty.
int env_int(const char* name, int fallback);
/// The number in environment variable `name`, or `fallback` if unset or empty.
double env_double(const char* name, double fallback);

/// One POST /v1/batches body with its client token and the resources its call names.
struct planned_batch {
    std::string token;
    std::string body;
    std::vector<std::string> resources;
};

/// What the daemon answered (202 new, 200 repeated token): the batch id and state then.
/// A StopInstances batch of `instances` (its resources, in order).
planned_batch cvm_stop_batch(std::string token, std::vector<std::string> instances);
/// A RegisterInstancesWithLoadBalancer of one backend on load balancer `lb`.
planned_batch lb_register_batch(std::string token, const std::string& lb);

struct acked_batch {
    std::string token;
    std::string batch_id;
    std::string state;
    std::vector<std::string> resources;
};

struct submit_outcome {
    std::optional<acked_batch> ack;
    std::string error;  ///< set when the daemon refused it (not 503) or `give_up` passed
    int retries = 0;    ///< transport errors and 503s (daemon down, starting or stopping)
};

/// Submits `p` until the daemon acknowledges it, with the same client token every time, so a
/// submission whose answer was lost (the daemon died, the connection broke) is never made
/// twice. Transport errors and 503 are retried every 50 ms for up to `give_up`.
submit_outcome submit_until_acknowledged(const ctl::client_options& client, const planned_batch& p,
                                         std::chrono::milliseconds give_up);

/// Restarts a daemon at random moments on its own thread until stop() or `max_restarts`.
/// Each restart is a SIGKILL (a crash) or, with probability `sigterm_share`, a SIGTERM that
/// must end in a clean exit (status 0) within 20 s; then the daemon is started again. With a
/// share strictly between 0 and 1 the first two restarts are one of each.
class daemon_restarter {
  public:
    struct options {
        std::chrono::milliseconds min_pause{150};
        std::chrono::milliseconds max_pause{900};
        double sigterm_share = 0.0;
        int max_restarts = 0;  ///< 0: until stop()
        unsigned seed = 1234;
    };
    /// `mu` guards `daemon`: hold it to use the daemon object while the restarter runs.
    daemon_restarter(daemon_process& daemon, std::mutex& mu, options o);
    ~daemon_restarter();  ///< stops and joins
    daemon_restarter(const daemon_restarter&) = delete;
    daemon_restarter& operator=(const daemon_restarter&) = delete;

    /// Stops after the restart in progress, if any, and joins the thread.
    void stop();
    int kills() const noexcept { return kills_; }
    int terms() const noexcept { return terms_; }
    /// Empty, or why a restart went wrong (SIGTERM not a clean exit, the daemon did not start).
    std::string error() const;

  private:
    void run();

    daemon_process& daemon_;
    std::mutex& mu_;
    options opts_;
    std::atomic<bool> stopping_{false};
    std::atomic<int> kills_{0};
    std::atomic<int> terms_{0};
    mutable std::mutex error_mu_;
    std::string error_;
    std::mutex wake_mu_;
    std::condition_variable wake_;
    std::thread thread_;
};

/// Waits until the daemon tracks no pending or running task and no batch is `submitting`.
/// Returns "" or why not (timed out: the status document then).
std::string wait_until_settled(const ctl::client_options& client,
                               std::chrono::milliseconds timeout);

/// Every object of a list route, following next_page_token with pages of `limit`.
/// `key` is the array's name ("batches", "tasks"). Throws std::runtime_error on a failure.
std::vector<boost::json::object> list_all(const ctl::client_options& client,
                                          const std::string& route, const std::string& key,
                                          int limit = 1000);

struct ground_truth_report {
    std::size_t batches = 0;                          ///< acknowledged batches checked
    std::map<std::string, std::size_t> batch_states;  ///< their final states
    std::size_t tasks_checked = 0;       ///< tasks compared with the simulator's outcome
    std::size_t executed_resources = 0;  ///< resources the simulator ran an action on
    std::size_t unknown_entries = 0;     ///< resources of unknown batches
    std::vector<std::string> violations;
};

/// The end-of-run invariants, from the daemon's answers and the simulator's ground truth
/// (/_sim/tasks, /_sim/stats):
///   - every acknowledged batch is still known, terminal (done, rejected or unknown), and not
///     behind the state it was acknowledged with (submitted/done → done; rejected and unknown
///     stay so); an `unknown` batch lists exactly the resources its call named;
///   - `all_daemon_objects`: the daemon knows no batch that was not acknowledged, and every task
///     it knows belongs to an acknowledged batch;
///   - every task is terminal with the simulator's outcome (succeeded/failed) for its requestId;
///   - no resource ran the same action twice (the simulator's per-resource counts);
///   - every resource the simulator ran belongs to an acknowledged batch in which it is either a
///     tracked task or an `unknown` entry; every tracked task's resources were really run.
/// Violations are collected, not asserted, so the caller prints them with its summary.
ground_truth_report check_against_simulator(const ctl::client_options& client, http_client& sim,
                                            const std::vector<acked_batch>& acknowledged,
                                            bool all_daemon_objects = true);

}  // namespace taskpoller::testing
