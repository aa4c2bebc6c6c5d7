#include "ctl/cli.hpp"

#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <functional>
#include <ostream>

#include "ctl/commands.hpp"
#include "ctl/completion.hpp"
#include "ctl/duration.hpp"
#include "ctl/help_text.hpp"
#include "ctl/render.hpp"
#include "store/types.hpp"

namespace taskpoller::ctl {
namespace {

constexpr const char* default_socket = "/run/taskpoller/taskpoller.sock";
using opt_ms = std::optional<std::chrono::milliseconds>;

// Everything the command line can set. Duration options are read as text and converted after
// parsing (convert_durations) so their errors read the same everywhere.
class cli_state {
  public:
    explicit cli_state(const environment& env) {
        socket_ = env.socket != nullptr && env.socket[0] != '\0' ? env.socket : default_socket;
    }

    void add_globals(CLI::App& app) {
        app.add_option("-s,--socket", socket_,
                       "The daemon's socket (default: $TASKPOLLER_SOCKET, then " +
                           std::string(default_socket) + ")");
        app.add_flag("--json", json_,
                     "Same as -o json: the daemon's JSON as received (for scripts)");
        choice(app.add_option("-o,--output", output_,
                              "Output format: table, wide (more columns), json, yaml, name (ids)"),
               {"table", "wide", "json", "yaml", "name"});
        app.add_option("--timeout", timeout_,
                       "Bound on each request to the daemon (connect, send, answer)")
            ->capture_default_str();
        app.add_flag("--no-color", no_color_, "No ANSI colour (also when NO_COLOR is set)");
    }

    void add_submit(CLI::App& app) {
        auto* c =
            command(app, "submit", "Submit a batch call (POST /v1/batches)", help::submit_footer,
                    [this](const context& x) { return run_submit(x, submit_); });
        c->add_option("SERVICE", submit_.service, "Service, e.g. cvm, lb")->required();
        c->add_option("ACTION", submit_.action, "Action, e.g. StopInstances")->required();
        c->add_option("--param", submit_.params, "KEY=VALUE: a string at a dotted path");
        c->add_option("--param-json", submit_.param_jsons, "KEY=JSON: any JSON value at a path");
        c->add_option("--params-json", submit_.params_json,
                      "The whole params object: JSON or @FILE (@- = stdin)");
        c->add_option("--region", submit_.region, "Region, e.g. ap-guangzhou");
        c->add_option("--label", submit_.labels, "KEY=VALUE label (repeatable)");
        c->add_option("--client-token", submit_.client_token,
                      "Idempotency token: a repeat returns the same batch");
        add_poll_options(c, submit_.poll);
        c->add_flag("--wait", submit_.wait, "Then wait like `taskpollerctl wait`");
        duration(c, "--wait-timeout", "With --wait: give up after this long (exit 2)",
                 submit_wait_timeout_);
        duration(c, "--wait-interval", "With --wait: progress refresh interval",
                 submit_wait_every_);
    }

    void add_track(CLI::App& app) {
        auto* c =
            command(app, "track", "Track an existing requestId (POST /v1/tasks)",
                    help::track_footer, [this](const context& x) { return run_track(x, track_); });
        c->add_option("SERVICE", track_.service, "Service, e.g. lb")->required();
        c->add_option("REQUEST_ID", track_.request_id, "The requestId to track")->required();
        c->add_option("--action", track_.action, "The action that produced it");
        c->add_option("--resource", track_.resources, "Resource id of the task (repeatable)");
        c->add_option("--region", track_.region, "Region of the task");
        c->add_option("--label", track_.labels, "KEY=VALUE label (repeatable)");
        add_poll_options(c, track_.poll);
    }

    void add_get_cancel(CLI::App& app) {
        auto* c =
            command(app, "get", "Show a batch (BATCH_ID) or a task (SERVICE/REQUEST_ID)",
                    help::get_footer, [this](const context& x) { return run_get(x, id_, which_); });
        c->add_option("ID", id_, "BATCH_ID or SERVICE/REQUEST_ID")->required();
        add_qualifier_options(c);
        c = command(
            app, "cancel", "Stop tracking a batch or a task (the cloud operation itself goes on)",
            help::cancel_footer, [this](const context& x) { return run_cancel(x, id_, which_); });
        c->add_option("ID", id_, "BATCH_ID or SERVICE/REQUEST_ID")->required();
        add_qualifier_options(c);
    }

    // Several tasks can share a SERVICE/REQUEST_ID (the cloud reused it, or two regions issued
    // it); the daemon then answers 409 naming each, and these choose one.
    void add_qualifier_options(CLI::App* c) {
        c->add_option("--region", which_.region, "The task's region (when a requestId is shared)");
        c->add_option("--batch", which_.batch, "The task's batch (when a requestId is shared)");
    }

