// Poll throughput (issue 8, benchmark 1): the real taskpollerd tracking N CLB tasks against the
// real simulator, and wrk against the same simulator endpoint with the same number of
// connections, in one run.
//
//  1. taskpoller-sim (--no-replay-check --no-rate-limit, no faults, every operation lasting
//     2 h so no task finishes during the run) gets N DeleteLoadBalancers calls: N requestIds.
//  2. taskpollerd (journal off, cloud.max_connections_per_host = C, rate limit 100,000/s, the
//     poll schedule squeezed to 10 ms so every tracked task is always due) adopts them through
//     POST /v1/tasks — the API for requestIds submitted elsewhere; it is the fast honest way in,
//     and an adopted lb task is polled exactly like a submitted one.
//  3. After a warm-up, over the window: the simulator's count of DescribeLoadBalancersTaskResult
//     requests (GET /_sim/stats) gives polls/s; /proc/<pid>/stat utime+stime of the daemon gives
//     CPU µs per poll; the daemon's own taskpoller_api_calls_total must agree, every answer must
//     be ok, and every task must still be live at the end.
//  4. The daemon is stopped; wrk -t1 -cC replays one pre-signed DescribeLoadBalancersTaskResult
//     (same method, POST by default) against the same simulator for the same window.
// Prints a table and one JSON line. Target: daemon polls/s >= 0.8 x wrk requests/s.
// GCC 12 reports a false -Wmismatched-new-delete for coroutine frames whose promise type has a
// sized operator delete (Asio's awaitable); see GCC bug 109224.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

#include <fmt/format.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/json.hpp>
#include <cstdio>
#include <iostream>
#include <optional>
#include <sstream>

#include "qcloud/request.hpp"
#include "support/bench_util.hpp"

namespace asio = boost::asio;
namespace json = boost::json;
namespace http = boost::beast::http;
using namespace taskpoller::bench;
using steady = std::chrono::steady_clock;

