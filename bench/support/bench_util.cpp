// GCC 12 reports a false -Wmismatched-new-delete for coroutine frames whose promise type has a
// sized operator delete (Asio's awaitable); see GCC bug 109224.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

#include "support/bench_util.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "qcloud/request.hpp"
#include "qcloud/tc3.hpp"
#include "qcloud/v3_response.hpp"

namespace taskpoller::bench {
namespace asio = boost::asio;
namespace json = boost::json;
namespace http = boost::beast::http;
using asio::use_awaitable;

const char* const sim_secret_id = "AKIDz8krbsJ5yKBZQpn74WFkmLPx3gnPhESA";
const char* const sim_secret_key = "Gu5t9xGARNpq86cd98joQYCN3Cozk1qA";

const char* clb_service(api_version v) {
    return v == api_version::v3 ? "clb" : "lb";
}

const char* clb_poll_action(api_version v) {
    return v == api_version::v3 ? "DescribeTaskStatus" : "DescribeLoadBalancersTaskResult";
}

v3_request sign_v3(const std::string& service, const std::string& version,
                   const std::string& action, std::string body, const std::string& region) {
    v3_request r;
    r.host = service + ".tencentcloudapi.com";
    r.body = std::move(body);
    const auto now = qcloud::system_unix_seconds();
    qcloud::credentials creds(sim_secret_id, sim_secret_key);
    r.headers = {{"Authorization",
                  qcloud::tc3::authorization(creds, {r.host, v3_content_type, r.body, now})},
                 {"X-TC-Action", action},
                 {"X-TC-Version", version},
                 {"X-TC-Timestamp", std::to_string(now)},
                 {"X-TC-Region", region}};
    return r;
}

v3_request sign_v3_task_poll(const std::string& request_id) {
    return sign_v3("clb", "2018-03-17", "DescribeTaskStatus",
                   json::serialize(json::object{{"TaskId", request_id}}));
}

temp_dir::temp_dir() {
    std::string tmpl =
        (std::filesystem::temp_directory_path() / "taskpoller-bench-XXXXXX").string();
    if (!::mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
    path_ = tmpl;
}

temp_dir::~temp_dir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
}

std::string temp_dir::write(const std::string& name, const std::string& text) const {
    auto p = path_ + "/" + name;
    std::ofstream(p) << text;
    return p;
}

std::string read_file(const std::string& path) {
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

child::child(const std::string& program, const std::vector<std::string>& args,
             const std::string& log, const std::vector<std::string>& env)
    : log_(log) {
    std::vector<char*> argv;
    argv.push_back(const_cast<char*>(program.c_str()));
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    // Dies with the benchmark (killed at a smoke test's timeout, or by ^C): no daemon or
    // simulator left running. Only from the main thread, as PR_SET_PDEATHSIG follows the thread
    // that forked (tests/integration/support/sim_process.cpp does the same).
    const pid_t parent = ::getpid();
    const bool from_main_thread = ::gettid() == parent;
    pid_ = ::fork();
    if (pid_ < 0) throw std::runtime_error("fork failed");
    if (pid_ == 0) {
        if (from_main_thread) {
            ::prctl(PR_SET_PDEATHSIG, SIGKILL);
            if (::getppid() != parent) ::_exit(127);
        }
        int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd >= 0) {
            ::dup2(fd, 1);
            ::dup2(fd, 2);
        }
        for (const auto& e : env) ::putenv(const_cast<char*>(e.c_str()));
        ::execv(argv[0], argv.data());
        ::_exit(127);
    }
}

child::~child() {
    if (pid_ > 0) {
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, nullptr, 0);
    }
}

bool child::running() {
    if (pid_ <= 0) return false;
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return false;
    }
    return true;
}

int child::wait(std::chrono::milliseconds timeout) {
    if (pid_ <= 0) return -1;
    auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        int status = 0;
        pid_t r = ::waitpid(pid_, &status, WNOHANG);
        if (r == pid_) {
            pid_ = -1;
            return status;
        }
        if (r < 0) return -1;
        if (std::chrono::steady_clock::now() > deadline) {
            ::kill(pid_, SIGKILL);
            ::waitpid(pid_, nullptr, 0);
            pid_ = -1;
            return -1;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
}

int child::stop(int sig, std::chrono::milliseconds timeout) {
    if (pid_ <= 0) return -1;
    ::kill(pid_, sig);
    return wait(timeout);
}

std::string child::log_tail(std::size_t bytes) const {
    auto text = read_file(log_);
    return text.size() > bytes ? text.substr(text.size() - bytes) : text;
}

void wait_for_file(const std::string& path, std::chrono::milliseconds timeout, child& proc,
                   const std::string& what) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
        std::error_code ec;
        if (std::filesystem::file_size(path, ec) > 0 && !ec) return;
        if (!proc.running())
            throw std::runtime_error(what + " exited at start-up:\n" + proc.log_tail());
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    throw std::runtime_error(what + " did not start in time:\n" + proc.log_tail());
}

