// taskpoller-sim: a Tencent Cloud API 2.0 simulator for tests, demos and benchmarks.
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <iostream>

#include "sim/config.hpp"
#include "sim/server.hpp"
#include "sim/simulator.hpp"

namespace {

using namespace taskpoller;

core::logger make_logger(const std::string& level) {
    auto sink = spdlog::stderr_color_mt("sim");
    sink->set_level(spdlog::level::trace);
    auto lvl = level == "debug"   ? core::log_level::debug
               : level == "warn"  ? core::log_level::warn
               : level == "error" ? core::log_level::error
                                  : core::log_level::info;
    return core::logger(
        [sink](core::log_level l, std::string_view msg) {
            static constexpr spdlog::level::level_enum map[] = {
                spdlog::level::trace, spdlog::level::debug, spdlog::level::info,
                spdlog::level::warn, spdlog::level::err};
            sink->log(map[static_cast<int>(l)], "{}", msg);
        },
        lvl);
}

struct listen_addr {
    std::string host;
    std::uint16_t port = 0;
};

listen_addr parse_listen(const std::string& s) {
    auto colon = s.rfind(':');
    if (colon == std::string::npos || colon == 0)
        throw std::runtime_error("--listen must be ADDRESS:PORT, got " + s);
    int port = 0;
    try {
        port = std::stoi(s.substr(colon + 1));
    } catch (const std::exception&) {
        port = -1;
    }
    if (port < 0 || port > 65535) throw std::runtime_error("--listen has an invalid port: " + s);
    return {s.substr(0, colon), static_cast<std::uint16_t>(port)};
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{
        "taskpoller-sim: a faithful Tencent Cloud API 2.0 simulator (see docs/simulator.md)"};
    std::string listen = "127.0.0.1:0", port_file, config_file, tls_cert, tls_key,
                log_level = "info";
    std::optional<std::uint64_t> seed;
    bool no_replay = false, no_rate_limit = false;
    app.add_option("--listen", listen, "ADDRESS:PORT to listen on; port 0 picks a free port")
        ->capture_default_str();
    app.add_option("--port-file", port_file,
                   "write the bound port (decimal, newline) to this file");
    app.add_option("--config", config_file, "YAML configuration (docs/simulator.md)");
    app.add_option("--seed", seed, "seed for every random choice (overrides the config's seed)");
    app.add_option("--tls-cert", tls_cert, "PEM certificate chain: serve HTTPS instead of HTTP");
    app.add_option("--tls-key", tls_key, "PEM private key for --tls-cert");
    app.add_flag("--no-replay-check", no_replay,
                 "accept any Timestamp and reused Nonces (benchmarks with pre-signed requests)");
    app.add_flag("--no-rate-limit", no_rate_limit, "disable every per-action rate limit");
    double answer_rate = 0;
    app.add_option("--answer-rate", answer_rate,
                   "answer at most this many API requests a second, evenly spaced (the others "
                   "late, none refused); 0: as fast as possible");
    app.add_option("--log-level", log_level, "debug, info, warn or error")
        ->check(CLI::IsMember({"debug", "info", "warn", "error"}))
        ->capture_default_str();
    CLI11_PARSE(app, argc, argv);
    if (!(answer_rate >= 0) || !std::isfinite(answer_rate)) {
        std::cerr << "taskpoller-sim: --answer-rate must be a number >= 0\n";
        return 2;
    }
    if (tls_cert.empty() != tls_key.empty()) {
        std::cerr << "taskpoller-sim: --tls-cert and --tls-key go together\n";
        return 2;
    }
    auto log = make_logger(log_level);
    try {
        sim::config cfg = config_file.empty() ? sim::config{} : sim::load_config(config_file);
        if (seed) cfg.seed = *seed;
        if (no_replay) cfg.replay_check = false;
        if (no_rate_limit) cfg.rate_limits.enabled = false;
        auto addr = parse_listen(listen);

        boost::asio::io_context io;
        sim::simulator simulator(std::move(cfg), sim::system_now_ms, log);
        sim::server_options opts{addr.host, addr.port, tls_cert, tls_key};
        opts.answer_rate = answer_rate;
        sim::server srv(io, simulator, opts, log);
        boost::asio::signal_set signals(io, SIGINT, SIGTERM);
        signals.async_wait([&](const boost::system::error_code& ec, int sig) {
            if (ec) return;
            log.info("signal {}: stopping", sig);
            srv.stop();
        });
        srv.start();
        // The line comes first, so whoever sees the port file can also read the line.
        std::cout << "listening on " << addr.host << ":" << srv.port() << std::endl;
        if (!port_file.empty()) {
            std::ofstream f(port_file + ".tmp");
            f << srv.port() << "\n";
            f.close();
            if (!f || std::rename((port_file + ".tmp").c_str(), port_file.c_str()) != 0)
                throw std::runtime_error("cannot write --port-file " + port_file);
        }
        log.info("serving {} on {}:{} (seed {})", tls_cert.empty() ? "HTTP" : "HTTPS", addr.host,
                 srv.port(), simulator.settings().seed);
        io.run();
        log.info("stopped");
        return 0;
    } catch (const std::exception& e) {
        log.error("{}", e.what());
        return 2;
    }
}
