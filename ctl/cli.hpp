#pragma once
// The taskpollerctl command line: parses arguments with CLI11 and runs the chosen command.

#include <iosfwd>

namespace taskpoller::ctl {

/// What the process environment says, passed in so tests need no real terminal.
struct environment {
    const char* socket = nullptr;    ///< TASKPOLLER_SOCKET, nullptr if unset
    const char* no_color = nullptr;  ///< NO_COLOR, nullptr if unset
    bool stdout_is_tty = false;
};

/// Parses `argv` and runs the command. Returns the exit code: 0/1/2 per the command's outcome,
/// 3 for usage errors (after printing the reason), 0 for --help and --version.
int run_cli(int argc, const char* const* argv, const environment& env, std::ostream& out,
            std::ostream& err);

}  // namespace taskpoller::ctl
