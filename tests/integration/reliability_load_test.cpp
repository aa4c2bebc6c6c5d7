// Issue 8's load test: the real taskpollerd tracking many live tasks against the real simulator
// (CVM StopInstances batches of 100, CLB submissions, CLB requestIds adopted with POST /v1/tasks;
// durations of hours, so they stay live), while 1,000 clients hold concurrent connections to its
// control socket: long-polls on tasks and batches (`?wait=`), paged lists of tasks and batches,
// event-stream subscribers, single reads, and a few writers submitting new batches. Checked:
//   - no failed request: every answer 2xx (the limits are configured for the client count, so
//     no 429 is expected and none is accepted), every stream stays up, in order, without a gap;
//   - p99 latency of the immediate requests, and p99 of how late long-polls on live objects
//     answer after the wait they asked for, below a generous bound (TASKPOLLER_LOAD_P99_MS,
//     default 10 s: the CI machine is shared; the measured figures are printed);
//   - the daemon's file descriptors back to the baseline once the clients are gone (its Unix
//     sockets and every descriptor that is not a socket, exactly; its TCP connections to the
//     simulator belong to the HTTP pool, vary with polling and are only reported), and the
//     number seen during the run shows the clients were concurrent;
//   - its resident memory stable: the growth after a warm-up bounded.
// Size: TASKPOLLER_LOAD_TASKS (20,000; 100,000 for the documented run), TASKPOLLER_LOAD_CLIENTS
// (1,000), TASKPOLLER_LOAD_SECONDS (20); smaller defaults under the sanitizers.
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include "ctl/unix_client.hpp"
#include "support/api.hpp"
#include "support/daemon_process.hpp"
#include "support/ground_truth.hpp"
#include "support/http_client.hpp"
#include "support/sim_process.hpp"

namespace taskpoller::testing {
namespace {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace json = boost::json;
using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;

// `overlap_percent`: how many of the clients must be seen connected at once. Under the
// sanitizers, beside the other long tests, a connection takes seconds to open (p99 10.7 s seen):
// 251 of 300 were seen at once in one run (CI, 2026-12-06), so the bound there is 3/4.
#ifdef TASKPOLLER_SANITIZED
constexpr int default_tasks = 4000, default_clients = 300, default_seconds = 10,
              default_p99_ms = 30000, overlap_percent = 75;
#else
constexpr int default_tasks = 20000, default_clients = 1000, default_seconds = 20,
              default_p99_ms = 10000, overlap_percent = 90;
#endif

// --- the daemon's resources, from /proc ------------------------------------------------------

struct fd_counts {
    std::size_t total = 0, unix_sockets = 0, tcp_sockets = 0, other = 0;
};

std::set<std::string> socket_inodes(const char* table) {
    std::set<std::string> out;
    std::ifstream in(table);
    std::string line;
    std::getline(in, line);  // header
    while (std::getline(in, line)) {
        std::istringstream fields(line);
        std::vector<std::string> f;
        for (std::string x; fields >> x;) f.push_back(x);
        // /proc/net/unix: inode is the 7th column; /proc/net/tcp{,6}: the 10th.
        std::size_t col = std::string(table).find("unix") != std::string::npos ? 6 : 9;
        if (f.size() > col) out.insert(f[col]);
    }
    return out;
}

fd_counts count_fds(pid_t pid) {
    fd_counts c;
    auto unix_inodes = socket_inodes("/proc/net/unix");
    auto tcp_inodes = socket_inodes("/proc/net/tcp");
    for (const auto& i : socket_inodes("/proc/net/tcp6")) tcp_inodes.insert(i);
    std::error_code ec;
    for (const auto& e :
         std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/fd", ec)) {
        ++c.total;
        std::error_code lec;
        auto target = std::filesystem::read_symlink(e.path(), lec).string();
        if (target.rfind("socket:[", 0) == 0) {
            auto inode = target.substr(8, target.size() - 9);
            if (unix_inodes.count(inode)) {
                ++c.unix_sockets;
                continue;
            }
            if (tcp_inodes.count(inode)) {
                ++c.tcp_sockets;
                continue;
            }
        }
        ++c.other;
    }
    return c;
}

// utime + stime of `pid`, in clock ticks.
long long cpu_ticks(pid_t pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::istringstream fields(text.substr(text.rfind(')') + 2));
    std::vector<std::string> f;
    for (std::string x; fields >> x;) f.push_back(x);
    return f.size() > 12 ? std::stoll(f[11]) + std::stoll(f[12]) : 0;
}

std::size_t rss_kib(pid_t pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/status");
    std::string line;
    while (std::getline(in, line)) {
        if (line.rfind("VmRSS:", 0) == 0) return std::stoul(line.substr(6));
    }
    return 0;
}

// --- the clients -----------------------------------------------------------------------------

using stream_type = beast::basic_stream<asio::local::stream_protocol>;
constexpr auto tuple_awaitable = asio::as_tuple(asio::use_awaitable);

struct run_state {
    std::string socket;
    clock_type::time_point end;
    std::vector<std::string> task_keys;  // "cvm/123"
    std::vector<std::string> batch_ids;
    std::uint64_t since = 0;  // an event sequence number a little in the past
    // results
    std::vector<double> latency_ms;    // immediate requests
    std::vector<double> overshoot_ms;  // long-polls: answer time minus the wait asked for
    std::map<std::string, std::size_t> requests;  // by kind
    std::size_t failures = 0;
    std::vector<std::string> failure_samples;
    std::size_t streams_up = 0, event_lines = 0, gaps = 0, out_of_order = 0;
    std::vector<stream_type*> streams;  // closed at the end of the run
    std::size_t writer_seq = 0;

