#pragma once
// Drives notify_sequencer from the event loop: sends its datagrams to $NOTIFY_SOCKET, flushes
// rate-limited STATUS updates on a timer, and pings the watchdog from an asio::steady_timer on
// the same io_context, so a stuck loop stops the pings and systemd restarts the service.

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "core/logger.hpp"

namespace boost::asio {
class io_context;
}

namespace taskpoller::daemon {

/// The environment systemd gives a Type=notify service, captured once.
struct notify_environment {
    std::optional<std::string> notify_socket;  ///< $NOTIFY_SOCKET
    std::optional<std::string> watchdog_usec;  ///< $WATCHDOG_USEC
    std::optional<std::string> watchdog_pid;   ///< $WATCHDOG_PID
    long self_pid = 0;                         ///< getpid() when captured

    /// Reads the variables of the current process. The variables are left in place.
    static notify_environment from_process();
};

/// Everything is a no-op when NOTIFY_SOCKET is absent (not started by systemd) or unusable
/// (logged once as a warning). Send failures are logged (rate-limited to one per minute) and
/// never stop the daemon. Must be used from the io_context's thread only. Timers hold shared
/// state, so destroying the notifier while its handlers are queued is safe.
class notifier {
  public:
    /// `status_interval`: minimum spacing of STATUS updates. Watchdog pings start at once (first
    /// ping immediately) when WATCHDOG_USEC applies to this process.
    notifier(boost::asio::io_context& io, core::logger log, notify_environment env,
             std::chrono::milliseconds status_interval = std::chrono::milliseconds(1000));
    ~notifier();
    notifier(const notifier&) = delete;
    notifier& operator=(const notifier&) = delete;

    /// True when datagrams actually go somewhere.
    bool enabled() const noexcept;
    /// The watchdog ping period (half of WATCHDOG_USEC), or nullopt when there is no watchdog.
    std::optional<std::chrono::microseconds> watchdog_interval() const noexcept;

    /// READY=1 (+STATUS), once the control socket serves.
    void ready(std::string_view status = {});
    /// RELOADING=1 + MONOTONIC_USEC, in one datagram, when a reload starts.
    void reloading();
    /// READY=1 (+STATUS) when the reload has finished (applied or rejected).
    void reloaded(std::string_view status = {});
    /// A live status line; rate-limited and only sent when it changed.
    void status(std::string_view text);
    /// STOPPING=1, then cancels the watchdog and status timers so io_context::run() can return
    /// once the rest of the daemon has stopped. Later calls other than status() do nothing.
    void stopping();

  private:
    struct impl;
    std::shared_ptr<impl> impl_;
};

}  // namespace taskpoller::daemon
