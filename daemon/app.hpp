#pragma once
// taskpollerd itself: the modules wired together on one io_context, with the process behaviour
// of issue 6 (notify, signals, reload, graceful shutdown). main.cpp parses arguments, loads the
// configuration and runs one app.
//
// Lifetime: construct, start(), io_context::run(); run() returns once a shutdown has drained.

#include <boost/asio/awaitable.hpp>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "core/result.hpp"
#include "daemon/logging.hpp"
#include "daemon/reload_sequence.hpp"

namespace boost::asio {
class io_context;
}

namespace taskpoller::daemon {

/// Exit status after an internal error (EX_SOFTWARE): systemd's Restart=on-failure restarts.
inline constexpr int exit_internal_error = 70;
/// Exit status after losing the PostgreSQL ledger's lease (EX_TEMPFAIL): systemd's
/// Restart=on-failure brings the daemon back as a follower (docs/ha.md).
inline constexpr int exit_lost_lease = 75;

class app {
  public:
    /// `recover` (--recover): replay a damaged journal, skipping the damage, instead of refusing.
    app(boost::asio::io_context& io, std::filesystem::path config_path,
        std::shared_ptr<const config::daemon_config> config, logging& logs,
        std::optional<int> listen_fd, bool recover = false);
    ~app();
    app(const app&) = delete;
    app& operator=(const app&) = delete;

    /// Replays the journal (store.journal) and resumes its live tasks, opens the control socket,
    /// starts polling, tells systemd READY=1. An error is a start-up failure (exit 1): an
    /// unreadable or damaged journal (without --recover) is one.
    core::result<void> start();

    /// Validates and applies the configuration file again; the old one stays on any error.
    boost::asio::awaitable<reload_report> reload();

    /// Graceful shutdown (first SIGTERM/SIGINT): stop accepting, STOPPING=1, let requests and
    /// waits finish within the grace period, stop polling, let io_context::run() return.
    void shutdown();

    /// What the process should exit with once io_context::run() has returned: 0, or
    /// exit_internal_error after a fault supervision could not restart (docs/design.md).
    int exit_status() const noexcept;

  private:
    void spawn_reload();  // SIGHUP: reload() under supervision
    struct impl;
    std::unique_ptr<impl> impl_;
};

}  // namespace taskpoller::daemon