namespace {

constexpr const char* poll_action = "DescribeLoadBalancersTaskResult";

struct options {
    std::size_t tasks = 100'000;
    double window = 10;  // seconds
    double warmup = 3;   // seconds
    std::size_t connections = 8;
    std::size_t loaders = 8;
    std::string method = "POST";
    std::string sim = default_sim_path();
    std::string daemon = default_daemon_path();
    std::string wrk;
    bool no_wrk = false;
    std::string lua = TASKPOLLER_BENCH_LUA;
};

struct figures {
    double polls_per_s = 0;
    double daemon_cpu_us_per_poll = 0;
    double daemon_cpu_share = 0;  // CPU seconds per second
    double sim_cpu_us_per_request_daemon = 0;
    double sim_cpu_share_daemon = 0;
    std::int64_t polls = 0;
    std::int64_t daemon_calls = 0;
    std::int64_t daemon_not_ok = 0;
    double wrk_per_s = 0;
    double wrk_cpu_share = 0;
    std::int64_t wrk_requests = 0;
    std::int64_t wrk_bad = 0;
    double sim_cpu_us_per_request_wrk = 0;
    double sim_cpu_share_wrk = 0;
    double setup_create_s = 0;
    double setup_adopt_s = 0;
};

std::string sim_config() {
    return "rate_limits: {enabled: false}\n"
           "replay_check: false\n"
           "instances: {running: 1, stopped: 0}\n"
           "operations: {default: {duration: 2h, failure_probability: 0}}\n"
           "faults: {global: {}}\n";
}

std::string daemon_config(const temp_dir& dir, std::uint16_t sim_port, const options& o) {
    return "cloud:\n"
           "  region: ap-guangzhou\n"
           "  scheme: http\n"
           "  method: " +
           o.method +
           "\n"
           "  connect_to: \"127.0.0.1:" +
           std::to_string(sim_port) +
           "\"\n"
           "  max_connections_per_host: " +
           std::to_string(o.connections) +
           "\n"
           // Every task due all the time: the daemon polls as fast as it can, oldest due first.
           "polling: {initial_delay: 0, interval: 10ms, multiplier: 1, max_interval: 10ms, "
           "jitter: none, timeout: 3h}\n"
           "rate_limit: {default: 100000, burst: 100000}\n"
           "control: {socket: " +
           dir.path() +
           "/d.sock, max_connections: 1024}\n"
           "store: {journal: \"\", max_finished: 1000}\n"
           "logging: {level: warn}\n";
}

// Requests for the poll action the simulator has seen (all of them, and those it accepted).
asio::awaitable<std::pair<std::int64_t, std::int64_t>> sim_requests(connection& sim) {
    auto doc = json::parse(co_await get_ok(sim, "/_sim/stats"));
    const auto& actions = doc.at("actions").as_object();
    auto it = actions.find(poll_action);
    if (it == actions.end()) co_return std::pair<std::int64_t, std::int64_t>{0, 0};
    co_return std::pair{it->value().at("requests").to_number<std::int64_t>(),
                        it->value().at("accepted").to_number<std::int64_t>()};
}

// The daemon's own count of poll calls: all outcomes, and those that were not ok.
asio::awaitable<std::pair<std::int64_t, std::int64_t>> daemon_calls(connection& d) {
    auto text = co_await get_ok(d, "/metrics");
    // Lines such as: taskpoller_api_calls_total{service="lb",action="...",outcome="ok"} 123
    std::int64_t all = 0, not_ok = 0;
    std::istringstream lines(text);
    for (std::string line; std::getline(lines, line);) {
        if (!line.starts_with("taskpoller_api_calls_total{")) continue;
        auto close = line.find("} ");
        if (close == std::string::npos) continue;
        std::string labels = line.substr(0, close);
        if (labels.find(std::string("action=\"") + poll_action + "\"") == std::string::npos)
            continue;
        auto n = static_cast<std::int64_t>(std::stod(line.substr(close + 2)));
        all += n;
        if (labels.find("outcome=\"ok\"") == std::string::npos) not_ok += n;
    }
    co_return std::pair{all, not_ok};
}

asio::awaitable<std::int64_t> live_tasks(connection& d) {
    auto doc = json::parse(co_await get_ok(d, "/v1/status"));
    const auto& t = doc.at("tasks").as_object();
    co_return t.at("pending").to_number<std::int64_t>() + t.at("running").to_number<std::int64_t>();
}

double seconds(steady::duration d) {
    return std::chrono::duration<double>(d).count();
}

// CPU seconds of this process's reaped children (wrk is the only child reaped while it runs).
double children_cpu_seconds() {
    rusage u{};
    ::getrusage(RUSAGE_CHILDREN, &u);
    auto tv = [](const timeval& t) {
        return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) * 1e-6;
    };
    return tv(u.ru_utime) + tv(u.ru_stime);
}

