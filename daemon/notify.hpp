#pragma once
// systemd readiness protocol (sd_notify(3), systemd 252 semantics), split in two:
// `notify_sequencer` decides which datagram to send and when (no I/O, injected time), and
// `notify_socket` delivers a datagram to $NOTIFY_SOCKET. `notifier` (notifier.hpp) drives both
// from the event loop.

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "core/result.hpp"

namespace taskpoller::daemon {

/// The protocol states a service walks through; datagrams are legal only in some of them.
enum class notify_state { starting, ready, reloading, stopping };

/// Produces the exact datagrams of the readiness protocol and rate-limits STATUS updates.
/// Every method returns the datagram to send now, or nullopt when nothing must be sent (a
/// repeated or out-of-order call is ignored rather than confusing systemd). Not thread-safe.
class notify_sequencer {
  public:
    using clock = std::chrono::steady_clock;

    /// `status_interval`: minimum spacing between two STATUS-only datagrams.
    explicit notify_sequencer(
        std::chrono::milliseconds status_interval = std::chrono::milliseconds(1000));

    notify_state state() const noexcept { return state_; }

    /// Serving for the first time: "READY=1" (+ "\nSTATUS=<status>" when non-empty).
    /// Only from `starting`.
    std::optional<std::string> ready(std::string_view status, clock::time_point now);

    /// Start of a reload: "RELOADING=1\nMONOTONIC_USEC=<monotonic_usec>" as ONE datagram, so
    /// systemd can tell this reload from an earlier one. Only from `ready`.
    std::optional<std::string> reloading(std::chrono::microseconds monotonic_usec);

    /// End of a reload, whether the new configuration was applied or rejected: "READY=1"
    /// (+ STATUS). Only from `reloading`.
    std::optional<std::string> reloaded(std::string_view status, clock::time_point now);

    /// Shutdown has begun: "STOPPING=1", once, from any state. Later STATUS updates still pass.
    std::optional<std::string> stopping();

    /// A live STATUS line. Sent at once when it differs from the last one sent and at least
    /// `status_interval` has passed since then; otherwise kept as pending (the newest wins) until
    /// `flush_status`. An unchanged status is never sent twice. Newlines are replaced by spaces
    /// (a newline would start a new assignment in the datagram).
    std::optional<std::string> status(std::string_view text, clock::time_point now);

    /// When a pending STATUS may be sent, or nullopt if none is pending.
    std::optional<clock::time_point> status_due() const;

    /// The pending STATUS datagram if it is due at `now`.
    std::optional<std::string> flush_status(clock::time_point now);

    /// "WATCHDOG=1". Stateless; the caller owns the cadence (see watchdog_interval()).
    static std::string watchdog() { return "WATCHDOG=1"; }

  private:
    std::string with_status(std::string head, std::string_view status, clock::time_point now);

    std::chrono::milliseconds status_interval_;
    notify_state state_ = notify_state::starting;
    bool stopping_sent_ = false;
    std::string last_status_;
    std::optional<clock::time_point> last_status_at_;
    std::optional<std::string> pending_status_;
};

/// The ping cadence for a watchdog configured by WATCHDOG_USEC / WATCHDOG_PID (as systemd sets
/// them): half of WATCHDOG_USEC. nullopt when there is no watchdog (variable unset, 0, or
/// WATCHDOG_PID names another process); an error when a value is not a number.
core::result<std::optional<std::chrono::microseconds>> watchdog_interval(const char* watchdog_usec,
                                                                         const char* watchdog_pid,
                                                                         long self_pid);

/// A connected-less AF_UNIX datagram sender for the address in $NOTIFY_SOCKET.
/// Move-only; closes its descriptor on destruction.
class notify_socket {
  public:
    /// Parses `address` ("/path" or "@abstract") and opens a CLOEXEC datagram socket.
    /// Fails with a clear message on an unsupported or over-long address.
    static core::result<notify_socket> open(std::string_view address);

    notify_socket(notify_socket&& o) noexcept;
    notify_socket& operator=(notify_socket&& o) noexcept;
    notify_socket(const notify_socket&) = delete;
    notify_socket& operator=(const notify_socket&) = delete;
    ~notify_socket();

    /// Sends one datagram without blocking (MSG_DONTWAIT|MSG_NOSIGNAL): a full or vanished
    /// receiver must never stall the event loop. Returns the errno-based error on failure.
    core::result<void> send(std::string_view datagram) const;

    const std::string& address() const noexcept { return address_; }

  private:
    notify_socket(int fd, std::string address) : fd_(fd), address_(std::move(address)) {}
    int fd_ = -1;
    std::string address_;
};

/// CLOCK_MONOTONIC now, in microseconds (the clock MONOTONIC_USEC is defined on).
std::chrono::microseconds monotonic_now();

}  // namespace taskpoller::daemon
