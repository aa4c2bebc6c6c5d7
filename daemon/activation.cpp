#include "daemon/activation.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <cstring>

namespace taskpoller::daemon {

namespace {

// The kernel's fd limit is far lower; this only rejects absurd values before looping on them.
constexpr long max_listen_fds = 4096;

core::result<long> parse_number(const char* s, std::string_view name) {
    long v = 0;
    const char* end = s + std::strlen(s);
    auto [p, ec] = std::from_chars(s, end, v);
    if (ec != std::errc() || p != end || p == s || v < 0) {
        return core::error{
            fmt::format("socket activation: {}=\"{}\" is not a valid number", name, s)};
    }
    return v;
}

std::vector<std::string> split_names(std::string_view s) {
    std::vector<std::string> out;
    for (;;) {
        auto colon = s.find(':');
        out.emplace_back(s.substr(0, colon));
        if (colon == std::string_view::npos) return out;
        s.remove_prefix(colon + 1);
    }
}

}  // namespace

core::result<std::vector<listen_fd>> parse_listen_env(const char* listen_pid,
                                                      const char* listen_fds,
                                                      const char* listen_fdnames, long self_pid) {
    std::vector<listen_fd> out;
    if (listen_pid == nullptr || listen_fds == nullptr) return out;
    auto pid = parse_number(listen_pid, "LISTEN_PID");
    if (!pid) return pid.error();
    if (*pid != self_pid) return out;  // inherited from a parent: not ours
    auto n = parse_number(listen_fds, "LISTEN_FDS");
    if (!n) return n.error();
    if (*n > max_listen_fds) {
        return core::error{fmt::format("socket activation: LISTEN_FDS={} is too large", *n)};
    }
    std::vector<std::string> names;
    if (listen_fdnames != nullptr) {
        names = split_names(listen_fdnames);
        if (static_cast<long>(names.size()) != *n) {
            return core::error{fmt::format(
                "socket activation: LISTEN_FDNAMES names {} descriptors but LISTEN_FDS={}",
                names.size(), *n)};
        }
    }
    for (long i = 0; i < *n; ++i) {
        out.push_back({listen_fds_start + static_cast<int>(i),
                       names.empty() ? std::string("unknown") : std::move(names[i])});
    }
    return out;
}

core::result<std::optional<int>> select_listen_fd(const std::vector<listen_fd>& fds,
                                                  std::string_view name) {
    std::optional<int> found;
    for (const auto& f : fds) {
        if (f.name != name) continue;
        if (found) {
            return core::error{
                fmt::format("socket activation: several descriptors are named \"{}\"", name)};
        }
        found = f.fd;
    }
    if (found) return found;
    if (fds.empty()) return std::optional<int>{};
    if (fds.size() == 1) return std::optional<int>{fds.front().fd};
    return core::error{
        fmt::format("socket activation: {} descriptors passed and none is named \"{}\" "
                    "(set FileDescriptorName={} in the .socket unit)",
                    fds.size(), name, name)};
}

core::result<void> check_listening_unix_socket(int fd) {
    auto fail = [fd](std::string_view what) {
        return core::error{fmt::format("socket activation: fd {} {}", fd, what)};
    };
    int value = 0;
    socklen_t len = sizeof value;
    if (::getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &value, &len) != 0) {
        return fail(fmt::format("is not a socket ({})", std::strerror(errno)));
    }
    if (value != AF_UNIX) return fail("is not an AF_UNIX socket (use ListenStream=/path)");
    len = sizeof value;
    if (::getsockopt(fd, SOL_SOCKET, SO_TYPE, &value, &len) != 0 || value != SOCK_STREAM) {
        return fail("is not a stream socket (use ListenStream=, not ListenDatagram=)");
    }
    len = sizeof value;
    if (::getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &value, &len) != 0 || value == 0) {
        return fail("is not listening (Accept=yes is not supported)");
    }
    return {};
}

core::result<std::optional<int>> take_activation_socket(std::string_view name) {
    // Copy before unsetting: getenv's pointers die with the variables.
    auto copy = [](const char* n) -> std::optional<std::string> {
        const char* v = std::getenv(n);
        return v ? std::optional<std::string>(v) : std::nullopt;
    };
    auto pid = copy("LISTEN_PID"), fds = copy("LISTEN_FDS"), names = copy("LISTEN_FDNAMES");
    ::unsetenv("LISTEN_PID");
    ::unsetenv("LISTEN_FDS");
    ::unsetenv("LISTEN_FDNAMES");
    auto c = [](const std::optional<std::string>& s) { return s ? s->c_str() : nullptr; };
    auto list = parse_listen_env(c(pid), c(fds), c(names), static_cast<long>(::getpid()));
    if (!list) return list.error();
    for (const auto& f : *list) {
        int flags = ::fcntl(f.fd, F_GETFD);
        if (flags < 0) {
            return core::error{
                fmt::format("socket activation: fd {} ({}) is not open", f.fd, f.name)};
        }
        ::fcntl(f.fd, F_SETFD, flags | FD_CLOEXEC);
    }
    auto chosen = select_listen_fd(*list, name);
    if (!chosen) return chosen.error();
    if (*chosen) {
        if (auto ok = check_listening_unix_socket(**chosen); !ok) return ok.error();
    }
    for (const auto& f : *list) {
        if (!*chosen || f.fd != **chosen) ::close(f.fd);
    }
    return chosen;
}

}  // namespace taskpoller::daemon
