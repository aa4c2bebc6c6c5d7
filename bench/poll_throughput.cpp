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
//
// --protocol v3: the same over API 3.0: the tasks are DeleteLoadBalancer calls of clb
// 2018-03-17 (one load balancer each: the simulator runs one 3.0 task per load balancer),
// adopted as `clb` tasks; the daemon runs with `cloud.protocol: v3` (its clb poll budget raised
// to 100,000/s like the rest) and polls DescribeTaskStatus {TaskId} (JSON, TC3-HMAC-SHA256);
// wrk replays one pre-signed DescribeTaskStatus. --protocol both: one simulator holding both
// sets of tasks; the daemon phase runs for 2.0, then 3.0, --rounds times (alternating, a fresh
// daemon each time), then wrk for each; prints both tables, the ratio of the daemon's CPU per
// poll (3.0 / 2.0, over all rounds; target <= 1.3) and one JSON line with both.
//
// Paced mode (issue 20): --pace R sets the daemon's rate limit for its polls to R/s (burst: 10 ms
// of it) instead of the configuration's maximum, so the daemon polls at R/s and its CPU per poll
// off saturation is measured; --service-delay MS makes the simulator answer every request MS
// late (its `latency` fault on every request), as a real API's service time would. --sim-rate R
// caps the simulator instead (`taskpoller-sim --answer-rate R`: at most R answers a second, evenly
// spaced, the others answered late): the daemon, saturated, polls as fast as the cloud answers.
// Use --no-wrk (wrk measures saturation only).
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
#include <tuple>

#include "qcloud/request.hpp"
#include "support/bench_util.hpp"

namespace asio = boost::asio;
namespace json = boost::json;
namespace http = boost::beast::http;
using namespace taskpoller::bench;
using steady = std::chrono::steady_clock;

namespace {

struct options {
    std::size_t tasks = 100'000;
    double window = 10;  // seconds
    double warmup = 3;   // seconds
    std::size_t connections = 8;
    std::size_t loaders = 8;
    std::string method = "POST";
    std::string protocol = "v2";  // v2, v3, both
    std::size_t rounds = 1;
    std::string sim = default_sim_path();
    std::string daemon = default_daemon_path();
    std::string wrk;
    bool no_wrk = false;
    std::string lua = TASKPOLLER_BENCH_LUA;
    double pace = 0;           // polls/s the daemon's token bucket allows; 0: saturated
    double service_delay = 0;  // ms the simulator waits before each answer
    double sim_rate = 0;       // answers/s the simulator gives at most; 0: as fast as it can