    void fail(std::string what) {
        ++failures;
        if (failure_samples.size() < 20) failure_samples.push_back(std::move(what));
    }
};

struct connection {
    stream_type stream;
    beast::flat_buffer buffer;
    bool open = false;
    explicit connection(asio::any_io_executor ex) : stream(ex) {}
};

asio::awaitable<bool> ensure_open(connection& c, run_state& st) {
    if (c.open) co_return true;
    c.stream.expires_after(10s);
    auto [ec] = co_await c.stream.async_connect(asio::local::stream_protocol::endpoint(st.socket),
                                                tuple_awaitable);
    if (ec) {
        st.fail("connect: " + ec.message());
        co_return false;
    }
    c.buffer.clear();
    c.open = true;
    co_return true;
}

void close(connection& c) {
    beast::error_code ec;
    c.stream.socket().shutdown(asio::socket_base::shutdown_both, ec);
    c.stream.close();
    c.open = false;
}

// One request on the kept-alive connection; the answer, or nullopt after recording a failure.
asio::awaitable<std::optional<http::response<http::string_body>>> exchange(
    connection& c, run_state& st, http::verb verb, const std::string& target, std::string body = {},
    std::chrono::milliseconds timeout = 30s) {
    if (!co_await ensure_open(c, st)) co_return std::nullopt;
    http::request<http::string_body> req{verb, target, 11};
    req.set(http::field::host, "localhost");
    if (!body.empty()) {
        req.set(http::field::content_type, "application/json");
        req.body() = std::move(body);
    }
    req.keep_alive(true);
    req.prepare_payload();
    c.stream.expires_after(timeout);
    auto [wec, wn] = co_await http::async_write(c.stream, req, tuple_awaitable);
    if (wec) {
        st.fail(std::string(req.method_string()) + " " + target + ": write: " + wec.message());
        close(c);
        co_return std::nullopt;
    }
    http::response_parser<http::string_body> parser;
    parser.body_limit(64 << 20);
    auto [rec, rn] = co_await http::async_read(c.stream, c.buffer, parser, tuple_awaitable);
    if (rec) {
        st.fail(std::string(req.method_string()) + " " + target + ": read: " + rec.message());
        close(c);
        co_return std::nullopt;
    }
    auto res = parser.release();
    if (!res.keep_alive()) close(c);
    if (res.result_int() < 200 || res.result_int() >= 300) {
        st.fail(std::string(req.method_string()) + " " + target + ": HTTP " +
                std::to_string(res.result_int()) + " " + res.body().substr(0, 200));
        co_return std::nullopt;
    }
    co_return res;
}

double ms_since(clock_type::time_point t) {
    return std::chrono::duration<double, std::milli>(clock_type::now() - t).count();
}

asio::awaitable<void> pause(std::mt19937& rng, int lo_ms, int hi_ms) {
    asio::steady_timer t(
        co_await asio::this_coro::executor,
        std::chrono::milliseconds(std::uniform_int_distribution<int>(lo_ms, hi_ms)(rng)));
    co_await t.async_wait(tuple_awaitable);
}

// Long-polls on random tasks (or batches) with waits of 1-3 s.
asio::awaitable<void> waiter(run_state& st, unsigned seed, bool batches) {
    std::mt19937 rng(seed);
    connection c(co_await asio::this_coro::executor);
    while (clock_type::now() < st.end) {
        int wait_s = std::uniform_int_distribution<int>(1, 3)(rng);
        std::string target;
        if (batches) {
            target = "/v1/batches/" + st.batch_ids[rng() % st.batch_ids.size()];
        } else {
            target = "/v1/tasks/" + st.task_keys[rng() % st.task_keys.size()];
        }
        target += "?wait=" + std::to_string(wait_s) + "s";
        auto started = clock_type::now();
        auto r = co_await exchange(c, st, http::verb::get, target, {},
                                   std::chrono::seconds(wait_s + 30));
        ++st.requests[batches ? "wait_batch" : "wait_task"];
        if (!r) continue;
        auto state = std::string(json::parse(r->body()).as_object().at("state").as_string());
        bool terminal = state == "succeeded" || state == "failed" || state == "done" ||
                        state == "rejected" || state == "unknown" || state == "timed_out" ||
                        state == "not_found" || state == "cancelled";
        // A wait on a live object ends when the wait does; one that finished answers earlier.
        if (!terminal) st.overshoot_ms.push_back(ms_since(started) - wait_s * 1000.0);
    }
    close(c);
}

// Pages through the task or batch list (with a filter now and then), up to 5 pages at a time.
asio::awaitable<void> lister(run_state& st, unsigned seed, bool batches) {
    std::mt19937 rng(seed);
    connection c(co_await asio::this_coro::executor);
    const char* filters[] = {"", "&state=running", "&service=cvm", "&service=lb&state=running"};
    while (clock_type::now() < st.end) {
        std::string base = batches ? "/v1/batches?limit=50"
                                   : std::string("/v1/tasks?limit=100") + filters[rng() % 4];
        std::string token;
        for (int page = 0; page < 5 && clock_type::now() < st.end; ++page) {
            std::string target = base + (token.empty() ? "" : "&page_token=" + token);
            auto started = clock_type::now();
            auto r = co_await exchange(c, st, http::verb::get, target);
            ++st.requests[batches ? "list_batches" : "list_tasks"];
            if (!r) break;
            st.latency_ms.push_back(ms_since(started));
            auto doc = json::parse(r->body()).as_object();
            if (doc.at(batches ? "batches" : "tasks").as_array().empty() && page == 0 &&
                base.find("state=") == std::string::npos) {
                st.fail(target + ": an empty first page");
            }
            const auto& next = doc.at("next_page_token");
            if (next.is_null()) break;
            token = ctl::url_encode(next.as_string());
            co_await pause(rng, 50, 200);
        }
        co_await pause(rng, 200, 1000);
    }
    close(c);
}

// Single reads; a new connection every 20 requests (connections come and go during the run).
asio::awaitable<void> reader(run_state& st, unsigned seed) {
    std::mt19937 rng(seed);
    connection c(co_await asio::this_coro::executor);
    for (int n = 1; clock_type::now() < st.end; ++n) {
        std::string target;
        switch (rng() % 4) {
            case 0:
                target = "/v1/tasks/" + st.task_keys[rng() % st.task_keys.size()];
                break;
            case 1:
                target = "/v1/batches/" + st.batch_ids[rng() % st.batch_ids.size()];
                break;
            case 2:
                target = "/v1/status";
                break;
            default:
                target = "/_ping";
                break;
        }
        auto started = clock_type::now();
        auto r = co_await exchange(c, st, http::verb::get, target);
        ++st.requests["get"];
        if (r) st.latency_ms.push_back(ms_since(started));
        if (n % 20 == 0) close(c);
        co_await pause(rng, 200, 1000);
    }
    close(c);
}

// Submits a CLB batch every 1-3 s: new tasks and events during the run.
asio::awaitable<void> writer(run_state& st, unsigned seed) {
    std::mt19937 rng(seed);
    connection c(co_await asio::this_coro::executor);
    while (clock_type::now() < st.end) {
        std::string lb = "lb-load-w" + std::to_string(st.writer_seq++);
        std::string body = json::serialize(
            json::object{{"service", "lb"},
                         {"action", "RegisterInstancesWithLoadBalancer"},
                         {"params",
                          {{"loadBalancerId", lb},
                           {"backends", json::array{json::object{{"instanceId", "ins-backend"}}}}}},
                         {"client_token", lb}});
        auto started = clock_type::now();
        auto r = co_await exchange(c, st, http::verb::post, "/v1/batches", std::move(body));
        ++st.requests["submit"];
        if (r) st.latency_ms.push_back(ms_since(started));
        co_await pause(rng, 1000, 3000);
    }
    close(c);
}

// Holds an event stream for the whole run (live changes, or from a little in the past) and
// checks each line: a change with a higher sequence number than the last, never an error or gap.
asio::awaitable<void> subscriber(run_state& st, bool replay) {
    connection c(co_await asio::this_coro::executor);
    if (!co_await ensure_open(c, st)) co_return;
    std::string target = replay ? "/v1/events?since=" + std::to_string(st.since) : "/v1/events";
    http::request<http::empty_body> req{http::verb::get, target, 11};
    req.set(http::field::host, "localhost");
    c.stream.expires_after(30s);
    auto started = clock_type::now();
    auto [wec, wn] = co_await http::async_write(c.stream, req, tuple_awaitable);
    ++st.requests["events"];
    if (wec) {
        st.fail(target + ": write: " + wec.message());
        co_return;
    }
    http::response_parser<http::buffer_body> parser;
    parser.body_limit(boost::none);
    auto [hec, hn] = co_await http::async_read_header(c.stream, c.buffer, parser, tuple_awaitable);
    if (hec || parser.get().result_int() != 200) {
        st.fail(target + ": " +
                (hec ? hec.message() : "HTTP " + std::to_string(parser.get().result_int())));
        co_return;
    }
    st.latency_ms.push_back(ms_since(started));
    ++st.streams_up;
    c.stream.expires_never();
    if (clock_type::now() >= st.end) {
        // The run ended while this stream was being set up (a slow build: the sanitizers): the
        // sweep that closes the streams at the end has passed, so nothing would end this one.
        co_return;
    }
    st.streams.push_back(&c.stream);
    std::string pending;
    std::uint64_t last_seq = 0;
    char chunk[16384];
    for (;;) {
        parser.get().body().data = chunk;
        parser.get().body().size = sizeof chunk;
        auto [ec, n] = co_await http::async_read_some(c.stream, c.buffer, parser, tuple_awaitable);
        if (ec == http::error::need_buffer) ec = {};
        pending.append(chunk, sizeof chunk - parser.get().body().size);
        for (std::size_t nl; (nl = pending.find('\n')) != std::string::npos;
             pending.erase(0, nl + 1)) {
            std::string_view line(pending.data(), nl);
            ++st.event_lines;
            if (line.rfind("{\"seq\":", 0) != 0) {
                if (line.find("\"gap\"") != std::string_view::npos)
                    ++st.gaps;
                else
                    st.fail(target + ": unexpected line " + std::string(line.substr(0, 200)));
                continue;
            }
            std::uint64_t seq = std::strtoull(line.data() + 7, nullptr, 10);
            if (seq <= last_seq) ++st.out_of_order;
            last_seq = seq;
        }
        if (ec || parser.is_done()) {
            // The end of the run closes the stream; anything before that is a failure.
            if (clock_type::now() < st.end) {
                st.fail(target +
                        ": the stream ended early: " + (ec ? ec.message() : "end of body"));
            }
            break;
        }
    }
    std::erase(st.streams, &c.stream);
}

std::string sim_config(int running) {
    return "instances: {running: " + std::to_string(running) +
           ", stopped: 0}\n"
           "rate_limits: {enabled: false}\n"
           "operations:\n"
           "  default: {duration: {min: 2h, max: 3h}}\n"
           // Some CLB tasks end during the run: changes for the event streams.
           "  RegisterInstancesWithLoadBalancer: {duration: {min: 3s, max: 10m}}\n";
}

std::string daemon_config(const temp_dir& dir, std::uint16_t sim_port, int clients) {
    std::string limit = std::to_string(clients + 100);
    return "cloud:\n"
           "  region: ap-guangzhou\n"
           "  scheme: http\n"
           "  connect_to: \"127.0.0.1:" +
           std::to_string(sim_port) +
           "\"\n"
           "  max_connections_per_host: 8\n"
           "polling: {initial_delay: 1s, interval: 2s, max_interval: 30s, timeout: 6h}\n"
           "rate_limit: {default: 5000, burst: 5000}\n"
           "services:\n"
           "  cvm: {actions: {DescribeInstances: {rate_limit: 1000}}}\n"
           "  lb: {actions: {DescribeLoadBalancersTaskResult: {rate_limit: 100}}}\n"
           "control: {socket: " +
           dir.path() + "/d.sock, max_connections: " + limit + ", max_waiters: " + limit +
           ", max_wait: 1m}\n"
           "store: {journal: \"\", max_finished: 1000000}\n"
           "logging: {level: warn}\n";
}

double percentile(std::vector<double> v, double p) {
    if (v.empty()) return 0;
    std::sort(v.begin(), v.end());
    auto i = static_cast<std::size_t>(p * static_cast<double>(v.size() - 1));
    return v[i];
}

TEST(ReliabilityLoad, thousand_clients_while_tracking_many_tasks) {
    const int tasks = env_int("TASKPOLLER_LOAD_TASKS", default_tasks);
    const int clients = env_int("TASKPOLLER_LOAD_CLIENTS", default_clients);
    const int seconds = env_int("TASKPOLLER_LOAD_SECONDS", default_seconds);
    const double p99_bound_ms = env_int("TASKPOLLER_LOAD_P99_MS", default_p99_ms);
    const int lb_submitted = tasks / 20, lb_adopted = tasks / 20;
    const int cvm_tasks = (tasks - lb_submitted - lb_adopted) / 100 * 100;

    // Every client is a socket here and one in the daemon (which inherits this limit).
    rlimit nofile{};
    ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &nofile), 0);
    nofile.rlim_cur = nofile.rlim_max;
    ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &nofile), 0);
    ASSERT_GE(nofile.rlim_cur, static_cast<rlim_t>(clients + 256))
        << "RLIMIT_NOFILE's hard limit is too low for " << clients << " clients";

    sim_process sim(sim_config(cvm_tasks));
    http_client sim_http(sim.port(), {}, 60s);
    std::vector<std::string> instances;
    {
        auto doc = json::parse(sim_http.get("/_sim/instances").body);
        for (const auto& i : doc.as_object().at("instances").as_array())
            instances.emplace_back(i.at("id").as_string());
    }
    ASSERT_EQ(static_cast<int>(instances.size()), cvm_tasks);

    temp_dir dir;
    ::setenv("TASKPOLLER_SECRET_ID", "AKIDz8krbsJ5yKBZQpn74WFkmLPx3gnPhESA", 1);
    ::setenv("TASKPOLLER_SECRET_KEY", "Gu5t9xGARNpq86cd98joQYCN3Cozk1qA", 1);
    auto config = dir.write("taskpoller.yaml", daemon_config(dir, sim.port(), clients));
    daemon_process daemon(config, dir.path() + "/d.sock", dir.path() + "/daemon.log");
    daemon.start();
    ctl::client_options ctl_opts;
    ctl_opts.socket_path = daemon.socket_path();
    ctl_opts.timeout = 60s;

    // The tracked tasks: CVM batches of 100 and CLB submissions through the daemon (4 threads),
    // and CLB requestIds made at the simulator directly, adopted with POST /v1/tasks.
    run_state st;
    st.socket = daemon.socket_path();
    auto setup_started = clock_type::now();
    std::vector<std::string> bodies;
    for (int i = 0; i < cvm_tasks; i += 100) {
        json::array ids;
        for (int k = i; k < i + 100; ++k) ids.emplace_back(instances[static_cast<std::size_t>(k)]);
        bodies.push_back(json::serialize(json::object{
            {"service", "cvm"}, {"action", "StopInstances"}, {"params", {{"instanceIds", ids}}}}));
    }
    for (int i = 0; i < lb_submitted; ++i) {
        bodies.push_back(json::serialize(json::object{
            {"service", "lb"},
            {"action", "RegisterInstancesWithLoadBalancer"},
            {"params",
             {{"loadBalancerId", "lb-load" + std::to_string(i)},
              {"backends", json::array{json::object{{"instanceId", "ins-backend"}}}}}}}));
    }
    std::mutex setup_mu;
    std::string setup_error;
    std::atomic<std::size_t> next{0};
    std::vector<std::thread> setup;
    for (int t = 0; t < 4; ++t) {
        setup.emplace_back([&] {
            for (std::size_t i; (i = next++) < bodies.size();) {
                auto r = ctl::send_request(ctl_opts, "POST", "/v1/batches", bodies[i]);
                std::lock_guard lock(setup_mu);
                if (!r || r->status != 202) {
                    setup_error = r ? r->body : r.error().message;
                    return;
                }
                auto b = json::parse(r->body).as_object();
                if (b.at("state").as_string() != "submitted")
                    setup_error = "not submitted: " + r->body;
                st.batch_ids.emplace_back(b.at("id").as_string());
                std::string service(b.at("service").as_string());
                for (const auto& e : b.at("entries").as_array()) {
                    st.task_keys.push_back(service + "/" +
                                           std::string(e.at("request_id").as_string()));
                }
            }
        });
    }
    for (auto& t : setup) t.join();
    ASSERT_EQ(setup_error, "") << daemon.log_tail();
    for (int i = 0; i < lb_adopted; ++i) {
        auto answer = call(sim_http, "lb", "DeleteLoadBalancers",
                           {{"loadBalancerIds.0", "lb-adopt" + std::to_string(i)}});
        ASSERT_EQ(code(answer), 0) << json::serialize(answer);
        std::string rid = std::to_string(answer.at("requestId").to_number<std::int64_t>());
        auto r = ctl::send_request(
            ctl_opts, "POST", "/v1/tasks",
            json::serialize(json::object{
                {"service", "lb"}, {"request_id", rid}, {"action", "DeleteLoadBalancers"}}));
        ASSERT_TRUE(r && r->status == 201) << (r ? r->body : r.error().message);
        st.task_keys.push_back("lb/" + rid);
    }
    ASSERT_EQ(st.task_keys.size(), static_cast<std::size_t>(cvm_tasks + lb_submitted + lb_adopted));
    auto status_doc = [&] {
        auto r = ctl::send_request(ctl_opts, "GET", "/v1/status");
        if (!r || r->status != 200) throw std::runtime_error("GET /v1/status failed");
        return json::parse(r->body).as_object();
    };
    auto tracked = [&] {
        return status_doc().at("polling").at("tracked").to_number<std::int64_t>();
    };
    auto tracked_before = tracked();
    // (A few CLB tasks of seconds or minutes may have finished already.)
    ASSERT_GE(tracked_before, static_cast<std::int64_t>(st.task_keys.size()) * 9 / 10);
    double setup_s = ms_since(setup_started) / 1000;

    // Baseline, once every task has been polled once (pending → running): the changes of that
    // first round would otherwise reach every event subscriber at once.
    auto first_round_deadline =
        clock_type::now() +
        std::chrono::seconds(env_int("TASKPOLLER_LOAD_FIRST_ROUND_SECONDS", 120));
    while (status_doc().at("tasks").at("pending").to_number<std::int64_t>() > 0) {
        ASSERT_LT(clock_type::now(), first_round_deadline)
            << json::serialize(status_doc()) << "\n"
            << ctl::send_request(ctl_opts, "GET", "/v1/tasks?state=pending&limit=3")->body;
        std::this_thread::sleep_for(250ms);
    }
    double first_round_s = ms_since(setup_started) / 1000 - setup_s;
    // How many DescribeInstances calls that first round took (100 instances fit in one call).
    auto describe_calls = [&] {
        auto stats = json::parse(sim_http.get("/_sim/stats").body).as_object();
        const auto* a = stats.at("actions").as_object().if_contains("DescribeInstances");
        return a ? a->at("requests").to_number<std::int64_t>() : 0;
    }();
    std::this_thread::sleep_for(1s);
    const pid_t pid = daemon.pid();
    auto fd_before = count_fds(pid);
    auto rss_before = rss_kib(pid);
    auto seq = status_doc().at("events").at("seq").to_number<std::uint64_t>();
    st.since = seq > 200 ? seq - 200 : 0;

    // The clients, all on one io_context thread.
    asio::io_context ioc;
    st.end = clock_type::now() + std::chrono::seconds(seconds);
    const auto warmup_end = clock_type::now() + std::chrono::seconds(seconds) / 4;
    std::map<std::string, int> mix;
    for (int i = 0; i < clients; ++i) {
        unsigned seed = static_cast<unsigned>(i + 1);
        int slot = i % 100;
        auto spawn = [&](auto coro, const char* name) {
            ++mix[name];
            asio::co_spawn(ioc, std::move(coro), [&st](std::exception_ptr e) {
                if (!e) return;
                try {
                    std::rethrow_exception(e);
                } catch (const std::exception& x) {
                    st.fail(std::string("client threw: ") + x.what());
                }
            });
        };
        if (slot < 30)
            spawn(waiter(st, seed, false), "task waiters");
        else if (slot < 40)
            spawn(waiter(st, seed, true), "batch waiters");
        else if (slot < 60)
            spawn(lister(st, seed, false), "task listers");
        else if (slot < 65)
            spawn(lister(st, seed, true), "batch listers");
        else if (slot < 85)
            spawn(subscriber(st, slot % 2 == 0), "event subscribers");
        else if (slot < 98)
            spawn(reader(st, seed), "readers");
        else
            spawn(writer(st, seed), "writers");
    }
    // Samples the daemon once a second; at the end, closes the event streams.
    std::size_t fd_peak = 0, rss_warm = 0, rss_peak_after_warmup = 0;
    asio::co_spawn(
        ioc,
        [&]() -> asio::awaitable<void> {
            asio::steady_timer t(ioc);
            while (clock_type::now() < st.end) {
                t.expires_after(1s);
                co_await t.async_wait(tuple_awaitable);
                fd_peak = std::max(fd_peak, count_fds(pid).unix_sockets);
                auto rss = rss_kib(pid);
                if (clock_type::now() < warmup_end)
                    rss_warm = rss;
                else
                    rss_peak_after_warmup = std::max(rss_peak_after_warmup, rss);
            }
            for (auto* s : std::vector<stream_type*>(st.streams)) {
                beast::error_code ec;
                s->socket().shutdown(asio::socket_base::shutdown_both, ec);
            }
        },
        asio::detached);
    auto run_started = clock_type::now();
    auto cpu_before = cpu_ticks(pid);
    ioc.run();
    double run_s = ms_since(run_started) / 1000;
    double daemon_cpu = static_cast<double>(cpu_ticks(pid) - cpu_before) /
                        static_cast<double>(::sysconf(_SC_CLK_TCK)) / run_s * 100;

    // Every client is gone: the daemon's descriptors go back to the baseline.
    fd_counts fd_after;
    auto settle_deadline = clock_type::now() + 15s;
    do {
        std::this_thread::sleep_for(200ms);
        fd_after = count_fds(pid);
    } while (
        (fd_after.unix_sockets != fd_before.unix_sockets || fd_after.other != fd_before.other) &&
        clock_type::now() < settle_deadline);
    auto rss_after = rss_kib(pid);
    auto tracked_after = tracked();

    std::size_t total_requests = 0;
    for (const auto& [k, n] : st.requests) total_requests += n;
    double p50 = percentile(st.latency_ms, 0.50), p99 = percentile(st.latency_ms, 0.99);
    double wait_p99 = percentile(st.overshoot_ms, 0.99);
    for (const auto& f : st.failure_samples) ADD_FAILURE() << f;
    EXPECT_EQ(st.failures, 0u);
    EXPECT_EQ(st.gaps, 0u);
    EXPECT_EQ(st.out_of_order, 0u);
    EXPECT_EQ(st.streams_up, static_cast<std::size_t>(mix["event subscribers"]));
    EXPECT_GT(st.event_lines, 0u);
    EXPECT_LT(p99, p99_bound_ms) << "p99 latency of immediate requests";
    EXPECT_LT(wait_p99, p99_bound_ms) << "long-polls answered late";
    // The clients were connected at the same time (readers reconnect now and then).
    EXPECT_GE(fd_peak,
              fd_before.unix_sockets + static_cast<std::size_t>(clients) * overlap_percent / 100);
    EXPECT_EQ(fd_after.unix_sockets, fd_before.unix_sockets) << "control connections leaked";
    EXPECT_EQ(fd_after.other, fd_before.other) << "descriptors other than sockets leaked";
    // Memory: what the daemon still holds once the clients are gone stays within 10 % + 16 MiB
    // of what it held after the warm-up (the writers add tasks); while they are connected it may
    // hold more (each connection's buffers: a slow run has more of them open at once, up to 20
    // MiB more on a loaded 2-core machine), but not without bound. Not under AddressSanitizer:
    // its quarantine keeps freed memory resident (up to 256 MiB).
