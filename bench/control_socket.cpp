// Control socket (issue 8, benchmark 4): the real taskpollerd, N CLB tasks in its store
// (created at the real simulator, adopted through POST /v1/tasks, polled with the default
// schedule and rate limit while the benchmark runs), measured from outside over its Unix socket:
//
//  A. C concurrent keep-alive connections issue GET /v1/tasks/lb/<requestId> (ids spread over
//     all N tasks) for D seconds: requests/s, p50/p99/max latency, every answer must be 200.
//  B. S subscribers open GET /v1/events (live changes from now on); once the daemon counts them
//     all, M tasks are cancelled with DELETE /v1/tasks/lb/<requestId>, one after the other on one
//     connection (or paced with --change-rate). Each subscriber must receive every
//     cancellation (missing = 0, duplicates = 0); the delay of each delivery is measured from the
//     moment its DELETE was sent: p50/p99/max.
// Prints a table and one JSON line.
// GCC 12 reports a false -Wmismatched-new-delete for coroutine frames whose promise type has a
// sized operator delete (Asio's awaitable); see GCC bug 109224.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

#include <fmt/format.h>
#include <signal.h>

#include <CLI/CLI.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>
#include <cstdio>
#include <iostream>
#include <unordered_map>

#include "support/bench_util.hpp"

namespace asio = boost::asio;
namespace json = boost::json;
namespace http = boost::beast::http;
using namespace taskpoller::bench;
using steady = std::chrono::steady_clock;

