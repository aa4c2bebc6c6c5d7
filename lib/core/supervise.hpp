#pragma once
// Supervision of the daemon's coroutines (docs/design.md "Faults"): nothing that matters is
// spawned detached. Each long-running coroutine gets a completion handler from here that logs
// an escaped exception at `critical`, naming the piece, and then either restarts that piece or
// ends the daemon with a non-zero status (systemd restarts it, the journal replays), whichever
// is safe for that piece. A counter that spans a co_await is released by a scope_exit, so an
// exception cannot leak it.

#include <chrono>
#include <exception>
#include <functional>
#include <string>
#include <utility>

#include "core/logger.hpp"
#include "core/scope_exit.hpp"

namespace taskpoller::core {

/// How often a piece may be restarted: at most `max_restarts` within `window`. Beyond that the
/// fault keeps coming back, and restarting it again would only hide it in a hot loop. I/O-free.
class restart_budget {
  public:
    restart_budget(unsigned max_restarts, std::chrono::steady_clock::duration window)
        : max_(max_restarts), window_(window) {}

    /// Records a fault at `now`; true if the piece may be restarted.
    bool allow(std::chrono::steady_clock::time_point now) {
        if (count_ == 0 || now - window_start_ >= window_) {
            window_start_ = now;
            count_ = 0;
        }
        return ++count_ <= max_;
    }
    unsigned max_restarts() const noexcept { return max_; }

  private:
    unsigned max_;
    std::chrono::steady_clock::duration window_;
    std::chrono::steady_clock::time_point window_start_{};
    unsigned count_ = 0;
};

/// What an exception_ptr holds, for a log line: what() of a std::exception, else a placeholder.
std::string describe(const std::exception_ptr& e);

/// Called when a piece of the daemon failed in a way that is not safe to restart: ends the
/// daemon with a non-zero status (daemon/app.cpp). The argument says what failed and why.
using fault_handler = std::function<void(const std::string& what)>;

/// A co_spawn completion handler for a coroutine whose failure must end the daemon: on an
/// exception, logs it at critical naming `piece` and calls `fatal`. An empty `fatal` terminates
/// the process (std::terminate): never a silent stop.
inline auto fatal_on_exception(logger log, std::string piece, fault_handler fatal) {
    return [log = std::move(log), piece = std::move(piece),
            fatal = std::move(fatal)](std::exception_ptr e) {
        if (!e) return;
        std::string why = piece + " failed: " + describe(e);
        log.critical("{}; ending the daemon (a restart replays the journal)", why);
        if (!fatal) std::terminate();
        fatal(why);
    };
}

}  // namespace taskpoller::core
