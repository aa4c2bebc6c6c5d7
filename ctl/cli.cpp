#include "ctl/cli.hpp"

#include <CLI/CLI.hpp>
#include <functional>
#include <ostream>

#include "ctl/commands.hpp"
#include "ctl/duration.hpp"
#include "ctl/help_text.hpp"
#include "ctl/render.hpp"

namespace taskpoller::ctl {
namespace {

constexpr const char* default_socket = "/run/taskpoller/taskpoller.sock";

// Duration options are read as text and converted after parsing, so errors read the same
// everywhere.
struct duration_opt {
    std::string text;
    std::optional<std::chrono::milliseconds>* target;
    const char* name;
};

struct globals {
    std::string socket;
    std::string timeout = "30s";
    bool json = false;
    bool no_color = false;
};

void add_poll_options(CLI::App* c, std::string& timeout, std::string& interval) {
    c->add_option("--timeout", timeout,
                  "Deadline of each task in the daemon (poll.timeout), e.g. 10m");
    c->add_option("--poll-interval", interval,
                  "How often the daemon polls (poll.interval), e.g. 5s");
}

}  // namespace

int run_cli(int argc, const char* const* argv, const environment& env, std::ostream& out,
            std::ostream& err) {
    CLI::App app{"taskpollerctl: control taskpollerd over its Unix socket.", "taskpollerctl"};
    app.footer(help::main_footer);
    app.fallthrough();
    app.require_subcommand(1);
    app.set_version_flag("--version", "taskpollerctl " TASKPOLLER_VERSION);
    globals g;
    g.socket = env.socket != nullptr && env.socket[0] != '\0' ? env.socket : default_socket;
    app.add_option("-s,--socket", g.socket,
                   "The daemon's socket (default: $TASKPOLLER_SOCKET, then " +
                       std::string(default_socket) + ")");
    app.add_flag("--json", g.json, "Print the daemon's JSON as received (for scripts)");
    app.add_option("--timeout", g.timeout,
                   "Bound on each request to the daemon (connect, send, answer); default 30s")
        ->capture_default_str();
    app.add_flag("--no-color", g.no_color, "No ANSI colour (also when NO_COLOR is set)");

    std::function<int(const context&)> action;

    submit_args sub;
    std::string sub_timeout, sub_interval, sub_wait_timeout, sub_wait_interval = "1s";
    auto* c = app.add_subcommand("submit", "Submit a batch call (POST /v1/batches)");
    c->footer(help::submit_footer);
    c->add_option("SERVICE", sub.service, "Service, e.g. cvm, lb")->required();
    c->add_option("ACTION", sub.action, "Action, e.g. StopInstances")->required();
    c->add_option("--param", sub.params, "KEY=VALUE, string value at a dotted path (repeatable)");
    c->add_option("--param-json", sub.param_jsons, "KEY=JSON, any JSON value at a dotted path");
    c->add_option("--params-json", sub.params_json,
                  "The whole params object: JSON or @FILE (@- = stdin)");
    c->add_option("--region", sub.region, "Region, e.g. ap-guangzhou (default: the daemon's)");
    c->add_option("--label", sub.labels, "KEY=VALUE label (repeatable)");
    c->add_option("--client-token", sub.client_token,
                  "Idempotency token: a repeat returns the same batch");
    add_poll_options(c, sub_timeout, sub_interval);
    c->add_flag("--wait", sub.wait, "Then wait like `taskpollerctl wait`");
    c->add_option("--wait-timeout", sub_wait_timeout,
                  "With --wait: give up after this long (exit 2)");
    c->add_option("--wait-interval", sub_wait_interval, "With --wait: progress refresh interval");
    c->callback([&] { action = [&](const context& x) { return run_submit(x, sub); }; });

    track_args tr;
    std::string tr_timeout, tr_interval;
    c = app.add_subcommand("track", "Track an existing requestId (POST /v1/tasks)");
    c->footer(help::track_footer);
    c->add_option("SERVICE", tr.service, "Service, e.g. lb")->required();
    c->add_option("REQUEST_ID", tr.request_id, "The requestId to track")->required();
    c->add_option("--action", tr.action, "The action that produced it");
    c->add_option("--resource", tr.resources, "Resource id the task acts on (repeatable)");
    c->add_option("--region", tr.region, "Region of the task");
    c->add_option("--label", tr.labels, "KEY=VALUE label (repeatable)");
    add_poll_options(c, tr_timeout, tr_interval);
    c->callback([&] { action = [&](const context& x) { return run_track(x, tr); }; });

    std::string get_id;
    c = app.add_subcommand("get", "Show a batch (BATCH_ID) or a task (SERVICE/REQUEST_ID)");
    c->footer(help::get_footer);
    c->add_option("ID", get_id, "BATCH_ID or SERVICE/REQUEST_ID")->required();
    c->callback([&] { action = [&](const context& x) { return run_get(x, get_id); }; });

    list_args ls;
    std::uint32_t limit = 0;
    c = app.add_subcommand("list", "List batches or tasks, with filters");
    c->footer(help::list_footer);
    c->add_option("KIND", ls.kind, "batches (default) or tasks")
        ->check(CLI::IsMember({"batches", "tasks"}));
    c->add_option("--state", ls.state, "Only this state");
    c->add_option("--service", ls.service, "Only this service");
    c->add_option("--action", ls.action, "Only this action");
    c->add_option("--batch", ls.batch, "Only tasks of this batch (tasks only)");
    c->add_option("--label", ls.labels, "Only items with label KEY=VALUE (repeatable)");
    auto* limit_opt = c->add_option("--limit", limit, "Page size")->check(CLI::Range(1u, 100000u));
    c->add_option("--page-token", ls.page_token, "Continue from this page token");
    c->add_flag("--all", ls.all, "Follow next_page_token to the end");
    c->callback([&] {
        if (limit_opt->count() > 0) ls.limit = limit;
        action = [&](const context& x) { return run_list(x, ls); };
    });

    wait_args wt;
    std::string wt_timeout, wt_interval = "1s";
    c = app.add_subcommand("wait", "Wait until batches/tasks finish, with live progress");
    c->footer(help::wait_footer);
    c->add_option("ID", wt.ids, "BATCH_ID or SERVICE/REQUEST_ID (one or more)")->required();
    c->add_option("--timeout", wt_timeout, "Give up after this long (exit 2); default: no limit");
    c->add_option("--interval", wt_interval, "Progress refresh interval (long-poll length)");
    c->callback([&] { action = [&](const context& x) { return run_wait(x, wt); }; });

    watch_args wa;
    c = app.add_subcommand("watch", "Follow the live event stream (GET /v1/events)");
    c->footer(help::watch_footer);
    c->add_option("--since", wa.since, "Start after event number SEQ (the last one you saw)");
    c->add_option("--max-events", wa.max_events, "Stop after this many events");
    c->callback([&] { action = [&](const context& x) { return run_watch(x, wa); }; });

    std::string cancel_id;
    c = app.add_subcommand("cancel", "Stop tracking a batch or a task (state cancelled)");
    c->footer(help::cancel_footer);
    c->add_option("ID", cancel_id, "BATCH_ID or SERVICE/REQUEST_ID")->required();
    c->callback([&] { action = [&](const context& x) { return run_cancel(x, cancel_id); }; });

    const std::pair<const char*, int (*)(const context&)> simple[] = {{"status", run_status},
                                                                      {"reload", run_reload},
                                                                      {"metrics", run_metrics},
                                                                      {"ping", run_ping}};
    const char* simple_help[] = {"Daemon status: version, uptime, counts, rate limits",
                                 "Reload the daemon's configuration",
                                 "Prometheus metrics (raw text)", "Check that the daemon answers"};
    for (std::size_t i = 0; i < std::size(simple); ++i) {
        c = app.add_subcommand(simple[i].first, simple_help[i]);
        c->footer(help::simple_footer(simple[i].first));
        auto fn = simple[i].second;
        c->callback([&action, fn] { action = fn; });
    }

    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        const int rc = app.exit(e, out, err);
        return rc == 0 ? 0 : 3;
    }

