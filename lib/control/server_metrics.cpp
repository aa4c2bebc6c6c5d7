// The control server's own metrics (taskpoller_control_*).
#include <array>

#include "control/server_state.hpp"

namespace taskpoller::control::detail {

namespace {
// Bounded label values: unknown methods are counted as "other".
std::string_view method_label(std::string_view m) {
    static constexpr std::array<std::string_view, 7> known = {"GET",    "HEAD",  "POST",   "PUT",
                                                              "DELETE", "PATCH", "OPTIONS"};
    for (auto k : known)
        if (k == m) return k;
    return "other";
}
}  // namespace

void server_state::register_metrics() {
    if (!opts.metrics) return;
    auto& m = *opts.metrics;
    requests_total = &m.add_counter("taskpoller_control_requests_total",
                                    "Control API requests by method, route pattern and status.",
                                    {"method", "route", "code"});
    request_seconds = &m.add_histogram(
        "taskpoller_control_request_duration_seconds",
        "Control API request latency (header read to response ready), by route pattern.", {"route"},
        {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60});
    for (const auto& r : routes.routes()) request_seconds->with({r.pattern});
    request_seconds->with({"unmatched"});
    open_connections =
        &m.add_gauge("taskpoller_control_connections", "Open control socket connections.").with();
    rejected_connections = &m.add_counter("taskpoller_control_connections_rejected_total",
                                          "Connections refused because of max_connections, "
                                          "max_connections_per_uid or the admin reservation.")
                                .with();
    evicted_connections = &m.add_counter("taskpoller_control_connections_evicted_total",
                                         "Idle keep-alive connections closed to make room.")
                               .with();
    auto& waiting = m.add_gauge("taskpoller_control_waiters",
                                "Active long-polls and event streams holding a waiter slot.")
                        .with();
    m.on_collect([weak = weak_from_this(), &waiting] {
        if (auto self = weak.lock()) waiting.set(static_cast<double>(self->waiter_count.active()));
    });
}

void server_state::record(std::string_view method, std::string_view route, unsigned status,
                          std::chrono::steady_clock::duration took) {
    if (!requests_total) return;
    requests_total
        ->with({std::string(method_label(method)), std::string(route), std::to_string(status)})
        .inc();
    request_seconds->with({std::string(route)})
        .observe(std::chrono::duration<double>(took).count());
}

}  // namespace taskpoller::control::detail
