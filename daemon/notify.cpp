#include "daemon/notify.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <ctime>

namespace taskpoller::daemon {

namespace {

std::string sanitize_status(std::string_view text) {
    std::string out(text);
    for (char& c : out) {
        if (c == '\n' || c == '\r') c = ' ';
    }
    return out;
}

core::result<unsigned long long> parse_unsigned(const char* s, std::string_view name) {
    unsigned long long v = 0;
    const char* end = s + std::strlen(s);
    auto [p, ec] = std::from_chars(s, end, v);
    if (ec != std::errc() || p != end || p == s) {
        return core::error{fmt::format("{}=\"{}\" is not a non-negative integer", name, s)};
    }
    return v;
}

}  // namespace

notify_sequencer::notify_sequencer(std::chrono::milliseconds status_interval)
    : status_interval_(status_interval) {}

std::string notify_sequencer::with_status(std::string head, std::string_view status,
                                          clock::time_point now) {
    if (status.empty()) return head;
    last_status_ = sanitize_status(status);
    last_status_at_ = now;
    pending_status_.reset();
    return head + "\nSTATUS=" + last_status_;
}

std::optional<std::string> notify_sequencer::ready(std::string_view status, clock::time_point now) {
    if (state_ != notify_state::starting) return std::nullopt;
    state_ = notify_state::ready;
    return with_status("READY=1", status, now);
}

std::optional<std::string> notify_sequencer::reloading(std::chrono::microseconds monotonic_usec) {
    if (state_ != notify_state::ready) return std::nullopt;
    state_ = notify_state::reloading;
    return fmt::format("RELOADING=1\nMONOTONIC_USEC={}", monotonic_usec.count());
}

std::optional<std::string> notify_sequencer::reloaded(std::string_view status,
                                                      clock::time_point now) {
    if (state_ != notify_state::reloading) return std::nullopt;
    state_ = notify_state::ready;
    return with_status("READY=1", status, now);
}

std::optional<std::string> notify_sequencer::stopping() {
    state_ = notify_state::stopping;
    if (stopping_sent_) return std::nullopt;
    stopping_sent_ = true;
    return "STOPPING=1";
}

std::optional<std::string> notify_sequencer::status(std::string_view text, clock::time_point now) {
    std::string s = sanitize_status(text);
    if (s == last_status_ && last_status_at_) {
        pending_status_.reset();  // back to what systemd already shows
        return std::nullopt;
    }
    if (!last_status_at_ || now - *last_status_at_ >= status_interval_) {
        last_status_ = std::move(s);
        last_status_at_ = now;
        pending_status_.reset();
        return "STATUS=" + last_status_;
    }
    pending_status_ = std::move(s);
    return std::nullopt;
}

std::optional<notify_sequencer::clock::time_point> notify_sequencer::status_due() const {
    if (!pending_status_) return std::nullopt;
    return *last_status_at_ + status_interval_;
}

std::optional<std::string> notify_sequencer::flush_status(clock::time_point now) {
    auto due = status_due();
    if (!due || now < *due) return std::nullopt;
    std::string s = std::move(*pending_status_);
    pending_status_.reset();
    return status(s, now);
}

core::result<std::optional<std::chrono::microseconds>> watchdog_interval(const char* watchdog_usec,
                                                                         const char* watchdog_pid,
                                                                         long self_pid) {
    using result_t = std::optional<std::chrono::microseconds>;
    if (watchdog_usec == nullptr) return result_t{};
    auto usec = parse_unsigned(watchdog_usec, "WATCHDOG_USEC");
    if (!usec) return usec.error();
    if (watchdog_pid != nullptr) {
        auto pid = parse_unsigned(watchdog_pid, "WATCHDOG_PID");
        if (!pid) return pid.error();
        if (*pid != static_cast<unsigned long long>(self_pid)) return result_t{};
    }
    if (*usec == 0) return result_t{};
    // Half the timeout, as sd_watchdog_enabled(3) advises; at least 1us so a timer never spins.
    auto half = std::max<unsigned long long>(*usec / 2, 1);
    return result_t{std::chrono::microseconds(static_cast<long long>(half))};
}

core::result<notify_socket> notify_socket::open(std::string_view address) {
    sockaddr_un sa{};
    if (address.size() < 2 || (address[0] != '/' && address[0] != '@')) {
        return core::error{fmt::format(
            "NOTIFY_SOCKET=\"{}\": only absolute paths and '@abstract' names are supported",
            address)};
    }
    if (address.size() >= sizeof(sa.sun_path)) {
        return core::error{fmt::format("NOTIFY_SOCKET=\"{}\": address too long", address)};
    }
    int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return core::error{fmt::format("NOTIFY_SOCKET: socket(): {}", std::strerror(errno))};
    }
    return notify_socket(fd, std::string(address));
}

notify_socket::notify_socket(notify_socket&& o) noexcept
    : fd_(std::exchange(o.fd_, -1)), address_(std::move(o.address_)) {}

notify_socket& notify_socket::operator=(notify_socket&& o) noexcept {
    if (this != &o) {
        if (fd_ >= 0) ::close(fd_);
        fd_ = std::exchange(o.fd_, -1);
        address_ = std::move(o.address_);
    }
    return *this;
}

notify_socket::~notify_socket() {
    if (fd_ >= 0) ::close(fd_);
}

core::result<void> notify_socket::send(std::string_view datagram) const {
    sockaddr_un sa{};
    sa.sun_family = AF_UNIX;
    std::memcpy(sa.sun_path, address_.data(), address_.size());
    if (address_[0] == '@') sa.sun_path[0] = '\0';  // abstract namespace: no trailing NUL
    auto len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + address_.size());
    ssize_t n = ::sendto(fd_, datagram.data(), datagram.size(), MSG_DONTWAIT | MSG_NOSIGNAL,
                         reinterpret_cast<const sockaddr*>(&sa), len);
    if (n < 0) {
        return core::error{
            fmt::format("sending to NOTIFY_SOCKET {}: {}", address_, std::strerror(errno))};
    }
    if (static_cast<std::size_t>(n) != datagram.size()) {
        return core::error{fmt::format("sending to NOTIFY_SOCKET {}: short write", address_)};
    }
    return {};
}

std::chrono::microseconds monotonic_now() {
    timespec ts{};
    ::clock_gettime(CLOCK_MONOTONIC, &ts);
    return std::chrono::microseconds(static_cast<long long>(ts.tv_sec) * 1'000'000 +
                                     ts.tv_nsec / 1000);
}

}  // namespace taskpoller::daemon
