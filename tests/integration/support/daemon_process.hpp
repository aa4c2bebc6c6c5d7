#pragma once
// Test support: runs the real taskpollerd with a given configuration, restarts it, kills it
// (SIGKILL for crash tests), and kills it when the object goes away, however the test ends.

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace taskpoller::testing {

class daemon_process {
  public:
    /// Does not start anything; `log_path` collects stderr across restarts.
    daemon_process(std::string config_path, std::string socket_path, std::string log_path,
                   std::vector<std::string> extra_args = {});
    /// SIGKILLs the process if it still runs, and reaps it.
    ~daemon_process();
    daemon_process(const daemon_process&) = delete;
    daemon_process& operator=(const daemon_process&) = delete;

    /// Starts taskpollerd and waits until GET /_ping answers 200 on the socket (up to `timeout`).
    /// Throws std::runtime_error naming the log's last lines if it exits or never answers.
    void start(std::chrono::milliseconds timeout = std::chrono::seconds(60));
    /// SIGKILL and reap: a crash, as far as the daemon can tell.
    void kill_hard();
    /// Sends `sig`, waits up to `timeout_ms`; returns the exit status, or -1.
    int stop(int sig, int timeout_ms = 20000);
    bool running() const noexcept { return pid_ > 0; }
    /// If the process has exited on its own: reaps it and returns its exit status (128 + the
    /// signal's number when a signal ended it, as a shell says). nullopt while it runs (or when
    /// none was started).
    std::optional<int> reap_if_exited();
    /// Sends `sig` without waiting (SIGSTOP, SIGCONT).
    void signal(int sig) const;
    /// The running daemon's process id, or -1.
    pid_t pid() const noexcept { return pid_; }
    const std::string& socket_path() const noexcept { return socket_; }
    /// The last `lines` lines of the daemon's log.
    std::string log_tail(std::size_t lines = 30) const;

  private:
    std::string config_;
    std::string socket_;
    std::string log_;
    std::vector<std::string> extra_args_;
    pid_t pid_ = -1;
};

}  // namespace taskpoller::testing
