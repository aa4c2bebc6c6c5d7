// taskpollerd: argument parsing, configuration loading, and the run of one app.
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <boost/asio/io_context.hpp>
#include <cstdio>
#include <iostream>

#include "config/loader.hpp"
#include "daemon/activation.hpp"
#include "daemon/app.hpp"
#include "daemon/logging.hpp"
#include "daemon/settings.hpp"

namespace {

constexpr const char* default_config = "/etc/taskpoller/taskpoller.yaml";

void print_diagnostics(const taskpoller::config::load_result& r) {
    for (const auto& w : r.warnings) std::cerr << w.to_string() << '\n';
    for (const auto& e : r.errors) std::cerr << e.to_string() << '\n';
}

}  // namespace

int main(int argc, char** argv) {
    namespace tp = taskpoller;
    CLI::App cli{"taskpollerd: tracks Tencent Cloud API 2.0 asynchronous tasks until they finish",
                 "taskpollerd"};
    std::string config_path = default_config;
    bool check = false;
    bool recover = false;
    cli.add_option("-c,--config", config_path, "Configuration file (YAML)")->capture_default_str();
    cli.add_flag("-t,--check-config", check,
                 "Validate the configuration fully, print every error, exit 0 (valid) or 1");
    cli.add_flag("--recover", recover,
                 "Start even if the journal is damaged in the middle: skip the damaged records "
                 "(what they held is lost), then compact");
    cli.set_version_flag("--version", "taskpollerd 0.1.0");
    CLI11_PARSE(cli, argc, argv);

    // Socket activation first: the descriptors must be claimed before anything else opens one.
    auto activation = tp::daemon::take_activation_socket("control");
    if (!activation) {
        std::cerr << "taskpollerd: socket activation: " << activation.error().message << '\n';
        return 1;
    }

    tp::config::load_options load_opts;
    load_opts.allow_missing_credentials = check;
    auto loaded = tp::config::load_file(config_path, tp::config::process_environment(), load_opts);
    print_diagnostics(loaded);
    if (!loaded.ok()) {
        std::cerr << fmt::format("taskpollerd: {}: {} error(s); not started\n", config_path,
                                 loaded.errors.size());
        return 1;
    }
    if (auto t = tp::daemon::tracker_settings(*loaded.config); !t) {
        std::cerr << fmt::format("taskpollerd: {}: {}\n", config_path, t.error().message);
        return 1;
    }
    if (check) {
        std::cout << config_path << ": configuration is valid\n";
        return 0;
    }

    tp::daemon::logging logs(tp::daemon::log_settings(*loaded.config));
    logs.install_as_default();
    boost::asio::io_context io;
    try {
        tp::daemon::app daemon(io, config_path, loaded.config, logs, *activation, recover);
        if (auto r = daemon.start(); !r) {
            logs.get().error("not started: {}", r.error().message);
            return 1;
        }
        io.run();
        if (int status = daemon.exit_status(); status != 0) {
            logs.get().error("stopped after an internal error (exit status {})", status);
            return status;
        }
    } catch (const std::exception& e) {
        logs.get().error("fatal: {}", e.what());
        return 1;
    }
    logs.get().info("stopped");
    return 0;
}
