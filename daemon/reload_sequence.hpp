#pragma once
// The sequence of a configuration reload (SIGHUP, POST /v1/reload), I/O-free like
// notify_sequencer: whether one may start, what its report says, and the log lines that tell an
// operator what happened. app::reload does the I/O (reads the file, builds each module's
// settings, applies them) between begin() and conclude().
//
//   begin() ── refused: shutting down, or a reload already running
//      │
//   (app: load the file; build the tracker's and the control server's settings)
//      │
//   conclude(running, loaded, errors) ── applied only if the file loaded and every module's
//      settings were built; restart_required lists the restart-only keys that changed
//      (config/reload.hpp); the reload is over either way.

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config/config.hpp"
#include "core/logger.hpp"

namespace taskpoller::daemon {

/// What a reload did (SIGHUP and POST /v1/reload share it).
struct reload_report {
    bool applied = false;
    std::vector<std::string> errors;            ///< "file:line:col: key: message"
    std::vector<std::string> restart_required;  ///< changed keys that wait for a restart
};

class reload_sequence {
  public:
    /// A reload was asked for. Returns why it cannot start now, or nullopt: it is running.
    std::optional<std::string> begin();
    /// Shutdown has begun: every later reload is refused.
    void stopping() noexcept { stopping_ = true; }
    bool running() const noexcept { return running_; }
    /// Ends a running reload without a report (its I/O threw); nothing if none is running.
    void abort() noexcept { running_ = false; }

    /// Ends the running reload. `loaded`: the new configuration, or nullptr if the file did
    /// not load; `errors`: what loading and building the modules' settings reported.
    reload_report conclude(const config::daemon_config& running,
                           const config::daemon_config* loaded, std::vector<std::string> errors);

    /// What to log about `r` (a reload of `path`), in order.
    static std::vector<std::pair<core::log_level, std::string>> log_lines(const reload_report& r,
                                                                          std::string_view path);

  private:
    bool running_ = false;
    bool stopping_ = false;
};

}  // namespace taskpoller::daemon
