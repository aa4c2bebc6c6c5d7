#pragma once
// Process signals, delivered on the event loop through asio::signal_set.
//   SIGHUP          -> the reload callback (ignored once shutdown has begun).
//   SIGTERM/SIGINT  -> first: the shutdown callback (graceful: stop accepting, drain, exit 0);
//                      second: immediate _exit(128 + signal), i.e. 143 for SIGTERM and 130 for
//                      SIGINT, the status a shell reports for a process killed by that signal.
//                      No destructors run and nothing is flushed: it is the operator's way out
//                      of a shutdown that hangs.
//   SIGPIPE         -> ignored for the whole process (a vanished client or log reader must
//                      produce EPIPE, not kill the daemon).

#include <functional>
#include <memory>

#include "core/logger.hpp"

namespace boost::asio {
class io_context;
}

namespace taskpoller::daemon {

/// Exit status of the second-signal exit: 128 + signo.
constexpr int forced_exit_status(int signo) noexcept {
    return 128 + signo;
}

struct signal_callbacks {
    std::function<void()> reload;       ///< SIGHUP
    std::function<void(int)> shutdown;  ///< first SIGTERM/SIGINT, with the signal number
};

/// Installs the handlers on construction (and SIG_IGN for SIGPIPE). Only one instance may exist
/// at a time (signal_set registrations are process-wide). Callbacks run on the io_context's
/// thread. While alive it keeps the io_context busy (it waits for the second signal even after
/// shutdown began); call cancel() when the daemon has drained so io_context::run() can return.
/// Destruction also cancels.
class signal_handler {
  public:
    signal_handler(boost::asio::io_context& io, signal_callbacks cb, core::logger log);
    ~signal_handler();
    signal_handler(const signal_handler&) = delete;
    signal_handler& operator=(const signal_handler&) = delete;

    /// Stops waiting for signals; the signals then get their default action again.
    void cancel();
    /// True once the first SIGTERM/SIGINT arrived.
    bool shutting_down() const noexcept;

  private:
    struct impl;
    std::shared_ptr<impl> impl_;
};

}  // namespace taskpoller::daemon
