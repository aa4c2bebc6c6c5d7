#include "support/daemon_process.hpp"

#include <signal.h>
#include <sys/wait.h>

#include <stdexcept>
#include <thread>

#include "ctl/unix_client.hpp"
#include "support/sim_process.hpp"

namespace taskpoller::testing {

daemon_process::daemon_process(std::string config_path, std::string socket_path,
                               std::string log_path, std::vector<std::string> extra_args)
    : config_(std::move(config_path)),
      socket_(std::move(socket_path)),
      log_(std::move(log_path)),
      extra_args_(std::move(extra_args)) {}

daemon_process::~daemon_process() {
    if (pid_ > 0) kill_hard();
}

void daemon_process::start(std::chrono::milliseconds timeout) {
    if (pid_ > 0) throw std::logic_error("daemon_process::start: already running");
    std::vector<std::string> args{"--config", config_};
    args.insert(args.end(), extra_args_.begin(), extra_args_.end());
    pid_ =
        spawn_program(program_path("TASKPOLLER_DAEMON", TASKPOLLER_DAEMON_PATH), args, log_, log_);
    ctl::client_options o;
    o.socket_path = socket_;
    o.timeout = std::chrono::seconds(5);
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
        int status = 0;
        if (::waitpid(pid_, &status, WNOHANG) == pid_) {
            pid_ = -1;
            throw std::runtime_error("taskpollerd exited at start-up:\n" + log_tail());
        }
        auto r = ctl::send_request(o, "GET", "/_ping");
        if (r && r->status == 200) return;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    kill_hard();
    throw std::runtime_error("taskpollerd did not answer /_ping:\n" + log_tail());
}

void daemon_process::kill_hard() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
}

std::optional<int> daemon_process::reap_if_exited() {
    if (pid_ <= 0) return std::nullopt;
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) != pid_) return std::nullopt;
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

void daemon_process::signal(int sig) const {
    if (pid_ > 0) ::kill(pid_, sig);
}

int daemon_process::stop(int sig, int timeout_ms) {
    if (pid_ <= 0) return -1;
    ::kill(pid_, sig);
    int status = wait_for_exit(pid_, timeout_ms);
    if (status == -1) return -1;
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

std::string daemon_process::log_tail(std::size_t lines) const {
    auto text = read_file(log_);
    std::size_t pos = text.size();
    for (std::size_t n = 0; n <= lines && pos > 0; ++n) {
        pos = text.rfind('\n', pos - 1);
        if (pos == std::string::npos) return text;
    }
    return text.substr(pos + 1);
}

}  // namespace taskpoller::testing