// wrk -t1 -cC for the window against one pre-signed poll of `request_id`.
void run_wrk(const options& o, const temp_dir& dir, std::uint16_t port,
             const std::string& request_id, figures& f, pid_t sim_pid) {
    taskpoller::qcloud::credentials creds(sim_secret_id, sim_secret_key);
    taskpoller::qcloud::request_spec spec;
    spec.host = "lb.api.qcloud.com";
    spec.method = o.method == "GET" ? taskpoller::qcloud::http_method::get
                                    : taskpoller::qcloud::http_method::post;
    spec.action = poll_action;
    spec.region = "ap-guangzhou";
    spec.params = {{"requestId", request_id}};
    auto nonce = taskpoller::qcloud::random_nonce_source();
    auto req = taskpoller::qcloud::build_request(creds, spec,
                                                 taskpoller::qcloud::system_unix_seconds, nonce);
    if (!req) throw std::runtime_error(req.error().message);
    std::string query = spec.method == taskpoller::qcloud::http_method::get
                            ? req->target.substr(req->target.find('?') + 1)
                            : req->body;
    auto secs = std::to_string(static_cast<int>(std::lround(o.window))) + "s";
    std::string out_path = dir.path() + "/wrk.out";
    auto cpu0 = cpu_micros(sim_pid);
    auto wrk_cpu0 = children_cpu_seconds();
    auto t0 = steady::now();
    child wrk(o.wrk,
              {"-t1", "-c" + std::to_string(o.connections), "-d" + secs, "-s", o.lua,
               "http://127.0.0.1:" + std::to_string(port)},
              out_path, {"SIM_QUERY=" + query, "SIM_METHOD=" + o.method});
    int status = wrk.wait(std::chrono::milliseconds(static_cast<long>(o.window * 1000) + 30'000));
    auto elapsed = seconds(steady::now() - t0);
    auto cpu1 = cpu_micros(sim_pid);
    auto text = read_file(out_path);
    if (status == -1 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        throw std::runtime_error("wrk (" + o.wrk + ") failed, wait status " +
                                 std::to_string(status) + ":\n" + text);
    }
    // The number after `label` in wrk's output (e.g. "Requests/sec:  24225.10").
    auto number_after = [&](const std::string& label) -> std::optional<double> {
        auto at = text.find(label);
        if (at == std::string::npos) return std::nullopt;
        try {
            return std::stod(text.substr(at + label.size()));
        } catch (const std::exception&) {
            return std::nullopt;
        }
    };
    auto rps = number_after("Requests/sec:");
    if (!rps) throw std::runtime_error("no Requests/sec in wrk's output:\n" + text);
    f.wrk_per_s = *rps;
    // "  242253 requests in 10.00s, ..."
    if (auto at = text.find(" requests in "); at != std::string::npos) {
        auto start = text.find_last_not_of("0123456789", at - 1);
        f.wrk_requests = std::stoll(text.substr(start + 1, at - start - 1));
    }
    auto bad = number_after("non-success answers:");
    if (!bad) throw std::runtime_error("the Lua check did not report:\n" + text);
    f.wrk_bad = static_cast<std::int64_t>(*bad);
    f.wrk_cpu_share = (children_cpu_seconds() - wrk_cpu0) / elapsed;
    f.sim_cpu_share_wrk = static_cast<double>(cpu1 - cpu0) / 1e6 / elapsed;
    if (f.wrk_requests > 0) {
        f.sim_cpu_us_per_request_wrk =
            static_cast<double>(cpu1 - cpu0) / static_cast<double>(f.wrk_requests);
    }
}

asio::awaitable<figures> run(const options& o) {
    auto ex = co_await asio::this_coro::executor;
    figures f;
    temp_dir dir;
    auto sim = start_sim(dir, o.sim, sim_config());
    connection sim_http(ex, tcp_endpoint(sim.port));

    auto t0 = steady::now();
    auto ids = co_await create_clb_tasks(sim.port, o.tasks, o.loaders);
    f.setup_create_s = seconds(steady::now() - t0);

    auto socket = dir.path() + "/d.sock";
    auto daemon = co_await start_daemon(dir, o.daemon, daemon_config(dir, sim.port, o), socket);
    connection ctl(ex, unix_endpoint(socket));
    t0 = steady::now();
    co_await adopt_clb_tasks(socket, ids, o.loaders);
    f.setup_adopt_s = seconds(steady::now() - t0);
    if (auto live = co_await live_tasks(ctl); live != static_cast<std::int64_t>(o.tasks)) {
        throw std::runtime_error("the daemon tracks " + std::to_string(live) + " live tasks, not " +
                                 std::to_string(o.tasks));
    }
    co_await sleep_for(
        std::chrono::duration_cast<steady::duration>(std::chrono::duration<double>(o.warmup)));

    // The window. Samples are taken in the same order at both ends.
    auto [sim_req0, sim_acc0] = co_await sim_requests(sim_http);
    auto [calls0, not_ok0] = co_await daemon_calls(ctl);
    auto dcpu0 = cpu_micros(daemon.proc->pid());
    auto scpu0 = cpu_micros(sim.proc->pid());
    auto w0 = steady::now();
    co_await sleep_for(
        std::chrono::duration_cast<steady::duration>(std::chrono::duration<double>(o.window)));
    auto [sim_req1, sim_acc1] = co_await sim_requests(sim_http);
    auto [calls1, not_ok1] = co_await daemon_calls(ctl);
    auto dcpu1 = cpu_micros(daemon.proc->pid());
    auto scpu1 = cpu_micros(sim.proc->pid());
    double elapsed = seconds(steady::now() - w0);

    f.polls = sim_req1 - sim_req0;
    f.daemon_calls = calls1 - calls0;
    f.daemon_not_ok = not_ok1 - not_ok0;
    if (f.polls <= 0)
        throw std::runtime_error("the daemon made no polls in the window:\n" +
                                 daemon.proc->log_tail());
    if (sim_acc1 - sim_acc0 != f.polls) {
        throw std::runtime_error("the simulator refused " +
                                 std::to_string(f.polls - (sim_acc1 - sim_acc0)) +
                                 " polls in the window");
    }
    if (f.daemon_not_ok != 0) {
        throw std::runtime_error(std::to_string(f.daemon_not_ok) +
                                 " polls in the window were not ok");
    }
    f.polls_per_s = static_cast<double>(f.polls) / elapsed;
    f.daemon_cpu_us_per_poll = static_cast<double>(dcpu1 - dcpu0) / static_cast<double>(f.polls);
    f.daemon_cpu_share = static_cast<double>(dcpu1 - dcpu0) / 1e6 / elapsed;
    f.sim_cpu_us_per_request_daemon =
        static_cast<double>(scpu1 - scpu0) / static_cast<double>(f.polls);
    f.sim_cpu_share_daemon = static_cast<double>(scpu1 - scpu0) / 1e6 / elapsed;
    if (auto live = co_await live_tasks(ctl); live != static_cast<std::int64_t>(o.tasks)) {
        throw std::runtime_error("tasks finished during the window (" + std::to_string(live) +
                                 " live): the measurement is not of " + std::to_string(o.tasks) +
                                 " tracked tasks");
    }
    ctl.close();
    int status = daemon.proc->stop(SIGTERM, std::chrono::seconds(20));
    if (status == -1 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        throw std::runtime_error("taskpollerd did not stop cleanly:\n" + daemon.proc->log_tail());
    }

    if (!o.no_wrk) {
        run_wrk(o, dir, sim.port, ids.front(), f, sim.proc->pid());
        if (f.wrk_bad != 0) {
            throw std::runtime_error("wrk got " + std::to_string(f.wrk_bad) +
                                     " non-success answers");
        }
    }
    co_return f;
}

}  // namespace

int main(int argc, char** argv) {
    options o;
    CLI::App app{
        "taskpollerd poll throughput against taskpoller-sim, beside wrk (issue 8, benchmark 1)"};
    app.add_option("--tasks", o.tasks, "CLB tasks tracked")->capture_default_str();
    app.add_option("--window", o.window, "measurement window, seconds (daemon, then wrk)")
        ->capture_default_str();
    app.add_option("--warmup", o.warmup, "seconds of polling before the window")
        ->capture_default_str();
    app.add_option("--connections", o.connections, "daemon max_connections_per_host = wrk -c")
        ->capture_default_str();
    app.add_option("--loaders", o.loaders, "parallel connections used to create and adopt tasks")
        ->capture_default_str();
    app.add_option("--method", o.method, "HTTP method of the API calls (daemon and wrk)")
        ->check(CLI::IsMember({"GET", "POST"}))
        ->capture_default_str();
    app.add_option("--sim", o.sim, "taskpoller-sim binary")->capture_default_str();
    app.add_option("--daemon", o.daemon, "taskpollerd binary")->capture_default_str();
    app.add_option("--wrk", o.wrk, "wrk binary (default: wrk on $PATH)");
    app.add_option("--lua", o.lua, "wrk script")->capture_default_str();
    app.add_flag("--no-wrk", o.no_wrk, "measure the daemon only (no ratio)");
    CLI11_PARSE(app, argc, argv);
    if (o.tasks == 0 || o.window <= 0 || o.connections == 0 || o.loaders == 0) {
        std::cerr
            << "poll_throughput: --tasks, --window, --connections and --loaders must be positive\n";
        return 2;
    }
    if (!o.no_wrk && o.wrk.empty()) o.wrk = find_on_path("wrk");
    if (!o.no_wrk && !o.wrk.empty() && ::access(o.wrk.c_str(), X_OK) != 0) {
        std::cerr << "poll_throughput: " << o.wrk << " is not an executable file\n";
        return 2;
    }
    if (!o.no_wrk && o.wrk.empty()) {
        std::cerr << "poll_throughput: wrk is not installed (Debian: apt-get install wrk); "
                     "pass --wrk PATH, or --no-wrk to measure the daemon alone\n";
        return 2;
    }

    asio::io_context io;
    figures f;
    std::exception_ptr failure;
    asio::co_spawn(io, run(o), [&](std::exception_ptr e, figures r) {
        failure = e;
        f = r;
    });
    io.run();
    if (failure) {
        try {
            std::rethrow_exception(failure);
        } catch (const std::exception& e) {
            std::cerr << "poll_throughput: " << e.what() << "\n";
            return 1;
        }
    }

    double ratio = f.wrk_per_s > 0 ? f.polls_per_s / f.wrk_per_s : 0;
    std::printf("setup: %zu tasks created at the simulator in %.1f s, adopted in %.1f s\n", o.tasks,
                f.setup_create_s, f.setup_adopt_s);
    std::printf("%-34s %14s %14s\n", "", "taskpollerd", "wrk");
    std::printf("%-34s %14zu %14s\n", "tasks tracked", o.tasks, "-");
    std::printf("%-34s %14zu %14zu\n", "connections", o.connections, o.connections);
    std::printf("%-34s %14.0f %14s\n", "requests/s (DescribeLB..TaskResult)", f.polls_per_s,
                o.no_wrk ? "-" : std::to_string(std::lround(f.wrk_per_s)).c_str());
    std::printf("%-34s %14.2f %14s\n", "client CPU us/request", f.daemon_cpu_us_per_poll, "-");
    std::printf("%-34s %14.2f %14.2f\n", "client CPU share (cores)", f.daemon_cpu_share,
                f.wrk_cpu_share);
    std::printf("%-34s %14.2f %14.2f\n", "simulator CPU us/request",
                f.sim_cpu_us_per_request_daemon, f.sim_cpu_us_per_request_wrk);
    std::printf("%-34s %14.2f %14.2f\n", "simulator CPU share (cores)", f.sim_cpu_share_daemon,
                f.sim_cpu_share_wrk);
    if (!o.no_wrk)
        std::printf("ratio daemon/wrk: %.3f (target >= 0.8: %s)\n", ratio,
                    ratio >= 0.8 ? "met" : "NOT met");
    std::string wrk_fields =
        o.no_wrk
            ? std::string(
                  R"("wrk_requests_per_s":null,"ratio":null,"sim_cpu_us_per_request_wrk":null)")
            : fmt::format(
                  R"("wrk_requests_per_s":{:.0f},"ratio":{:.3f},"sim_cpu_us_per_request_wrk":{:.2f})",
                  f.wrk_per_s, ratio, f.sim_cpu_us_per_request_wrk);
    std::printf(
        "%s\n",
        fmt::format(
            R"({{"bench":"poll_throughput","tasks":{},"connections":{},"method":"{}",)"
            R"("window_s":{},"daemon_polls":{},"daemon_polls_per_s":{:.0f},)"
            R"("daemon_cpu_us_per_poll":{:.2f},"sim_cpu_us_per_request_daemon":{:.2f},{}}})",
            o.tasks, o.connections, o.method, o.window, f.polls, f.polls_per_s,
            f.daemon_cpu_us_per_poll, f.sim_cpu_us_per_request_daemon, wrk_fields)
            .c_str());
    return 0;
}