namespace {

struct options {
    std::size_t tasks = 10'000;
    std::size_t connections = 64;
    double duration = 10;  // seconds of GETs
    std::size_t subscribers = 100;
    std::size_t changes = 1'000;
    double change_rate = 0;  // cancellations per second; 0: back to back
    std::size_t loaders = 8;
    std::string sim = default_sim_path();
    std::string daemon = default_daemon_path();
};

struct figures {
    // A
    std::size_t requests = 0;
    double requests_per_s = 0;
    double p50_us = 0, p99_us = 0, max_us = 0;
    double daemon_cpu_us_per_request = 0;
    // B
    std::size_t expected = 0, delivered = 0, duplicates = 0, other_lines = 0;
    double produce_s = 0, fanout_s = 0;
    double delay_p50_ms = 0, delay_p99_ms = 0, delay_max_ms = 0;
    double daemon_cpu_s_fanout = 0;
};

double seconds(steady::duration d) {
    return std::chrono::duration<double>(d).count();
}

std::string sim_config() {
    return "rate_limits: {enabled: false}\n"
           "instances: {running: 1, stopped: 0}\n"
           "operations: {default: {duration: 2h, failure_probability: 0}}\n";
}

// The daemon as shipped (default polling and rate limit: 20 polls/s in the background), with
// room for the benchmark's connections.
std::string daemon_config(const temp_dir& dir, std::uint16_t sim_port, const options& o) {
    return "cloud:\n"
           "  region: ap-guangzhou\n"
           "  scheme: http\n"
           "  connect_to: \"127.0.0.1:" +
           std::to_string(sim_port) +
           "\"\n"
           "polling: {timeout: 3h}\n"
           "control: {socket: " +
           dir.path() +
           "/d.sock, max_connections: " + std::to_string(o.connections + o.subscribers + 16) +
           "}\n"
           "store: {journal: \"\"}\n"
           "logging: {level: warn}\n";
}

// A: one connection issuing GETs until `until`.
asio::awaitable<void> getter(const std::string& socket, const std::vector<std::string>& ids,
                             std::size_t first, std::size_t stride, steady::time_point until,
                             std::vector<double>& latencies_us) {
    connection c(co_await asio::this_coro::executor, unix_endpoint(socket));
    std::string target;
    for (std::size_t i = first; steady::now() < until; i += stride) {
        target = "/v1/tasks/lb/" + ids[i % ids.size()];
        auto t0 = steady::now();
        auto r = co_await c.request(http::verb::get, target);
        latencies_us.push_back(
            std::chrono::duration<double, std::micro>(steady::now() - t0).count());
        if (r.status != 200) {
            throw std::runtime_error("GET " + target + ": HTTP " + std::to_string(r.status) + ": " +
                                     r.body);
        }
    }
}

asio::awaitable<json::object> status(connection& ctl) {
    co_return json::parse(co_await get_ok(ctl, "/v1/status")).as_object();
}

// Shared by the subscribers, the producer and the run: subscribers may outlive a failed run
// (their streams end when the daemon is killed), so they hold it by shared_ptr.
struct fanout_state {
    explicit fanout_state(const asio::any_io_executor& ex)
        : subs_done(ex, asio::steady_timer::time_point::max()) {}
    std::unordered_map<std::string, std::size_t> index;  // task key -> change number
    std::vector<steady::time_point> sent;                // when each DELETE was sent
    std::vector<double> delays_ms;
    steady::time_point last_delivery{};
    std::size_t delivered = 0, duplicates = 0, other_lines = 0, bad_lines = 0;
    std::size_t finished = 0;   // subscribers that have seen every change
    std::size_t subs_left = 0;  // subscriber coroutines still running
    std::exception_ptr sub_failure;
    asio::steady_timer subs_done;  // cancelled when subs_left reaches 0
};

// B: one subscriber; returns once it has seen every change (or the stream ends).
asio::awaitable<void> subscriber(std::string socket, std::shared_ptr<fanout_state> state) {
    fanout_state& st = *state;
    connection c(co_await asio::this_coro::executor, unix_endpoint(socket));
    std::vector<bool> seen(st.sent.size(), false);
    std::size_t count = 0;
    std::string error_body;
    auto on_line = [&](std::string_view line) {
        auto now = steady::now();
        boost::system::error_code ec;
        auto v = json::parse(line, ec);
        if (ec || !v.is_object()) {
            ++st.bad_lines;  // called from inside Beast's parser: no exceptions here
            return false;
        }
        const auto& o = v.as_object();
        const auto* type = o.if_contains("type");
        const auto* state = o.if_contains("state");
        const auto* key = o.if_contains("key");
        if (!type || *type != "task" || !state || *state != "cancelled" || !key) {
            ++st.other_lines;
            return true;
        }
        auto it = st.index.find(std::string(key->as_string()));
        if (it == st.index.end()) {
            ++st.other_lines;
            return true;
        }
        if (seen[it->second]) {
            ++st.duplicates;
            return true;
        }
        seen[it->second] = true;
        ++count;
        ++st.delivered;
        st.last_delivery = std::max(st.last_delivery, now);
        st.delays_ms.push_back(
            std::chrono::duration<double, std::milli>(now - st.sent[it->second]).count());
        return count < seen.size();
    };
    auto code = co_await c.stream_lines("/v1/events", on_line, &error_body);
    if (code != 200)
        throw std::runtime_error("GET /v1/events: HTTP " + std::to_string(code) + ": " +
                                 error_body);
    if (count == seen.size()) ++st.finished;
}

asio::awaitable<void> producer(const std::string& socket, const std::vector<std::string>& ids,
                               fanout_state& st, double rate) {
    connection c(co_await asio::this_coro::executor, unix_endpoint(socket));
    auto start = steady::now();
    for (std::size_t i = 0; i < st.sent.size(); ++i) {
        if (rate > 0) {
            auto at = start + std::chrono::duration_cast<steady::duration>(
                                  std::chrono::duration<double>(static_cast<double>(i) / rate));
            if (at > steady::now()) co_await sleep_for(at - steady::now());
        }
        st.sent[i] = steady::now();
        auto r = co_await c.request(http::verb::delete_, "/v1/tasks/lb/" + ids[i]);
        if (r.status != 200) {
            throw std::runtime_error("DELETE lb/" + ids[i] + ": HTTP " + std::to_string(r.status) +
                                     ": " + r.body);
        }
    }
}

asio::awaitable<figures> run(const options& o) {
    auto ex = co_await asio::this_coro::executor;
    figures f;
    temp_dir dir;
    auto sim = start_sim(dir, o.sim, sim_config());
    auto ids = co_await create_clb_tasks(sim.port, o.tasks, o.loaders);
    auto socket = dir.path() + "/d.sock";
    auto daemon = co_await start_daemon(dir, o.daemon, daemon_config(dir, sim.port, o), socket);
    co_await adopt_clb_tasks(socket, ids, o.loaders);
    connection ctl(ex, unix_endpoint(socket));
    auto st0 = co_await status(ctl);
    const auto& counts = st0.at("tasks").as_object();
    if (counts.at("pending").to_number<std::size_t>() +
            counts.at("running").to_number<std::size_t>() !=
        o.tasks) {
        throw std::runtime_error("the daemon does not track every task: " +
                                 json::serialize(counts));
    }

    // A: GET /v1/tasks/{service}/{request_id} over C connections.
    {
        std::vector<std::vector<double>> per(o.connections);
        auto cpu0 = cpu_micros(daemon.proc->pid());
        auto t0 = steady::now();
        auto until = t0 + std::chrono::duration_cast<steady::duration>(
                              std::chrono::duration<double>(o.duration));
        co_await run_all(o.connections, [&](std::size_t i) {
            return getter(socket, ids, i, o.connections, until, per[i]);
        });
        double elapsed = seconds(steady::now() - t0);
        auto cpu1 = cpu_micros(daemon.proc->pid());
        std::vector<double> all;
        for (auto& v : per) all.insert(all.end(), v.begin(), v.end());
        f.requests = all.size();
        f.requests_per_s = static_cast<double>(all.size()) / elapsed;
        f.daemon_cpu_us_per_request = static_cast<double>(cpu1 - cpu0) /
                                      static_cast<double>(std::max<std::size_t>(1, all.size()));
        f.p50_us = percentile(all, 50);
        f.p99_us = percentile(all, 99);
        f.max_us = all.empty() ? 0 : all.back();
    }

    // B: fan-out of M cancellations to S subscribers.
    {
        std::size_t m = std::min(o.changes, ids.size());
        auto state = std::make_shared<fanout_state>(ex);
        fanout_state& st = *state;
        st.sent.resize(m);
        for (std::size_t i = 0; i < m; ++i) st.index.emplace("lb/" + ids[i], i);
        st.delays_ms.reserve(m * o.subscribers);
        st.subs_left = o.subscribers;
        for (std::size_t i = 0; i < o.subscribers; ++i) {
            asio::co_spawn(ex, subscriber(socket, state), [state](std::exception_ptr e) {
                if (e && !state->sub_failure) state->sub_failure = e;
                if (--state->subs_left == 0) state->subs_done.cancel();
            });
        }
        // Every stream must be registered before the first change.
        auto ready_by = steady::now() + std::chrono::seconds(10);
        for (;;) {
            auto s = co_await status(ctl);
            if (s.at("events").at("subscribers").to_number<std::size_t>() >= o.subscribers) break;
            if (st.sub_failure) std::rethrow_exception(st.sub_failure);
            if (steady::now() > ready_by)
                throw std::runtime_error("the subscribers did not all connect");
            co_await sleep_for(std::chrono::milliseconds(10));
        }
        auto cpu0 = cpu_micros(daemon.proc->pid());
        auto t0 = steady::now();
        co_await producer(socket, ids, st, o.change_rate);
        f.produce_s = seconds(steady::now() - t0);
        // Wait for every delivery, at most 10 s after the last change.
        asio::steady_timer limit(ex, std::chrono::seconds(10));
        limit.async_wait([state](boost::system::error_code ec) {
            if (!ec) state->subs_done.cancel();
        });
        if (st.subs_left > 0) {
            boost::system::error_code ec;
            co_await st.subs_done.async_wait(asio::redirect_error(asio::use_awaitable, ec));
        }
        limit.cancel();
        f.daemon_cpu_s_fanout = static_cast<double>(cpu_micros(daemon.proc->pid()) - cpu0) / 1e6;
        if (st.sub_failure) std::rethrow_exception(st.sub_failure);
        if (st.bad_lines)
            throw std::runtime_error("a subscriber received a line that is not a JSON object");
        f.expected = m * o.subscribers;
        f.delivered = st.delivered;
        f.duplicates = st.duplicates;
        f.other_lines = st.other_lines;
        f.fanout_s = st.delivered ? seconds(st.last_delivery - t0) : 0;
        f.delay_p50_ms = percentile(st.delays_ms, 50);
        f.delay_p99_ms = percentile(st.delays_ms, 99);
        f.delay_max_ms = st.delays_ms.empty() ? 0 : st.delays_ms.back();
        if (st.subs_left > 0) {
            // Streams still open (deliveries missing): stopping the daemon ends them.
            daemon.proc->stop(SIGTERM, std::chrono::seconds(20));
            st.subs_done.expires_at(asio::steady_timer::time_point::max());
            boost::system::error_code ec;
            if (st.subs_left > 0) {
                co_await st.subs_done.async_wait(asio::redirect_error(asio::use_awaitable, ec));
            }
        }
    }
    co_return f;
}

}  // namespace