    context ctx;
    ctx.out = &out;
    ctx.err = &err;
    ctx.json = g.json;
    ctx.interactive = env.stdout_is_tty;
    ctx.colour = colour_enabled(env.stdout_is_tty, g.no_color, env.no_color);
    ctx.client.socket_path = g.socket;
    std::optional<std::chrono::milliseconds> req_timeout, wait_interval, sub_wi;
    std::optional<std::chrono::milliseconds> sub_wait_t;
    const duration_opt conv[] = {{g.timeout, &req_timeout, "--timeout"},
                                 {sub_timeout, &sub.poll.timeout, "--timeout"},
                                 {sub_interval, &sub.poll.interval, "--poll-interval"},
                                 {sub_wait_timeout, &sub_wait_t, "--wait-timeout"},
                                 {sub_wait_interval, &sub_wi, "--wait-interval"},
                                 {tr_timeout, &tr.poll.timeout, "--timeout"},
                                 {tr_interval, &tr.poll.interval, "--poll-interval"},
                                 {wt_timeout, &wt.timeout, "--timeout"},
                                 {wt_interval, &wait_interval, "--interval"}};
    for (const auto& d : conv) {
        if (d.text.empty()) continue;
        auto v = parse_duration(d.text);
        if (!v) {
            err << "taskpollerctl: " << d.name << ": " << v.error().message << '\n';
            return 3;
        }
        *d.target = *v;
    }
    if (req_timeout) ctx.client.timeout = std::max(*req_timeout, std::chrono::milliseconds{1});
    if (wait_interval) wt.interval = *wait_interval;
    if (sub_wi) sub.wait_interval = *sub_wi;
    sub.wait_timeout = sub_wait_t;
    return action ? action(ctx) : 3;
}

}  // namespace taskpoller::ctl