std::int64_t cpu_micros(pid_t pid) {
    std::string stat = read_file("/proc/" + std::to_string(pid) + "/stat");
    // The command name (field 2) may contain spaces; fields after it start past the last ')'.
    auto close = stat.rfind(')');
    if (close == std::string::npos)
        throw std::runtime_error("cannot read /proc/" + std::to_string(pid) + "/stat");
    std::istringstream in(stat.substr(close + 2));
    std::string field;
    long long utime = 0, stime = 0;
    for (int i = 3; i <= 15 && in >> field; ++i) {
        if (i == 14) utime = std::stoll(field);
        if (i == 15) stime = std::stoll(field);
    }
    static const long ticks = ::sysconf(_SC_CLK_TCK);
    return (utime + stime) * 1'000'000LL / ticks;
}

double percentile(std::vector<double>& v, double p) {
    if (v.empty()) return 0;
    std::sort(v.begin(), v.end());
    auto rank = static_cast<std::size_t>(std::ceil(p / 100.0 * static_cast<double>(v.size())));
    return v[std::clamp<std::size_t>(rank, 1, v.size()) - 1];
}

std::string default_sim_path() {
    return TASKPOLLER_SIM_PATH;
}
std::string default_daemon_path() {
    return TASKPOLLER_DAEMON_PATH;
}

std::string find_on_path(const std::string& name) {
    const char* path = std::getenv("PATH");
    std::stringstream dirs(path ? path : "/usr/bin:/bin");
    std::string dir;
    while (std::getline(dirs, dir, ':')) {
        auto candidate = (dir.empty() ? std::string(".") : dir) + "/" + name;
        if (::access(candidate.c_str(), X_OK) == 0) return candidate;
    }
    return {};
}

sim_instance start_sim(const temp_dir& dir, const std::string& sim_path,
                       const std::string& config_yaml, const std::vector<std::string>& extra) {
    auto config = dir.write("sim.yaml", config_yaml);
    auto port_file = dir.path() + "/sim.port";
    std::vector<std::string> args{
        "--listen", "127.0.0.1:0",       "--port-file",     port_file,     "--config",
        config,     "--no-replay-check", "--no-rate-limit", "--log-level", "warn"};
    args.insert(args.end(), extra.begin(), extra.end());
    sim_instance s;
    s.proc = std::make_unique<child>(sim_path, args, dir.path() + "/sim.log");
    wait_for_file(port_file, std::chrono::seconds(10), *s.proc, "taskpoller-sim");
    s.port = static_cast<std::uint16_t>(std::stoi(read_file(port_file)));
    return s;
}

asio::awaitable<void> sleep_for(std::chrono::steady_clock::duration d) {
    asio::steady_timer t(co_await asio::this_coro::executor, d);
    co_await t.async_wait(use_awaitable);
}

asio::awaitable<daemon_instance> start_daemon(const temp_dir& dir, const std::string& daemon_path,
                                              const std::string& config_yaml,
                                              const std::string& socket) {
    auto config = dir.write("taskpoller.yaml", config_yaml);
    daemon_instance d;
    d.socket = socket;
    d.proc = std::make_unique<child>(
        daemon_path, std::vector<std::string>{"--config", config}, dir.path() + "/daemon.log",
        std::vector<std::string>{std::string("TASKPOLLER_SECRET_ID=") + sim_secret_id,
                                 std::string("TASKPOLLER_SECRET_KEY=") + sim_secret_key});
    auto ex = co_await asio::this_coro::executor;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (std::chrono::steady_clock::now() < deadline) {
        if (!d.proc->running()) {
            throw std::runtime_error("taskpollerd exited at start-up:\n" + d.proc->log_tail());
        }
        if (std::filesystem::exists(socket)) {
            connection c(ex, unix_endpoint(socket));
            bool up = false;
            try {
                up = (co_await c.request(http::verb::get, "/_ping")).status == 200;
            } catch (const boost::system::system_error&) {
            }
            if (up) co_return d;
        }
        co_await sleep_for(std::chrono::milliseconds(20));
    }
    throw std::runtime_error("taskpollerd did not answer /_ping:\n" + d.proc->log_tail());
}

