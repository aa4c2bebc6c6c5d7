// Creating (or checking) the control socket. Start-up code: plain POSIX calls, clear messages.
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "control/server_state.hpp"

namespace taskpoller::control::detail {

namespace {

core::error sys_error(std::string_view what, const std::string& path, int err = errno) {
    return core::error{fmt::format("control socket {}: {}: {}", path, what, std::strerror(err))};
}

struct fd_guard {
    int fd = -1;
    ~fd_guard() {
        if (fd >= 0) ::close(fd);
    }
    int release() { return std::exchange(fd, -1); }
};

core::result<sockaddr_un> make_address(const std::string& path) {
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (path.empty() || path.size() >= sizeof(addr.sun_path))
        return core::error{fmt::format("control socket path '{}' is empty or longer than {} bytes",
                                       path, sizeof(addr.sun_path) - 1)};
    std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
    return addr;
}

// A leftover socket file from a crashed daemon is removed; a live one (another daemon) or any
// other kind of file is left alone and reported.
core::result<void> remove_stale(const std::string& path, const sockaddr_un& addr) {
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0) {
        if (errno == ENOENT) return {};
        return sys_error("cannot inspect existing file", path);
    }
    if (!S_ISSOCK(st.st_mode))
        return core::error{fmt::format("control socket {}: exists and is not a socket", path)};
    fd_guard probe{::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)};
    if (probe.fd < 0) return sys_error("socket()", path);
    if (::connect(probe.fd, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) == 0)
        return core::error{
            fmt::format("control socket {}: another process is listening on it", path)};
    if (errno != ECONNREFUSED) return sys_error("cannot probe existing socket", path);
    if (::unlink(path.c_str()) != 0 && errno != ENOENT)
        return sys_error("cannot remove stale socket", path);
    return {};
}

}  // namespace

core::result<int> open_unix_listener(const std::string& path, unsigned mode,
                                     const std::string& group) {
    auto addr = make_address(path);
    if (!addr) return addr.error();
    std::optional<gid_t> gid;
    if (!group.empty()) {
        auto g = resolve_group(group);
        if (!g) return core::error{fmt::format("control socket {}: {}", path, g.error().message)};
        gid = *g;
    }
    if (auto r = remove_stale(path, *addr); !r) return r.error();
    fd_guard fd{::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0)};
    if (fd.fd < 0) return sys_error("socket()", path);
    if (::bind(fd.fd, reinterpret_cast<const sockaddr*>(&*addr), sizeof(*addr)) != 0)
        return sys_error("bind()", path);
    // Mode and group are set before listen(): until then nobody can connect, so there is no
    // window in which the umask's mode is in effect for a live socket.
    auto fail = [&](std::string_view what) {
        int err = errno;
        ::unlink(path.c_str());
        return sys_error(what, path, err);
    };
    if (::chmod(path.c_str(), static_cast<mode_t>(mode)) != 0) return fail("chmod()");
    if (gid && ::chown(path.c_str(), static_cast<uid_t>(-1), *gid) != 0) return fail("chown()");
    if (::listen(fd.fd, SOMAXCONN) != 0) return fail("listen()");
    return fd.release();
}

core::result<void> check_listening_unix_fd(int fd) {
    int domain = 0, type = 0, listening = 0;
    socklen_t len = sizeof(int);
    const std::string what = fmt::format("fd {}", fd);
    if (::getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) != 0)
        return sys_error("not a socket", what);
    len = sizeof(int);
    ::getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len);
    len = sizeof(int);
    ::getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len);
    if (domain != AF_UNIX || type != SOCK_STREAM || !listening)
        return core::error{
            fmt::format("control socket {}: must be a listening AF_UNIX stream socket", what)};
    return {};
}

}  // namespace taskpoller::control::detail