    void add_list(CLI::App& app) {
        auto* c = command(app, "list", "List batches or tasks, with filters", help::list_footer,
                          [this](const context& x) {
                              if (limit_opt_->count() > 0) list_.limit = limit_;
                              return run_list(x, list_);
                          });
        choice(c->add_option("KIND", list_.kind, "batches (default) or tasks"),
               {"batches", "tasks"});
        c->add_option("--state", list_.state, "Only this state");
        c->add_option("--service", list_.service, "Only this service");
        c->add_option("--action", list_.action, "Only this action");
        c->add_option("--batch", list_.batch, "Only tasks of this batch (tasks only)");
        c->add_option("--label", list_.labels, "Only items with label KEY=VALUE (repeatable)");
        // The daemon's own bound (store::max_page_limit): one truth for the CLI and the API.
        limit_opt_ = c->add_option("--limit", limit_, "Page size")
                         ->check(CLI::Range(std::uint32_t{1},
                                            static_cast<std::uint32_t>(store::max_page_limit)));
        c->add_option("--page-token", list_.page_token, "Continue from this page token");
        c->add_flag("--all", list_.all, "Follow next_page_token to the end");
    }

    void add_wait_watch(CLI::App& app) {
        auto* c =
            command(app, "wait", "Wait until batches/tasks finish, with live progress",
                    help::wait_footer, [this](const context& x) { return run_wait(x, wait_); });
        c->add_option("ID", wait_.ids, "BATCH_ID or SERVICE/REQUEST_ID (one or more)")->required();
        duration(c, "--timeout", "Give up after this long (exit 2); default: no limit",
                 wait_.timeout);
        duration(c, "--interval", "Progress refresh interval (long-poll length); default 1s",
                 wait_every_);
        c = command(app, "watch", "Follow the live event stream (GET /v1/events)",
                    help::watch_footer, [this](const context& x) { return run_watch(x, watch_); });
        c->add_option("--since", watch_.since, "Start after event SEQ (the last one you saw)");
        c->add_option("--max-events", watch_.max_events, "Stop after this many events");
    }

    void add_simple(CLI::App& app) {
        command(app, "status", "Daemon status: version, uptime, counts, journal, rate limits",
                help::simple_footer("status"), run_status);
        command(app, "config", "The daemon's effective configuration (secrets redacted), as YAML",
                help::config_footer, run_config);
        command(app, "doctor",
                "Check the daemon, its cloud access, credentials and journal (exit 1 on a FAIL)",
                help::doctor_footer, run_doctor);
        command(app, "reload", "Reload the daemon's configuration", help::simple_footer("reload"),
                run_reload);
        command(app, "metrics", "Prometheus metrics (raw text)", help::simple_footer("metrics"),
                run_metrics);
        command(app, "ping", "Check that the daemon answers", help::simple_footer("ping"),
                run_ping);
    }

    void add_completion(CLI::App& app) {
        auto* c = command(app, "completion", "Print a shell completion script (bash, zsh, fish)",
                          help::completion_footer, [this, &app](const context& x) {
                              *x.out << completion_script(app, shell_, choices_) << std::flush;
                              return 0;
                          });
        choice(c->add_option("SHELL", shell_, "bash, zsh or fish")->required(),
               {"bash", "zsh", "fish"});
    }

    /// Appends the global options to every command's --help (CLI11 shows only the command's).
    void add_global_help(CLI::App& app) {
        std::string text = "\nGlobal options (before or after the command):\n";
        for (const auto* o : app.get_options()) {
            if (o->get_name() == "--help" || o->get_name() == "--version") continue;
            auto name = o->get_name(false, true);
            if (o->get_expected_max() != 0) name += " " + o->get_type_name();
            if (name.size() >= 24) name += "\n" + std::string(26, ' ');
            text += fmt::format("  {:<24}{}\n", name, o->get_description());
        }
        for (auto* c : app.get_subcommands({})) c->footer(text + c->get_footer());
    }

    /// Converts the duration texts; false (after printing why) on a malformed one.
    bool convert_durations(std::ostream& err) {
        for (auto& [name, text, target] : durations_) {
            if (text->empty()) continue;
            auto v = parse_duration(*text);
            if (!v) {
                err << "taskpollerctl: " << name << ": " << v.error().message << '\n';
                return false;
            }
            *target = *v;
        }
        if (wait_every_) wait_.interval = *wait_every_;
        if (submit_wait_every_) submit_.wait_interval = *submit_wait_every_;
        submit_.wait_timeout = submit_wait_timeout_;
        return true;
    }

    context make_context(const environment& env, std::ostream& out, std::ostream& err) const {
        context ctx;
        ctx.out = &out;
        ctx.err = &err;
        ctx.output = json_ ? std::string("json") : output_;
        ctx.json = ctx.output == "json";
        ctx.interactive = env.stdout_is_tty;
        ctx.colour = colour_enabled(env.stdout_is_tty, no_color_, env.no_color);
        ctx.client.socket_path = socket_;
        if (request_timeout_) {
            ctx.client.timeout = std::max(*request_timeout_, std::chrono::milliseconds{1});
        }
        return ctx;
    }

    int run(const context& ctx) const { return action_ ? action_(ctx) : 3; }

