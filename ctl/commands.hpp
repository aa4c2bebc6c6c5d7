#pragma once
// The taskpollerctl commands. Each takes the parsed arguments, talks to the daemon, writes to
// the context's streams and returns the process exit code (see outcome.hpp).

#include <chrono>
#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

#include "ctl/unix_client.hpp"

namespace taskpoller::ctl {

struct context {
    client_options client;
    bool json = false;             ///< print the daemon's JSON as received (output == "json")
    std::string output = "table";  ///< -o: table, wide, json, yaml or name
    bool colour = false;           ///< ANSI colour in human output
    bool interactive = false;      ///< stdout is a terminal: progress redrawn in place
    std::ostream* out = nullptr;
    std::ostream* err = nullptr;
};

struct poll_args {
    std::optional<std::chrono::milliseconds> timeout;        ///< poll.timeout (task deadline)
    std::optional<std::chrono::milliseconds> interval;       ///< poll.interval
    std::optional<std::chrono::milliseconds> initial_delay;  ///< poll.initial_delay
    std::optional<std::chrono::milliseconds> max_interval;   ///< poll.max_interval
};

struct submit_args {
    std::string service, action, region, client_token, params_json;
    std::vector<std::string> params, param_jsons, labels;
    poll_args poll;
    bool wait = false;
    std::optional<std::chrono::milliseconds> wait_timeout;
    std::chrono::milliseconds wait_interval{1000};
};

struct track_args {
    std::string service, request_id, action, region;
    std::vector<std::string> resources, labels;
    poll_args poll;
};

struct list_args {
    std::string kind = "batches";  ///< "batches" or "tasks"
    std::string state, service, action, batch, page_token;
    std::vector<std::string> labels;
    std::optional<std::uint32_t> limit;
    bool all = false;
};

struct wait_args {
    std::vector<std::string> ids;  ///< batch ids or SERVICE/REQUEST_ID
    std::optional<std::chrono::milliseconds> timeout;
    std::chrono::milliseconds interval{1000};  ///< progress refresh (long-poll length)
};

struct watch_args {
    std::optional<std::uint64_t> since;
    std::optional<std::uint64_t> max_events;
};

int run_submit(const context& ctx, const submit_args& a);
int run_track(const context& ctx, const track_args& a);
/// Chooses among tasks that share a SERVICE/REQUEST_ID (the daemon's 409 lists them).
struct task_qualifier {
    std::string region;
    std::string batch;
};

int run_get(const context& ctx, const std::string& id, const task_qualifier& q = {});
int run_list(const context& ctx, const list_args& a);
int run_wait(const context& ctx, const wait_args& a);
int run_watch(const context& ctx, const watch_args& a);
int run_cancel(const context& ctx, const std::string& id, const task_qualifier& q = {});
int run_status(const context& ctx);
int run_config(const context& ctx);
int run_doctor(const context& ctx);
int run_reload(const context& ctx);
int run_metrics(const context& ctx);
int run_ping(const context& ctx);

/// The API path of a document id: "b-1" → "/v1/batches/b-1", "lb/6356081" →
/// "/v1/tasks/lb/6356081" (segments percent-encoded). Empty for an empty id or empty halves.
std::string document_path(std::string_view id, const task_qualifier& q = {});

}  // namespace taskpoller::ctl