    std::vector<api_version> versions() const {
        if (protocol == "both") return {api_version::v2, api_version::v3};
        return {protocol == "v3" ? api_version::v3 : api_version::v2};
    }
};

const char* name_of(api_version v) {
    return v == api_version::v3 ? "v3" : "v2";
}

// One protocol's figures; the daemon's are summed over its rounds.
struct figures {
    double polls_per_s = 0;
    double daemon_cpu_us_per_poll = 0;
    double daemon_cpu_share = 0;  // CPU seconds per second
    double sim_cpu_us_per_request_daemon = 0;
    double sim_cpu_share_daemon = 0;
    std::int64_t polls = 0;
    std::int64_t daemon_calls = 0;
    std::int64_t daemon_not_ok = 0;
    std::int64_t daemon_cpu_us = 0;
    std::int64_t sim_cpu_us = 0;
    double elapsed_s = 0;
    std::vector<double> round_cpu_us_per_poll;
    double wrk_per_s = 0;
    double wrk_cpu_share = 0;
    std::int64_t wrk_requests = 0;
    std::int64_t wrk_bad = 0;
    double sim_cpu_us_per_request_wrk = 0;
    double sim_cpu_share_wrk = 0;
    double setup_create_s = 0;
    double setup_adopt_s = 0;
};

std::string sim_config(const options& o) {
    // A service delay: the `latency` fault on every request (answered late, correctly).
    const std::string faults =
        o.service_delay > 0
            ? fmt::format("faults: {{global: {{latency: 1.0}}, latency_delay: {}ms}}\n",
                          std::lround(o.service_delay))
            : std::string("faults: {global: {}}\n");
    return "rate_limits: {enabled: false}\n"
           "replay_check: false\n"
           "instances: {running: 1, stopped: 0}\n"
           "operations: {default: {duration: 2h, failure_probability: 0}}\n" +
           faults;
}

// The daemon's rate limit: the configuration's maximum (saturated), or --pace with a burst of
// 10 ms of it, so that the polls are spread evenly.
std::string rate_limit(const options& o) {
    if (o.pace <= 0) return "100000";
    return fmt::format("{:.0f}", o.pace);
}
std::string burst(const options& o) {
    if (o.pace <= 0) return "100000";
    return fmt::format("{:.0f}", std::max(1.0, o.pace / 100));
}

std::string daemon_config(const std::string& socket, std::uint16_t sim_port, const options& o,
                          api_version v) {
    return "cloud:\n"
           "  region: ap-guangzhou\n"
           "  scheme: http\n"
           "  method: " +
           o.method + "\n" + (v == api_version::v3 ? "  protocol: v3\n" : "") +
           "  connect_to: \"127.0.0.1:" + std::to_string(sim_port) +
           "\"\n"
           "  max_connections_per_host: " +
           std::to_string(o.connections) +
           "\n"
           // Every task due all the time: the daemon polls as fast as it can, oldest due first.
           "polling: {initial_delay: 0, interval: 10ms, multiplier: 1, max_interval: 10ms, "
           "jitter: none, timeout: 3h}\n"
           "rate_limit: {default: " +
           rate_limit(o) + ", burst: " + burst(o) + "}\n" +
           // The 3.0 clb profile budgets its polls (15/s) apart from rate_limit.default.
           (v == api_version::v3 ? "services: {clb: {actions: {DescribeTaskStatus: {rate_limit: " +
                                       rate_limit(o) + "}}}}\n"
                                 : "") +
           "control: {socket: " + socket +
           ", max_connections: 1024}\n"
           "store: {journal: \"\", max_finished: 1000}\n"
           "logging: {level: warn}\n";
}

// Requests for the poll action the simulator has seen (all of them, and those it accepted).
asio::awaitable<std::pair<std::int64_t, std::int64_t>> sim_requests(connection& sim,
                                                                    const char* poll_action) {
    auto doc = json::parse(co_await get_ok(sim, "/_sim/stats"));
    const auto& actions = doc.at("actions").as_object();
    auto it = actions.find(poll_action);
    if (it == actions.end()) co_return std::pair<std::int64_t, std::int64_t>{0, 0};
    co_return std::pair{it->value().at("requests").to_number<std::int64_t>(),
                        it->value().at("accepted").to_number<std::int64_t>()};
}

// The daemon's own count of poll calls: all outcomes, and those that were not ok.
asio::awaitable<std::pair<std::int64_t, std::int64_t>> daemon_calls(connection& d,
                                                                    const char* poll_action) {
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

// The environment of bench/sim_task_result.lua for one pre-signed poll of `request_id`: 2.0's
// signed parameters (SIM_QUERY, SIM_METHOD), or 3.0's body and headers (SIM_BODY, SIM_HEADERS).
std::vector<std::string> wrk_env(const options& o, api_version v, const std::string& request_id) {
    if (v == api_version::v3) {
        auto req = sign_v3_task_poll(request_id);
        std::string headers = "Host: " + req.host + "\nContent-Type: " + v3_content_type;
        for (const auto& [name, value] : req.headers) headers += "\n" + name + ": " + value;
        return {"SIM_METHOD=POST", "SIM_BODY=" + req.body, "SIM_HEADERS=" + headers};
    }
    taskpoller::qcloud::credentials creds(sim_secret_id, sim_secret_key);
    taskpoller::qcloud::request_spec spec;
    spec.host = "lb.api.qcloud.com";
    spec.method = o.method == "GET" ? taskpoller::qcloud::http_method::get
                                    : taskpoller::qcloud::http_method::post;
    spec.action = clb_poll_action(v);
    spec.region = "ap-guangzhou";
    spec.params = {{"requestId", request_id}};
    auto nonce = taskpoller::qcloud::random_nonce_source();
    auto req = taskpoller::qcloud::build_request(creds, spec,
                                                 taskpoller::qcloud::system_unix_seconds, nonce);
    if (!req) throw std::runtime_error(req.error().message);
    std::string query = spec.method == taskpoller::qcloud::http_method::get
                            ? req->target.substr(req->target.find('?') + 1)
                            : req->body;
    return {"SIM_QUERY=" + query, "SIM_METHOD=" + o.method};
}

// wrk -t1 -cC for the window against one pre-signed poll of `request_id`.
void run_wrk(const options& o, api_version v, const temp_dir& dir, std::uint16_t port,
             const std::string& request_id, figures& f, pid_t sim_pid) {
    auto env = wrk_env(o, v, request_id);
    auto secs = std::to_string(static_cast<int>(std::lround(o.window))) + "s";
    std::string out_path = dir.path() + "/wrk-" + name_of(v) + ".out";
    auto cpu0 = cpu_micros(sim_pid);
    auto wrk_cpu0 = children_cpu_seconds();
    auto t0 = steady::now();
    child wrk(o.wrk,
              {"-t1", "-c" + std::to_string(o.connections), "-d" + secs, "-s", o.lua,
               "http://127.0.0.1:" + std::to_string(port)},
              out_path, env);
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

// One daemon phase: a fresh taskpollerd speaking `v` adopts `ids`, polls them for the warm-up,
// then is measured over the window; the figures are added to `f`.
asio::awaitable<void> measure_daemon(const options& o, api_version v, const temp_dir& dir,
                                     const sim_instance& sim, connection& sim_http,
                                     const std::vector<std::string>& ids, std::size_t round,
                                     figures& f) {
    auto ex = co_await asio::this_coro::executor;
    const char* action = clb_poll_action(v);
    auto socket = dir.path() + "/d-" + name_of(v) + "-" + std::to_string(round) + ".sock";
    auto daemon =
        co_await start_daemon(dir, o.daemon, daemon_config(socket, sim.port, o, v), socket);
    connection ctl(ex, unix_endpoint(socket));
    auto t0 = steady::now();
    co_await adopt_clb_tasks(socket, ids, o.loaders, v);
    f.setup_adopt_s = seconds(steady::now() - t0);
    if (auto live = co_await live_tasks(ctl); live != static_cast<std::int64_t>(o.tasks)) {
        throw std::runtime_error("the daemon tracks " + std::to_string(live) + " live tasks, not " +
                                 std::to_string(o.tasks));
    }
    co_await sleep_for(
        std::chrono::duration_cast<steady::duration>(std::chrono::duration<double>(o.warmup)));

    // The window. Samples are taken in the same order at both ends. The polls are the
    // simulator's count, so the window's length is the time between its two counts (each taken
    // at the middle of its request): on a loaded machine the other samples can take long enough
    // to skew a rate by several per cent.
    auto sim_sample =
        [&]() -> asio::awaitable<std::tuple<std::int64_t, std::int64_t, steady::time_point>> {
        auto before = steady::now();
        auto [req, acc] = co_await sim_requests(sim_http, action);
        co_return std::tuple{req, acc, before + (steady::now() - before) / 2};
    };
    auto [sim_req0, sim_acc0, sim_t0] = co_await sim_sample();
    auto [calls0, not_ok0] = co_await daemon_calls(ctl, action);
    auto dcpu0 = cpu_micros(daemon.proc->pid());
    auto scpu0 = cpu_micros(sim.proc->pid());
    co_await sleep_for(
        std::chrono::duration_cast<steady::duration>(std::chrono::duration<double>(o.window)));
    auto [sim_req1, sim_acc1, sim_t1] = co_await sim_sample();
    auto [calls1, not_ok1] = co_await daemon_calls(ctl, action);
    auto dcpu1 = cpu_micros(daemon.proc->pid());
    auto scpu1 = cpu_micros(sim.proc->pid());
    double elapsed = seconds(sim_t1 - sim_t0);

    const auto polls = sim_req1 - sim_req0;
    const auto not_ok = not_ok1 - not_ok0;
    if (polls <= 0)
        throw std::runtime_error("the daemon made no polls in the window:\n" +
                                 daemon.proc->log_tail());
    if (sim_acc1 - sim_acc0 != polls) {
        throw std::runtime_error("the simulator refused " +
                                 std::to_string(polls - (sim_acc1 - sim_acc0)) +
                                 " polls in the window");
    }
    if (not_ok != 0)
        throw std::runtime_error(std::to_string(not_ok) + " polls in the window were not ok");
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

    f.polls += polls;
    f.daemon_calls += calls1 - calls0;
    f.daemon_cpu_us += dcpu1 - dcpu0;
    f.sim_cpu_us += scpu1 - scpu0;
    f.elapsed_s += elapsed;
    f.round_cpu_us_per_poll.push_back(static_cast<double>(dcpu1 - dcpu0) /
                                      static_cast<double>(polls));
    const auto n = static_cast<double>(f.polls);
    f.polls_per_s = n / f.elapsed_s;
    f.daemon_cpu_us_per_poll = static_cast<double>(f.daemon_cpu_us) / n;
    f.daemon_cpu_share = static_cast<double>(f.daemon_cpu_us) / 1e6 / f.elapsed_s;
    f.sim_cpu_us_per_request_daemon = static_cast<double>(f.sim_cpu_us) / n;
    f.sim_cpu_share_daemon = static_cast<double>(f.sim_cpu_us) / 1e6 / f.elapsed_s;
}

// Per protocol of o.versions(), in that order.
asio::awaitable<std::vector<figures>> run(const options& o) {
    auto ex = co_await asio::this_coro::executor;
    const auto versions = o.versions();
    std::vector<figures> out(versions.size());
    std::vector<std::vector<std::string>> ids(versions.size());
    temp_dir dir;
    std::vector<std::string> sim_args;
    if (o.sim_rate > 0)
        sim_args = {"--answer-rate", fmt::format("{}", o.sim_rate)};  // not rounded: 0.4 is not 0
    auto sim = start_sim(dir, o.sim, sim_config(o), sim_args);
    connection sim_http(ex, tcp_endpoint(sim.port));

    for (std::size_t i = 0; i < versions.size(); ++i) {
        auto t0 = steady::now();
        ids[i] = co_await create_clb_tasks(sim.port, o.tasks, o.loaders, versions[i]);
        out[i].setup_create_s = seconds(steady::now() - t0);
    }
    for (std::size_t round = 0; round < o.rounds; ++round)
        for (std::size_t i = 0; i < versions.size(); ++i)
            co_await measure_daemon(o, versions[i], dir, sim, sim_http, ids[i], round, out[i]);

    if (!o.no_wrk) {
        for (std::size_t i = 0; i < versions.size(); ++i) {
            run_wrk(o, versions[i], dir, sim.port, ids[i].front(), out[i], sim.proc->pid());
            if (out[i].wrk_bad != 0) {
                throw std::runtime_error("wrk got " + std::to_string(out[i].wrk_bad) +
                                         " non-success answers (" + name_of(versions[i]) + ")");
            }
        }
    }
    co_return out;
}

void print_table(const options& o, api_version v, const figures& f) {
    double ratio = f.wrk_per_s > 0 ? f.polls_per_s / f.wrk_per_s : 0;
    if (o.protocol == "both")
        std::printf("API %s (%s):\n", v == api_version::v3 ? "3.0" : "2.0", clb_poll_action(v));
    std::printf("setup: %zu tasks created at the simulator in %.1f s, adopted in %.1f s\n", o.tasks,
                f.setup_create_s, f.setup_adopt_s);
    std::printf("%-34s %14s %14s\n", "", "taskpollerd", "wrk");
    std::printf("%-34s %14zu %14s\n", "tasks tracked", o.tasks, "-");
    std::printf("%-34s %14zu %14zu\n", "connections", o.connections, o.connections);
    std::printf("%-34s %14.0f %14s\n",
                v == api_version::v3 ? "requests/s (DescribeTaskStatus)"
                                     : "requests/s (DescribeLB..TaskResult)",
                f.polls_per_s, o.no_wrk ? "-" : std::to_string(std::lround(f.wrk_per_s)).c_str());
    std::printf("%-34s %14.2f %14s\n", "client CPU us/request", f.daemon_cpu_us_per_poll, "-");
    std::printf("%-34s %14.2f %14.2f\n", "client CPU share (cores)", f.daemon_cpu_share,
                f.wrk_cpu_share);
    std::printf("%-34s %14.2f %14.2f\n", "simulator CPU us/request",
                f.sim_cpu_us_per_request_daemon, f.sim_cpu_us_per_request_wrk);
    std::printf("%-34s %14.2f %14.2f\n", "simulator CPU share (cores)", f.sim_cpu_share_daemon,
                f.sim_cpu_share_wrk);
    if (o.rounds > 1) {
        std::string rounds;
        for (double r : f.round_cpu_us_per_poll)
            rounds += (rounds.empty() ? "" : " / ") + fmt::format("{:.2f}", r);
        std::printf("client CPU us/request by round: %s\n", rounds.c_str());
    }
    if (!o.no_wrk)
        std::printf("ratio daemon/wrk: %.3f (target >= 0.8: %s)\n", ratio,
                    ratio >= 0.8 ? "met" : "NOT met");
}

// One protocol's JSON members (without braces).
std::string json_fields(const options& o, const figures& f) {
    double ratio = f.wrk_per_s > 0 ? f.polls_per_s / f.wrk_per_s : 0;
    std::string wrk_fields =
        o.no_wrk
            ? std::string(
                  R"("wrk_requests_per_s":null,"ratio":null,"sim_cpu_us_per_request_wrk":null)")
            : fmt::format(
                  R"("wrk_requests_per_s":{:.0f},"ratio":{:.3f},"sim_cpu_us_per_request_wrk":{:.2f})",
                  f.wrk_per_s, ratio, f.sim_cpu_us_per_request_wrk);
    std::string by_round;
    for (double r : f.round_cpu_us_per_poll)
        by_round += fmt::format("{}{:.2f}", by_round.empty() ? "" : ",", r);
    return fmt::format(R"("daemon_polls":{},"daemon_polls_per_s":{:.0f},)"
                       R"("daemon_cpu_us_per_poll":{:.2f},"daemon_cpu_us_per_poll_by_round":[{}],)"
                       R"("sim_cpu_us_per_request_daemon":{:.2f},{})",
                       f.polls, f.polls_per_s, f.daemon_cpu_us_per_poll, by_round,
                       f.sim_cpu_us_per_request_daemon, wrk_fields);
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
    app.add_option("--protocol", o.protocol,
                   "cloud API: v2, v3, or both (2.0 and 3.0 alternating in one run)")
        ->check(CLI::IsMember({"v2", "v3", "both"}))
        ->capture_default_str();
    app.add_option("--rounds", o.rounds,
                   "daemon phases per protocol (alternating with --protocol both)")
        ->capture_default_str();
    app.add_option("--sim", o.sim, "taskpoller-sim binary")->capture_default_str();
    app.add_option("--daemon", o.daemon, "taskpollerd binary")->capture_default_str();
    app.add_option("--wrk", o.wrk, "wrk binary (default: wrk on $PATH)");
    app.add_option("--lua", o.lua, "wrk script")->capture_default_str();
    app.add_flag("--no-wrk", o.no_wrk, "measure the daemon only (no ratio)");
    app.add_option("--pace", o.pace,
                   "paced mode: the daemon's rate limit for its polls, polls/s (0: saturated)")
        ->capture_default_str();
    app.add_option("--service-delay", o.service_delay,
                   "ms the simulator waits before each answer (its latency fault on every "
                   "request)")
        ->capture_default_str();
    app.add_option("--sim-rate", o.sim_rate,
                   "cap the simulator at this many answers/s (taskpoller-sim --answer-rate; the "
                   "daemon saturated)")
        ->capture_default_str();
    CLI11_PARSE(app, argc, argv);
    if (o.pace < 0 || o.service_delay < 0 || o.sim_rate < 0) {
        std::cerr << "poll_throughput: --pace, --service-delay and --sim-rate must not be "
                     "negative\n";
        return 2;
    }
    if (o.tasks == 0 || o.window <= 0 || o.connections == 0 || o.loaders == 0 || o.rounds == 0) {
        std::cerr << "poll_throughput: --tasks, --window, --connections, --loaders and --rounds "
                     "must be positive\n";
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

    if (o.protocol != "v2" && o.method != "POST") {
        std::cerr << "poll_throughput: API 3.0 is POST only (--method POST)\n";
        return 2;
    }

    asio::io_context io;
    std::vector<figures> results;
    std::exception_ptr failure;
    asio::co_spawn(io, run(o), [&](std::exception_ptr e, std::vector<figures> r) {
        failure = e;
        results = std::move(r);
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

    const auto versions = o.versions();
    for (std::size_t i = 0; i < versions.size(); ++i) print_table(o, versions[i], results[i]);
    const std::string common = fmt::format(
        R"("bench":"poll_throughput","protocol":"{}","tasks":{},"connections":{},"method":"{}",)"
        R"("window_s":{},"rounds":{},"pace":{},"service_delay_ms":{},"sim_rate":{})",
        o.protocol, o.tasks, o.connections, o.method, o.window, o.rounds, o.pace, o.service_delay,
        o.sim_rate);
    if (versions.size() == 1) {
        std::printf("{%s,%s}\n", common.c_str(), json_fields(o, results[0]).c_str());
        return 0;
    }
    // Daemon CPU per poll, 3.0 over 2.0, over all rounds of this run, and round by round (the
    // two phases of a round are back to back: the fairest pairs on a shared machine).
    const double cpu_ratio = results[1].daemon_cpu_us_per_poll / results[0].daemon_cpu_us_per_poll;
    std::string by_round;
    for (std::size_t r = 0; r < o.rounds; ++r)
        by_round +=
            fmt::format("{}{:.3f}", r ? "," : "",
                        results[1].round_cpu_us_per_poll[r] / results[0].round_cpu_us_per_poll[r]);
    std::printf("daemon CPU per poll, API 3.0 / 2.0: %.2f / %.2f us = %.3f (target <= 1.3: %s)\n",
                results[1].daemon_cpu_us_per_poll, results[0].daemon_cpu_us_per_poll, cpu_ratio,
                cpu_ratio <= 1.3 ? "met" : "NOT met");
    if (o.rounds > 1) std::printf("3.0 / 2.0 by round: %s\n", by_round.c_str());
    std::printf(
        "{%s,\"v2\":{%s},\"v3\":{%s},\"cpu_per_poll_ratio_v3_v2\":%.3f,"
        "\"cpu_per_poll_ratio_by_round\":[%s],\"cpu_target_met\":%s}\n",
        common.c_str(), json_fields(o, results[0]).c_str(), json_fields(o, results[1]).c_str(),
        cpu_ratio, by_round.c_str(), cpu_ratio <= 1.3 ? "true" : "false");
    return 0;
}
