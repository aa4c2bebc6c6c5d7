// Test helper run under socket activation (systemd-socket-activate). It takes the control
// socket as taskpollerd would, accepts one client and tells it what it received:
//   "fd=<n> cloexec=<0|1> listen_env=<cleared|set>\n"
// Exit status: 0 after reporting, 2 when take_activation_socket() failed (message on stderr),
// 3 when the process was not socket-activated.
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>

#include "daemon/activation.hpp"

int main() {
    auto fd = taskpoller::daemon::take_activation_socket("control");
    if (!fd) {
        std::fprintf(stderr, "%s\n", fd.error().message.c_str());
        return 2;
    }
    if (!*fd) {
        std::fprintf(stderr, "not socket-activated\n");
        return 3;
    }
    int flags = ::fcntl(**fd, F_GETFD);
    bool env_set =
        std::getenv("LISTEN_FDS") || std::getenv("LISTEN_PID") || std::getenv("LISTEN_FDNAMES");
    std::string report = fmt::format("fd={} cloexec={} listen_env={}\n", **fd,
                                     (flags & FD_CLOEXEC) ? 1 : 0, env_set ? "set" : "cleared");
    int client = ::accept4(**fd, nullptr, nullptr, SOCK_CLOEXEC);
    if (client < 0) return 4;
    if (::write(client, report.data(), report.size()) != static_cast<ssize_t>(report.size())) {
        return 5;
    }
    ::close(client);
    return 0;
}