int main(int argc, char** argv) {
    options o;
    CLI::App app{
        "taskpollerd's control socket: GET latency and event fan-out (issue 8, benchmark 4)"};
    app.add_option("--tasks", o.tasks, "CLB tasks in the daemon's store")->capture_default_str();
    app.add_option("--connections", o.connections, "concurrent keep-alive connections issuing GETs")
        ->capture_default_str();
    app.add_option("--duration", o.duration, "seconds of GETs")->capture_default_str();
    app.add_option("--subscribers", o.subscribers, "GET /v1/events streams")->capture_default_str();
    app.add_option("--changes", o.changes, "tasks cancelled while the subscribers listen")
        ->capture_default_str();
    app.add_option("--change-rate", o.change_rate, "cancellations per second (0: back to back)")
        ->capture_default_str();
    app.add_option("--loaders", o.loaders, "parallel connections used to create and adopt tasks")
        ->capture_default_str();
    app.add_option("--sim", o.sim, "taskpoller-sim binary")->capture_default_str();
    app.add_option("--daemon", o.daemon, "taskpollerd binary")->capture_default_str();
    CLI11_PARSE(app, argc, argv);
    if (o.tasks == 0 || o.connections == 0 || o.duration <= 0 || o.subscribers == 0 ||
        o.changes == 0 || o.loaders == 0) {
        std::cerr << "control_socket: sizes and durations must be positive\n";
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
            std::cerr << "control_socket: " << e.what() << "\n";
            return 1;
        }
    }

    std::size_t missing = f.expected - std::min(f.expected, f.delivered);
    std::printf("GET /v1/tasks/lb/{id}: %zu tasks in the store, %zu connections, %.0f s\n", o.tasks,
                o.connections, o.duration);
    std::printf("  %-28s %12.0f\n", "requests/s", f.requests_per_s);
    std::printf("  %-28s %12.0f\n", "latency p50 (us)", f.p50_us);
    std::printf("  %-28s %12.0f\n", "latency p99 (us)", f.p99_us);
    std::printf("  %-28s %12.0f\n", "latency max (us)", f.max_us);
    std::printf("  %-28s %12.1f\n", "daemon CPU us/request", f.daemon_cpu_us_per_request);
    std::printf(
        "GET /v1/events: %zu subscribers, %zu cancellations (%s)\n", o.subscribers,
        std::min(o.changes, o.tasks),
        o.change_rate > 0 ? fmt::format("{:.0f}/s", o.change_rate).c_str() : "back to back");
    std::printf("  %-28s %12zu\n", "deliveries expected", f.expected);
    std::printf("  %-28s %12zu\n", "delivered", f.delivered);
    std::printf("  %-28s %12zu\n", "missing", missing);
    std::printf("  %-28s %12zu\n", "duplicates", f.duplicates);
    std::printf("  %-28s %12.3f\n", "changes produced in (s)", f.produce_s);
    std::printf("  %-28s %12.3f\n", "all delivered after (s)", f.fanout_s);
    std::printf("  %-28s %12.0f\n", "deliveries/s",
                f.fanout_s > 0 ? static_cast<double>(f.delivered) / f.fanout_s : 0.0);
    std::printf("  %-28s %12.2f\n", "delay p50 (ms)", f.delay_p50_ms);
    std::printf("  %-28s %12.2f\n", "delay p99 (ms)", f.delay_p99_ms);
    std::printf("  %-28s %12.2f\n", "delay max (ms)", f.delay_max_ms);
    std::printf("  %-28s %12.3f\n", "daemon CPU s (fan-out)", f.daemon_cpu_s_fanout);
    std::printf(
        "%s\n",
        fmt::format(
            R"({{"bench":"control_socket","tasks":{},"connections":{},"duration_s":{},"requests":{},)"
            R"("requests_per_s":{:.0f},"latency_p50_us":{:.0f},"latency_p99_us":{:.0f},"latency_max_us":{:.0f},)"
            R"("daemon_cpu_us_per_request":{:.1f},"subscribers":{},"changes":{},"change_rate":{},)"
            R"("deliveries_expected":{},"delivered":{},"missing":{},"duplicates":{},)"
            R"("fanout_s":{:.3f},"delay_p50_ms":{:.2f},"delay_p99_ms":{:.2f},"delay_max_ms":{:.2f}}})",
            o.tasks, o.connections, o.duration, f.requests, f.requests_per_s, f.p50_us, f.p99_us,
            f.max_us, f.daemon_cpu_us_per_request, o.subscribers, std::min(o.changes, o.tasks),
            o.change_rate, f.expected, f.delivered, missing, f.duplicates, f.fanout_s,
            f.delay_p50_ms, f.delay_p99_ms, f.delay_max_ms)
            .c_str());
    return missing == 0 && f.duplicates == 0 ? 0 : 1;
}
