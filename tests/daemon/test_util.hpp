#pragma once
// Helpers for the daemon integration tests: temporary directories, a datagram socket standing
// in for systemd's notify socket, environment overrides, and child processes that are always
// reaped.

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace daemon_test {

/// A fresh directory under $TMPDIR, removed with its contents on destruction.
class temp_dir {
  public:
    temp_dir();
    ~temp_dir();
    temp_dir(const temp_dir&) = delete;
    temp_dir& operator=(const temp_dir&) = delete;
    const std::filesystem::path& path() const { return path_; }

  private:
    std::filesystem::path path_;
};

/// A bound AF_UNIX datagram socket: what systemd listens on as $NOTIFY_SOCKET.
class datagram_receiver {
  public:
    /// `address`: a filesystem path, or "@name" for the abstract namespace.
    explicit datagram_receiver(std::string address);
    ~datagram_receiver();
    datagram_receiver(const datagram_receiver&) = delete;
    datagram_receiver& operator=(const datagram_receiver&) = delete;

    /// The next datagram, or nullopt if none arrives within `timeout`.
    std::optional<std::string> receive(std::chrono::milliseconds timeout);
    /// Every datagram already queued.
    std::vector<std::string> drain();
    const std::string& address() const { return address_; }

  private:
    int fd_ = -1;
    std::string address_;
};

/// Sets (or unsets, with nullopt) an environment variable; restores the old value on exit.
class scoped_env {
  public:
    scoped_env(std::string name, std::optional<std::string> value);
    ~scoped_env();
    scoped_env(const scoped_env&) = delete;
    scoped_env& operator=(const scoped_env&) = delete;

  private:
    std::string name_;
    std::optional<std::string> old_;
};

/// A child process killed (SIGKILL) and reaped on destruction unless already waited for.
class child_process {
  public:
    explicit child_process(pid_t pid) : pid_(pid) {}
    ~child_process();
    child_process(const child_process&) = delete;
    child_process& operator=(const child_process&) = delete;

    /// waitpid() with a deadline; returns the raw wait status, or nullopt on timeout.
    std::optional<int> wait(std::chrono::milliseconds timeout);
    pid_t pid() const { return pid_; }

  private:
    pid_t pid_;
    bool reaped_ = false;
};

/// Reads `fd` until EOF or `timeout`.
std::string read_all(int fd, std::chrono::milliseconds timeout);

}  // namespace daemon_test
