#pragma once
// Test support: the real engine (store, HTTP client, tracker) on one io_context against a
// taskpoller-sim process started by the harness. Helpers run the io_context until a condition
// holds or a deadline passes, so tests never sleep for a fixed time.

#include <boost/asio/io_context.hpp>
#include <boost/json.hpp>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.hpp"
#include "engine/tracker.hpp"
#include "http/client.hpp"
#include "store/store.hpp"
#include "support/http_client.hpp"
#include "support/sim_process.hpp"

namespace taskpoller::testing {

struct engine_setup {
    std::string sim_yaml;               ///< the simulator's configuration
    std::vector<std::string> sim_args;  ///< extra simulator arguments
    bool https = false;
    std::string ca_file;                                ///< https: the CA the client trusts
    std::string connect_host = "127.0.0.1";             ///< https tests may use another name
    std::function<void(engine::tracker_config&)> tune;  ///< adjusts the default test config
};

/// Short polling policy and settle delay so tests finish in seconds.
engine::tracker_config test_tracker_config();

class engine_harness {
  public:
    /// Starts the simulator and builds the engine; throws if the simulator does not come up.
    explicit engine_harness(engine_setup setup = {});
    ~engine_harness();

    /// Runs the io_context until the submission finished (or `limit` passed: nullopt).
    std::optional<core::result<engine::submit_result>> submit(
        engine::submission s, std::chrono::milliseconds limit = std::chrono::seconds(30));
    /// Submits all at once (concurrently) and runs until every one finished or `limit` passed.
    /// Unfinished submissions are nullopt.
    std::vector<std::optional<core::result<engine::submit_result>>> submit_all(
        std::vector<engine::submission> subs,
        std::chrono::milliseconds limit = std::chrono::seconds(60));
    /// Runs the io_context until `done()` holds or `limit` passed; returns done().
    bool run_until(const std::function<bool()>& done, std::chrono::milliseconds limit);
    /// Runs until no task in the store is pending or running.
    bool run_until_all_terminal(std::chrono::milliseconds limit);
    std::size_t live_tasks() const;

    /// Ground truth from the simulator's control endpoints.
    boost::json::object sim_stats();
    /// requestId → "running" | "succeeded" | "failed" for every simulator task, and
    /// "Action/reconciled:<instance>" → the state of that instance's operation (for the tasks a
    /// reconciliation named, engine/reconcile.hpp).
    std::map<std::string, std::string> sim_task_states();
    /// Instance ids whose true status is `status`.
    std::vector<std::string> sim_instances(int status);
    /// Requests the simulator counted for `action` (0 if none).
    std::int64_t sim_requests(const std::string& action);
    /// Times a mutating action ran on `resource`.
    std::int64_t sim_executions(const std::string& resource, const std::string& action);

    sim_process& sim() { return *sim_; }
    http_client& control() { return *control_; }
    boost::asio::io_context& io() { return io_; }
    store::store& st() { return *store_; }
    engine::tracker& tracker() { return *tracker_; }
    const core::clock& clock() const { return clock_; }

  private:
    std::unique_ptr<sim_process> sim_;
    std::unique_ptr<http_client> control_;
    boost::asio::io_context io_;
    core::real_clock clock_;
    std::unique_ptr<store::store> store_;
    std::unique_ptr<http::client> http_;
    std::unique_ptr<engine::tracker> tracker_;
};

/// A DeleteLoadBalancers submission for load balancer `lb` (one task-result task).
engine::submission delete_lb(const std::string& lb, std::string client_token = {});

/// Expects every task in the store to be terminal and, where the simulator knows its
/// requestId, in the simulator's state. Returns how many tasks were compared.
std::size_t expect_tasks_match_truth(engine_harness& h);

}  // namespace taskpoller::testing
