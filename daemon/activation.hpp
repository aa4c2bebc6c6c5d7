#pragma once
// systemd socket activation (sd_listen_fds(3)): LISTEN_PID, LISTEN_FDS and LISTEN_FDNAMES
// describe descriptors passed from fd 3 on. The daemon wants one: the control socket.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"

namespace taskpoller::daemon {

/// First passed descriptor (SD_LISTEN_FDS_START).
inline constexpr int listen_fds_start = 3;

struct listen_fd {
    int fd;
    std::string name;  ///< from LISTEN_FDNAMES; "unknown" when that variable is absent
};

/// Parses the three variables' values (nullptr = unset). Returns an empty list when the
/// descriptors are not for this process (LISTEN_PID unset or != self_pid, LISTEN_FDS unset or
/// 0). Errors: a value that is not a number, LISTEN_FDS too large, or LISTEN_FDNAMES naming a
/// different number of descriptors. No I/O.
core::result<std::vector<listen_fd>> parse_listen_env(const char* listen_pid,
                                                      const char* listen_fds,
                                                      const char* listen_fdnames, long self_pid);

/// The descriptor named `name`, else the only descriptor whatever its name; nullopt for an
/// empty list. Error when several are passed and none is named `name`, or the name repeats.
core::result<std::optional<int>> select_listen_fd(const std::vector<listen_fd>& fds,
                                                  std::string_view name);

/// Checks that `fd` is an AF_UNIX SOCK_STREAM socket in the listening state. The error says
/// which property is wrong.
core::result<void> check_listening_unix_socket(int fd);

/// What the daemon calls at start-up: reads and then unsets LISTEN_PID, LISTEN_FDS and
/// LISTEN_FDNAMES (so children never see them), sets FD_CLOEXEC on every passed descriptor,
/// picks the one named `name` (or the only one), validates it, and closes the others.
/// Returns the descriptor (ownership passes to the caller; it stays blocking, as passed), nullopt
/// when the process was not socket-activated, or an error fit for a start-up failure message.
/// Call once, before creating any other descriptor or thread.
core::result<std::optional<int>> take_activation_socket(std::string_view name = "control");

}  // namespace taskpoller::daemon
