#pragma once
// Turns the validated configuration (lib/config) into the settings each module takes. The one
// place that knows both sides: config/ knows nothing of the engine, the engine nothing of YAML.

#include "config/config.hpp"
#include "control/server.hpp"
#include "core/result.hpp"
#include "daemon/logging.hpp"
#include "engine/tracker.hpp"
#include "http/client.hpp"
#include "qcloud/signer.hpp"
#include "store/journal.hpp"
#include "store/types.hpp"

namespace taskpoller::daemon {

http::client_options http_options(const config::daemon_config& c);

/// The engine's settings, registry overrides applied. Fails naming the service/action when an
/// override is refused by the registry.
core::result<engine::tracker_config> tracker_settings(const config::daemon_config& c);

store::store_options store_settings(const config::daemon_config& c);

/// The journal's options (mode, compaction size); `recover` is --recover. The caller adds the
/// logger and the on_dirty hook.
store::journal_options journal_settings(const config::daemon_config& c, bool recover);

log_options log_settings(const config::daemon_config& c);

qcloud::credentials credentials_of(const config::daemon_config& c);

/// The control socket's options; `listen_fd` >= 0 adopts a socket-activated descriptor.
/// Fails when an admin group cannot be resolved.
core::result<control::server_options> server_settings(const config::daemon_config& c,
                                                      int listen_fd);

}  // namespace taskpoller::daemon
