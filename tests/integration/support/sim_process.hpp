#pragma once
// Test support: runs the real taskpoller-sim binary on 127.0.0.1:0 in a temporary directory and
// kills it when the object goes away, however the test ends.

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

namespace taskpoller::testing {

/// A temporary directory removed (recursively) by the destructor.
class temp_dir {
  public:
    temp_dir();
    ~temp_dir();
    temp_dir(const temp_dir&) = delete;
    temp_dir& operator=(const temp_dir&) = delete;
    const std::string& path() const noexcept { return path_; }
    /// Writes `text` to path()/name and returns the full path.
    std::string write(const std::string& name, const std::string& text) const;

  private:
    std::string path_;
};

/// Reads a whole file; empty if it cannot be read.
std::string read_file(const std::string& path);

/// Starts `program` with `args`, stdout and stderr appended to the files `out` and `err`.
/// Throws std::runtime_error if fork fails; an exec failure is exit status 127.
pid_t spawn_program(const std::string& program, const std::vector<std::string>& args,
                    const std::string& out, const std::string& err);
/// The program to run: environment variable `env` if set (a copy of the binaries, so a long run
/// is not affected by a rebuild), else the `built` path of this build tree.
std::string program_path(const char* env, const char* built);

/// Waits up to `timeout_ms` for `pid` to exit; returns the raw wait status, or -1 (still
/// running, or not our child).
int wait_for_exit(pid_t pid, int timeout_ms);

class sim_process {
  public:
    /// Starts the simulator with `config_yaml` (if not empty) and `extra_args`, and waits up to
    /// 10 s for its port file. Throws std::runtime_error if it does not come up.
    explicit sim_process(const std::string& config_yaml = {},
                         std::vector<std::string> extra_args = {});
    /// SIGKILLs the process if it still runs, and reaps it.
    ~sim_process();
    sim_process(const sim_process&) = delete;
    sim_process& operator=(const sim_process&) = delete;

    std::uint16_t port() const noexcept { return port_; }
    const temp_dir& dir() const noexcept { return dir_; }
    std::string stdout_text() const { return read_file(dir_.path() + "/stdout"); }
    std::string stderr_text() const { return read_file(dir_.path() + "/stderr"); }

    /// Sends `sig` and waits up to `timeout_ms` for the exit; returns the exit status, or -1 if
    /// it did not exit normally in time.
    int stop(int sig, int timeout_ms = 10000);

  private:
    temp_dir dir_;
    pid_t pid_ = -1;
    std::uint16_t port_ = 0;
};

/// Runs the simulator binary with `args` to completion (e.g. --help); returns its exit status
/// and fills `output` with stdout and stderr.
int run_sim(const std::vector<std::string>& args, std::string& output);

}  // namespace taskpoller::testing
