#pragma once
// The control API v1 routes (docs/api.md): batches, tasks, events, status, config, reload and
// metrics, wired onto the framework's router. Handlers run on the io thread and talk to the
// store and the engine's tracker directly; every expected failure becomes an honest JSON error
// (core::error kinds: invalid → 400 invalid_argument, not_found → 404, conflict → 409).

#include <boost/asio/awaitable.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <chrono>
#include <cstddef>
#include <functional>
#include <string>
#include <vector>

#include "core/clock.hpp"

namespace taskpoller::store {
class store;
}
namespace taskpoller::engine {
class tracker;
}

namespace taskpoller::control {

class router;
class metrics_registry;
class gauge;

/// What POST /v1/reload reports. `ok` false: 400 invalid_config with `message` and `details`
/// ("file:line:col: key: message").
struct reload_outcome {
    bool ok = false;
    std::vector<std::string> restart_required;  ///< key paths that need a restart to apply
    std::string message;
    std::vector<std::string> details;
};

/// Everything the routes use. Owned by the daemon (or a test); it must outlive the router and
/// the server that serve the routes. Single-threaded (io thread).
struct api_context {
    store::store& store;
    engine::tracker& tracker;
    metrics_registry& metrics;
    const core::clock& clock;
    std::string version = "0.0.0";
    core::sys_time started_at{};
    /// The effective configuration with secrets redacted (GET /v1/config). Unset: `{}`.
    std::function<boost::json::value()> config_view;
    /// Validates and applies the configuration file again (POST /v1/reload). Unset: the route
    /// answers 503 unavailable.
    std::function<boost::asio::awaitable<reload_outcome>()> reload;
    /// The journal's state for /v1/status ("enabled" and whatever else it knows). Unset:
    /// {"enabled":false}.
    std::function<boost::json::object()> journal_status;
    /// The PostgreSQL ledger's state (ledger/node.hpp status(): role, epoch, lease, lag) for
    /// /v1/status and the taskpoller_ledger_* metrics. Unset: the journal backend (role
    /// "standalone").
    std::function<boost::json::object()> ledger_status{};
    /// Upper bound of `?wait=` long-polls, whatever the client asks.
    std::chrono::milliseconds max_wait{std::chrono::seconds{60}};
    /// Changes replayed per step of an events stream before it yields to the writer.
    std::size_t events_batch = 256;

    // Maintained by the routes and register_api_metrics (read them, do not set them).
    std::size_t events_subscribers = 0;
    gauge* reload_successful = nullptr;  ///< taskpoller_config_last_reload_successful
};

/// Adds every v1 route (and GET /_ping, GET /metrics) to `r`. `ctx` must outlive `r`'s use.
void add_api_routes(router& r, api_context& ctx);

/// Registers the taskpoller_* families of the engine and the store in ctx.metrics, with every
/// known label set at zero (states, outcomes, the registry's services and actions), and an
/// on_collect hook that copies the engine's counters and the store's counts at each render.
/// Also registers the process_* metrics (add_process_metrics) unless `process_metrics` is false.
/// Sets ctx.reload_successful (initially 1). Throws std::invalid_argument if called twice on one
/// registry (duplicate families: a start-up bug).
void register_api_metrics(api_context& ctx, bool process_metrics = true);

/// Records the outcome of a configuration reload (SIGHUP or POST /v1/reload) in
/// taskpoller_config_last_reload_successful; no-op before register_api_metrics.
void set_reload_successful(api_context& ctx, bool ok);

/// The text served by GET /metrics: the registry plus the engine's API latency histogram.
std::string render_metrics(api_context& ctx);

}  // namespace taskpoller::control
