#pragma once
// Benchmark support: child processes (the simulator, the daemon, wrk), a temporary directory,
// CPU time of a process from /proc, percentiles, and the few simulator/daemon calls both
// benchmarks make. Everything here throws std::runtime_error with a message on failure.

#include <sys/types.h>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <exception>
#include <memory>
#include <string>
#include <vector>

#include "support/bench_http.hpp"

namespace taskpoller::bench {

/// A temporary directory, removed recursively by the destructor.
class temp_dir {
  public:
    temp_dir();
    ~temp_dir();
    temp_dir(const temp_dir&) = delete;
    temp_dir& operator=(const temp_dir&) = delete;
    const std::string& path() const noexcept { return path_; }
    std::string write(const std::string& name, const std::string& text) const;

  private:
    std::string path_;
};

/// A child process: stdout and stderr go to `log`; SIGKILLed and reaped by the destructor if
/// it still runs. `env` entries ("NAME=value") are added to the inherited environment.
class child {
  public:
    child(const std::string& program, const std::vector<std::string>& args, const std::string& log,
          const std::vector<std::string>& env = {});
    ~child();
    child(const child&) = delete;
    child& operator=(const child&) = delete;

    pid_t pid() const noexcept { return pid_; }
    bool running();
    /// Sends `sig` and waits up to `timeout`; returns the raw wait status, or -1 if it did not
    /// end in time (it is then SIGKILLed).
    int stop(int sig, std::chrono::milliseconds timeout = std::chrono::seconds(10));
    /// Waits for the exit (no signal); raw wait status, or -1 after `timeout` (then SIGKILLed).
    int wait(std::chrono::milliseconds timeout);
    std::string log_tail(std::size_t bytes = 2000) const;

  private:
    pid_t pid_ = -1;
    std::string log_;
};

std::string read_file(const std::string& path);
/// Waits until `path` exists and is not empty, or throws naming `what` (and `proc`'s log).
void wait_for_file(const std::string& path, std::chrono::milliseconds timeout, child& proc,
                   const std::string& what);

/// utime + stime of `pid` in microseconds (/proc/<pid>/stat; clock-tick resolution).
std::int64_t cpu_micros(pid_t pid);

/// The p-th percentile (0..100) of `v` (sorted in place), nearest rank; 0 for an empty vector.
double percentile(std::vector<double>& v, double p);

/// The simulator's binary and the daemon's (compiled-in defaults, overridable by options).
std::string default_sim_path();
std::string default_daemon_path();
/// An executable named `name` on $PATH, or "" if there is none.
std::string find_on_path(const std::string& name);

/// The simulator's default account (config/sim.yaml), which the benchmarks sign with.
extern const char* const sim_secret_id;
extern const char* const sim_secret_key;

/// The cloud API a benchmark's CLB tasks use: 2.0 (service `lb`, form-encoded, HmacSHA256;
/// tasks polled with DescribeLoadBalancersTaskResult) or 3.0 (service `clb` 2018-03-17, JSON,
/// TC3-HMAC-SHA256; tasks polled with DescribeTaskStatus).
enum class api_version { v2, v3 };
const char* clb_service(api_version v);      ///< "lb", "clb"
const char* clb_poll_action(api_version v);  ///< "DescribeLoadBalancersTaskResult", ...

/// An API 3.0 request signed for the simulator's account now (POST / with a JSON body): the
/// Host to send (the real one: `<service>.tencentcloudapi.com`) and the other headers
/// (Authorization, X-TC-Action, X-TC-Version, X-TC-Timestamp, X-TC-Region).
struct v3_request {
    std::string host;
    std::string body;
    header_list headers;
};
inline constexpr const char* v3_content_type = "application/json";
v3_request sign_v3(const std::string& service, const std::string& version,
                   const std::string& action, std::string body,
                   const std::string& region = "ap-guangzhou");
/// The 3.0 poll of one CLB task, signed now: DescribeTaskStatus {"TaskId": request_id}.
v3_request sign_v3_task_poll(const std::string& request_id);

struct sim_instance {
    std::unique_ptr<child> proc;
    std::uint16_t port = 0;
};
/// Starts the simulator with `config_yaml` and --no-replay-check --no-rate-limit (then `extra`),
/// files in `dir`.
sim_instance start_sim(const temp_dir& dir, const std::string& sim_path,
                       const std::string& config_yaml, const std::vector<std::string>& extra = {});

struct daemon_instance {
    std::unique_ptr<child> proc;
    std::string socket;
};
/// Starts taskpollerd with `config_yaml` (whose control.socket must be `socket`), credentials
/// for the simulator's account in its environment, and waits until GET /_ping answers.
boost::asio::awaitable<daemon_instance> start_daemon(const temp_dir& dir,
                                                     const std::string& daemon_path,
                                                     const std::string& config_yaml,
                                                     const std::string& socket);

/// Creates `count` CLB tasks at the simulator over `parallel` keep-alive connections; returns
/// their requestIds in creation order. 2.0: signed DeleteLoadBalancers POSTs on 1,000 load
/// balancers; 3.0: signed DeleteLoadBalancer calls, one load balancer each (the simulator runs
/// one 3.0 task per load balancer at a time).
boost::asio::awaitable<std::vector<std::string>> create_clb_tasks(std::uint16_t sim_port,
                                                                  std::size_t count,
                                                                  std::size_t parallel,
                                                                  api_version v = api_version::v2);

/// Adopts every requestId as a task of clb_service(v) through POST /v1/tasks over `parallel`
/// keep-alive connections to the daemon's socket. Throws unless each answer is 201.
boost::asio::awaitable<void> adopt_clb_tasks(const std::string& socket,
                                             const std::vector<std::string>& request_ids,
                                             std::size_t parallel, api_version v = api_version::v2);

/// GET `target` on `c`; throws unless the status is 200. Returns the body.
boost::asio::awaitable<std::string> get_ok(connection& c, const std::string& target);

/// Runs the `n` coroutines `make(0)` ... `make(n - 1)` on the current executor to completion;
/// then rethrows the first failure, if any.
template <class Make>
boost::asio::awaitable<void> run_all(std::size_t n, Make make) {
    namespace asio = boost::asio;
    auto ex = co_await asio::this_coro::executor;
    std::size_t left = n;
    std::exception_ptr failure;
    asio::steady_timer done(ex, asio::steady_timer::time_point::max());
    for (std::size_t i = 0; i < n; ++i) {
        asio::co_spawn(ex, make(i), [&](std::exception_ptr e) {
            if (e && !failure) failure = e;
            if (--left == 0) done.cancel();
        });
    }
    if (left > 0) {
        boost::system::error_code ec;
        co_await done.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
    if (failure) std::rethrow_exception(failure);
}

/// Sleeps on the current coroutine's executor.
boost::asio::awaitable<void> sleep_for(std::chrono::steady_clock::duration d);

}  // namespace taskpoller::bench