  private:
    using action_fn = std::function<int(const context&)>;

    CLI::App* command(CLI::App& app, const char* name, const char* about, const std::string& footer,
                      action_fn fn) {
        auto* c = app.add_subcommand(name, about);
        c->footer(footer);
        c->callback([this, fn = std::move(fn)] { action_ = fn; });
        return c;
    }

    // An option limited to `values`; the values are also offered by the completion scripts.
    void choice(CLI::Option* o, std::vector<std::string> values) {
        o->check(CLI::IsMember(values));
        choices_.push_back({o, std::move(values)});
    }

    void duration(CLI::App* c, const char* name, const char* about, opt_ms& target) {
        texts_.push_back(std::make_unique<std::string>());
        c->add_option(name, *texts_.back(), about);
        durations_.push_back({name, texts_.back().get(), &target});
    }

    void add_poll_options(CLI::App* c, poll_args& p) {
        duration(c, "--timeout", "Deadline of each task in the daemon (poll.timeout), e.g. 10m",
                 p.timeout);
        duration(c, "--poll-interval",
                 "First gap between the daemon's polls of these tasks (poll.interval), e.g. 2s; "
                 "at least the daemon's polling.min_interval",
                 p.interval);
        duration(c, "--poll-initial-delay",
                 "When the daemon first polls these tasks (poll.initial_delay), e.g. 1s",
                 p.initial_delay);
        duration(c, "--poll-max-interval",
                 "Longest gap between polls of these tasks (poll.max_interval), e.g. 10s",
                 p.max_interval);
    }

    struct duration_opt {
        const char* name;
        std::string* text;
        opt_ms* target;
    };

    std::string socket_;
    std::string timeout_ = "30s";
    bool json_ = false;
    std::string output_ = "table";
    std::string shell_;
    std::vector<option_choices> choices_;
    bool no_color_ = false;
    opt_ms request_timeout_;
    submit_args submit_;
    opt_ms submit_wait_timeout_, submit_wait_every_;
    track_args track_;
    std::string id_;
    task_qualifier which_;
    list_args list_;
    std::uint32_t limit_ = 0;
    CLI::Option* limit_opt_ = nullptr;
    wait_args wait_;
    opt_ms wait_every_;
    watch_args watch_;
    std::vector<std::unique_ptr<std::string>> texts_;
    std::vector<duration_opt> durations_{{"--timeout", &timeout_, &request_timeout_}};
    action_fn action_;
};

// Whether `a` is a global option that takes a value, so the word after it is not the command.
bool global_takes_value(const CLI::App& app, std::string_view a) {
    for (const auto* o : app.get_options()) {
        if (o->get_expected_max() == 0) continue;
        for (const auto& n : o->get_snames()) {
            if (a == "-" + n) return true;
        }
        for (const auto& n : o->get_lnames()) {
            if (a == "--" + n) return true;
        }
    }
    return false;
}

// Finds the command word before CLI11 parses: none → the usage and exit 3; an unknown word →
// the closest command by edit distance and exit 3. -1 when parsing should go on.
int check_command(CLI::App& app, int argc, const char* const* argv, std::ostream& err) {
    std::vector<std::string> names;
    for (const auto* c : app.get_subcommands({})) names.push_back(c->get_name());
    for (int i = 1; i < argc; ++i) {
        const std::string_view a = argv[i];
        if (a == "-h" || a == "--help" || a == "--version") return -1;
        if (a.starts_with('-')) {
            if (global_takes_value(app, a)) ++i;
            continue;
        }
        if (std::find(names.begin(), names.end(), a) != names.end()) return -1;
        err << "taskpollerctl: unknown command \"" << sanitize(a) << '"';
        if (const auto best = closest_word(a, names); !best.empty()) {
            err << "; did you mean \"" << best << "\"?";
        }
        err << "\nRun `taskpollerctl --help` for the list of commands.\n";
        return 3;
    }
    err << app.help() << "\ntaskpollerctl: no command given\n";
    return 3;
}

}  // namespace

int run_cli(int argc, const char* const* argv, const environment& env, std::ostream& out,
            std::ostream& err) {
    CLI::App app{"taskpollerctl: control taskpollerd over its Unix socket.", "taskpollerctl"};
    app.footer(help::main_footer);
    app.fallthrough();
    app.require_subcommand(1);
    app.set_version_flag("--version", "taskpollerctl " TASKPOLLER_VERSION);
    cli_state s(env);
    s.add_globals(app);
    s.add_submit(app);
    s.add_track(app);
    s.add_get_cancel(app);
    s.add_list(app);
    s.add_wait_watch(app);
    s.add_simple(app);
    s.add_completion(app);
    s.add_global_help(app);
    if (const int code = check_command(app, argc, argv, err); code >= 0) return code;
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        return app.exit(e, out, err) == 0 ? 0 : 3;
    }
    if (!s.convert_durations(err)) return 3;
    return s.run(s.make_context(env, out, err));
}

}  // namespace taskpoller::ctl