asio::awaitable<std::string> get_ok(connection& c, const std::string& target) {
    auto r = co_await c.request(http::verb::get, target);
    if (r.status != 200) {
        throw std::runtime_error("GET " + target + ": HTTP " + std::to_string(r.status) + ": " +
                                 r.body);
    }
    co_return std::move(r.body);
}

namespace {

// One 3.0 DeleteLoadBalancer on its own load balancer; returns the RequestId.
asio::awaitable<std::string> create_v3(connection& c, std::size_t i) {
    auto req = sign_v3("clb", "2018-03-17", "DeleteLoadBalancer",
                       json::serialize(json::object{
                           {"LoadBalancerIds", json::array{"lb-b" + std::to_string(i)}}}));
    auto r = co_await c.request(http::verb::post, "/", req.body, v3_content_type, req.host,
                                &req.headers);
    auto parsed = qcloud::v3::parse_response(r.body);
    if (r.status != 200 || !parsed || parsed->error)
        throw std::runtime_error("simulator refused DeleteLoadBalancer: " + r.body);
    co_return parsed->request_id;
}

asio::awaitable<void> create_worker(std::uint16_t port, std::size_t& next, std::size_t count,
                                    std::vector<std::string>& ids, api_version v) {
    connection c(co_await asio::this_coro::executor, tcp_endpoint(port));
    qcloud::credentials creds(sim_secret_id, sim_secret_key);
    auto nonce = qcloud::random_nonce_source();
    while (next < count) {
        std::size_t i = next++;
        if (v == api_version::v3) {
            ids[i] = co_await create_v3(c, i);
            continue;
        }
        qcloud::request_spec spec;
        spec.host = "lb.api.qcloud.com";
        spec.method = qcloud::http_method::post;
        spec.action = "DeleteLoadBalancers";
        spec.region = "ap-guangzhou";
        // 1,000 distinct load balancers keep /_sim/stats (per-resource counts) small.
        spec.params = {{"loadBalancerIds.0", "lb-bench" + std::to_string(i % 1000)}};
        auto signed_req = qcloud::build_request(creds, spec, qcloud::system_unix_seconds, nonce);
        if (!signed_req) throw std::runtime_error(signed_req.error().message);
        auto r = co_await c.request(http::verb::post, signed_req->target, signed_req->body,
                                    "application/x-www-form-urlencoded", spec.host);
        auto doc = json::parse(r.body);
        const auto& o = doc.as_object();
        if (r.status != 200 || o.at("code").to_number<int>() != 0) {
            throw std::runtime_error("simulator refused DeleteLoadBalancers: " + r.body);
        }
        ids[i] = std::to_string(o.at("requestId").to_number<std::int64_t>());
    }
}

asio::awaitable<void> adopt_worker(const std::string& socket, std::size_t& next,
                                   const std::vector<std::string>& ids, api_version v) {
    connection c(co_await asio::this_coro::executor, unix_endpoint(socket));
    while (next < ids.size()) {
        const auto& rid = ids[next++];
        auto body = json::serialize(json::object{{"service", clb_service(v)}, {"request_id", rid}});
        auto r = co_await c.request(http::verb::post, "/v1/tasks", body);
        if (r.status != 201) {
            throw std::runtime_error("POST /v1/tasks for " + rid + ": HTTP " +
                                     std::to_string(r.status) + ": " + r.body);
        }
    }
}

}  // namespace

asio::awaitable<std::vector<std::string>> create_clb_tasks(std::uint16_t sim_port,
                                                           std::size_t count, std::size_t parallel,
                                                           api_version v) {
    std::vector<std::string> ids(count);
    std::size_t next = 0;
    auto make = [&](std::size_t) { return create_worker(sim_port, next, count, ids, v); };
    co_await run_all(parallel, make);
    co_return ids;
}

asio::awaitable<void> adopt_clb_tasks(const std::string& socket,
                                      const std::vector<std::string>& request_ids,
                                      std::size_t parallel, api_version v) {
    std::size_t next = 0;
    auto make = [&](std::size_t) { return adopt_worker(socket, next, request_ids, v); };
    co_await run_all(parallel, make);
}

}  // namespace taskpoller::bench