#ifndef TASKPOLLER_SANITIZED
    EXPECT_LE(rss_after, rss_warm + rss_warm / 10 + 16 * 1024) << "RSS kept growing";
    EXPECT_LE(rss_peak_after_warmup, rss_warm + rss_warm / 2 + 32 * 1024)
        << "RSS grew past what the connections explain";
#endif
    // The CVM and adopted tasks last hours: every one of them is still tracked.
    EXPECT_GE(tracked_after, static_cast<std::int64_t>(cvm_tasks + lb_adopted))
        << "tracked tasks were lost";

    EXPECT_EQ(daemon.stop(SIGTERM), 0) << daemon.log_tail();
    std::string mix_text;
    for (const auto& [k, n] : mix)
        mix_text += (mix_text.empty() ? "" : ", ") + std::to_string(n) + " " + k;
    std::string req_text;
    for (const auto& [k, n] : st.requests)
        req_text += (req_text.empty() ? "" : ", ") + k + " " + std::to_string(n);
    std::printf(
        "load: %d clients (%s) for %.1f s while %lld tasks tracked (set up in %.1f s); "
        "first polls done %.1f s later (%lld DescribeInstances calls for %d CVM tasks); %zu "
        "requests (%s), %zu failed; immediate requests p50 %.1f ms, p99 %.1f ms "
        "(bound %.0f ms); long-poll overshoot p99 %.1f ms; %zu event lines on %zu streams, "
        "%zu gaps; daemon CPU %.0f %%; daemon unix sockets %zu before, %zu peak, %zu after; tcp "
        "%zu/%zu; other "
        "fds %zu/%zu; RSS %zu KiB before, %zu after warm-up, %zu peak after warm-up, %zu "
        "after\n",
        clients, mix_text.c_str(), run_s, static_cast<long long>(tracked_after), setup_s,
        first_round_s, static_cast<long long>(describe_calls), cvm_tasks, total_requests,
        req_text.c_str(), st.failures, p50, p99, p99_bound_ms, wait_p99, st.event_lines,
        st.streams_up, st.gaps, daemon_cpu, fd_before.unix_sockets, fd_peak, fd_after.unix_sockets,
        fd_before.tcp_sockets, fd_after.tcp_sockets, fd_before.other, fd_after.other, rss_before,
        rss_warm, rss_peak_after_warmup, rss_after);
}

}  // namespace
}  // namespace taskpoller::testing
