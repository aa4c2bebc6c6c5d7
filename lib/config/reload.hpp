#pragma once
// What a reload (SIGHUP, POST /v1/reload) can apply while running, and what needs a restart.

#include <string>
#include <vector>

#include "config/config.hpp"

namespace taskpoller::config {

/// The key paths, in file order, whose change only takes effect after a restart:
/// control.socket, control.mode, control.group (the socket is bound once), store.backend and
/// store.postgres.* (the store and its lease are set up once, issue 19), store.journal,
/// store.durability, store.snapshot_size (the journal is opened once), cloud.ca_file,
/// cloud.insecure_skip_verify, cloud.max_connections_per_host (the TLS context and connection
/// pools are built once). Everything else applies on reload.
const std::vector<std::string>& restart_settings();

/// The restart-only settings that differ between `old_config` and `new_config`, as key paths
/// (e.g. "control.socket"); empty when the new configuration can be applied in full.
std::vector<std::string> diff_requires_restart(const daemon_config& old_config,
                                               const daemon_config& new_config);

/// What the running daemon should use after a reload: `new_config` with every restart-only
/// setting kept at its value in `old_config` (they keep working until the restart).
daemon_config apply_reloadable(const daemon_config& old_config, const daemon_config& new_config);

}  // namespace taskpoller::config
