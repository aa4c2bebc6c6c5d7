#include "store/journal_lock.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "store/journal_file.hpp"

namespace taskpoller::store {

namespace {

// The pid the holder wrote, or "" (a file being written, or from another tool).
std::string holder_pid(int fd) {
    char buf[32] = {};
    auto n = ::pread(fd, buf, sizeof buf - 1, 0);
    if (n <= 0) return {};
    std::string s(buf, static_cast<std::size_t>(n));
    while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
    if (s.empty() || s.find_first_not_of("0123456789") != std::string::npos) return {};
    return s;
}

}  // namespace

core::result<journal_lock> journal_lock::acquire(const std::string& lock_path) {
    int fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) return journal_file::os_error("open", lock_path, errno);
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
        int err = errno;
        auto pid = holder_pid(fd);
        ::close(fd);
        if (err != EWOULDBLOCK) return journal_file::os_error("flock", lock_path, err);
        return core::error{fmt::format(
            "{} is locked by another taskpollerd{}: two daemons must not share a journal "
            "(give each its own store.journal); refusing to start",
            lock_path, pid.empty() ? std::string() : fmt::format(" (pid {})", pid))};
    }
    auto text = fmt::format("{}\n", ::getpid());
    if (::ftruncate(fd, 0) == 0) (void)journal_file::write_all(fd, text, lock_path);
    return journal_lock{fd};
}

journal_lock& journal_lock::operator=(journal_lock&& o) noexcept {
    if (this != &o) {
        if (fd_ >= 0) ::close(fd_);
        fd_ = o.fd_;
        o.fd_ = -1;
    }
    return *this;
}

journal_lock::~journal_lock() {
    if (fd_ >= 0) ::close(fd_);
}

}  // namespace taskpoller::store
