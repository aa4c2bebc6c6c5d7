// Idle cost (issue 20): what the daemon's engine costs while it waits between polls with a
// million live tasks, at the shipped polling policy and the API's default rate limits.
//
// In one process: the store holds N live CLB tasks (DeleteLoadBalancers, 10 per batch, each
// observed `running` once, as bench/tracked_memory builds them) and a tracker (the daemon's
// engine: poller, scheduler, dispatcher, rate limiter, the 2.0 protocol over the real HTTP
// client) resumes polling them all (tracker::resume_live_tasks, the path after a journal
// replay). The tracker's configuration is the default one: polling 1 s, then 2 s x 1.5 up to
// 30 s, full jitter, learning on; rate_limit.default 20/s with a burst of 20, so every task is
// due and the engine is held back by its token bucket: it polls 20 times a second and waits in
// between. The cloud is a fake in-process HTTP/1.1 server on its own thread (127.0.0.1, plain
// HTTP, keep-alive) that answers every request with a 2.0 task result `running`
// ({"code":0,...,"data":{"status":2}}), so no task ever ends.
//
// The engine runs on the main thread (io_context::run_one_until in a loop, counting the
// handlers it runs). After a warm-up, over a window, per second of wall time:
//   cpu       the main thread's user + system CPU (getrusage RUSAGE_THREAD): the engine alone,
//             not the fake cloud's thread; as a share of one core;
//   wake-ups  the main thread's voluntary context switches (it blocked in epoll_wait and was
//             woken: each is one wake-up from an idle wait), and involuntary ones beside;
//   handlers  io_context handlers run (timers, socket completions, posted work);
//   polls     requests the fake cloud answered;
//   floor     then, for comparison, a bare io_context on the same thread whose only work is a
//             timer waking it as often as the engine was woken: what that many wake-ups cost on
//             this machine by themselves.
// Goal: <= 1 % of a core; wake-ups per second of the order of the polls per second (no timer
// per task, no busy waiting: a loop that spun would run handlers without sleeping).
//
//   usage: idle_cost [--tasks N] [--warmup S] [--window S]      (default 1000000, 5, 20)
// Prints a table and one JSON line. Exits non-zero if a task is not tracked or nothing polled.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "core/clock.hpp"
#include "engine/tracker.hpp"
#include "http/client.hpp"
#include "store/store.hpp"
#include "support/live_tasks.hpp"

namespace core = taskpoller::core;
namespace st = taskpoller::store;
namespace eng = taskpoller::engine;
using namespace std::chrono_literals;

namespace {

// The fake cloud: one thread, poll(2) over the listening socket and its connections. Each
// complete request (headers, then Content-Length bytes of body) gets the same answer.
class fake_cloud {
  public:
    fake_cloud() {
        listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (listen_fd_ < 0) throw std::runtime_error("socket");
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        a.sin_port = 0;
        if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
            ::listen(listen_fd_, 64) != 0)
            throw std::runtime_error("bind/listen");
        socklen_t len = sizeof a;
        ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&a), &len);
        port_ = ntohs(a.sin_port);
        if (::pipe(stop_pipe_) != 0) throw std::runtime_error("pipe");
        thread_ = std::thread([this] { run(); });
    }
    ~fake_cloud() {
        char c = 0;
        (void)!::write(stop_pipe_[1], &c, 1);
        thread_.join();
        for (auto& c : conns_) ::close(c.fd);
        ::close(listen_fd_);
        ::close(stop_pipe_[0]);
        ::close(stop_pipe_[1]);
    }
    std::uint16_t port() const { return port_; }
    std::uint64_t requests() const { return requests_.load(); }

  private:
    struct conn {
        int fd;
        std::string in;
    };

    void run() {
        static const std::string body =
            R"({"code":0,"message":"","codeDesc":"Success","data":{"status":2}})";
        const std::string answer =
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " +
            std::to_string(body.size()) + "\r\nConnection: keep-alive\r\n\r\n" + body;
        std::vector<pollfd> fds;
        char buf[16384];
        for (;;) {
            fds.clear();
            fds.push_back({stop_pipe_[0], POLLIN, 0});
            fds.push_back({listen_fd_, POLLIN, 0});
            for (auto& c : conns_) fds.push_back({c.fd, POLLIN, 0});
            if (::poll(fds.data(), fds.size(), -1) < 0) continue;
            if (fds[0].revents) return;
            if (fds[1].revents & POLLIN) {
                int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
                if (fd >= 0) conns_.push_back({fd, {}});
            }
            for (std::size_t i = 2; i < fds.size(); ++i) {
                if (!fds[i].revents) continue;
                auto& c = conns_[i - 2];
                ssize_t n = ::read(c.fd, buf, sizeof buf);
                if (n <= 0) {
                    ::close(c.fd);
                    c.fd = -1;
                    continue;
                }
                c.in.append(buf, static_cast<std::size_t>(n));
                for (;;) {
                    auto end = c.in.find("\r\n\r\n");
                    if (end == std::string::npos) break;
                    std::size_t length = 0;
                    for (std::size_t p = 0; p < end;) {
                        auto eol = c.in.find("\r\n", p);
                        if (strncasecmp(c.in.data() + p, "content-length:", 15) == 0)
                            length = std::strtoul(c.in.c_str() + p + 15, nullptr, 10);
                        p = eol + 2;
                    }
                    if (c.in.size() < end + 4 + length) break;
                    c.in.erase(0, end + 4 + length);
                    ++requests_;
                    if (::write(c.fd, answer.data(), answer.size()) < 0) break;
                }
            }
            std::erase_if(conns_, [](const conn& c) { return c.fd < 0; });
        }
    }

    int listen_fd_ = -1;
    int stop_pipe_[2] = {-1, -1};
    std::uint16_t port_ = 0;
    std::vector<conn> conns_;
    std::atomic<std::uint64_t> requests_{0};
    std::thread thread_;
};

struct thread_usage {
    double cpu_s = 0;
    long voluntary = 0;
    long involuntary = 0;
};

thread_usage usage_now() {
    rusage u{};
    ::getrusage(RUSAGE_THREAD, &u);
    const auto secs = [](const timeval& t) {
        return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6;
    };
    return {secs(u.ru_utime) + secs(u.ru_stime), u.ru_nvcsw, u.ru_nivcsw};
}

long rss_mib() {
    std::ifstream statm("/proc/self/statm");
    long size = 0, resident = 0;
    statm >> size >> resident;
    return resident * sysconf(_SC_PAGESIZE) / (1024 * 1024);
}

// The floor on this machine: a bare io_context whose only work is a timer firing `rate` times a
// second, over `seconds`: the CPU share and voluntary switches of the thread running it.
struct floor_figures {
    double cpu_share = 0;
    double wakeups_per_s = 0;
};

floor_figures bare_timer_floor(double rate, double seconds) {
    boost::asio::io_context io;
    boost::asio::steady_timer timer(io);
    const auto period = std::chrono::duration_cast<std::chrono::steady_clock::duration>(
        std::chrono::duration<double>(1.0 / rate));
    const auto start = std::chrono::steady_clock::now();
    const auto end = start + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                                 std::chrono::duration<double>(seconds));
    auto next = start + period;
    std::function<void(const boost::system::error_code&)> tick =
        [&](const boost::system::error_code&) {
            next += period;
            if (next > end) return;
            timer.expires_at(next);
            timer.async_wait(tick);
        };
    timer.expires_at(next);
    timer.async_wait(tick);
    const auto u0 = usage_now();
    io.run();
    const auto u1 = usage_now();
    const double wall =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return {(u1.cpu_s - u0.cpu_s) / wall, static_cast<double>(u1.voluntary - u0.voluntary) / wall};
}

}  // namespace

int main(int argc, char** argv) {
    long tasks = 1'000'000;
    double warmup_s = 5, window_s = 20;
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string a = argv[i];
        if (a == "--tasks")
            tasks = std::atol(argv[i + 1]);
        else if (a == "--warmup")
            warmup_s = std::atof(argv[i + 1]);
        else if (a == "--window")
            window_s = std::atof(argv[i + 1]);
        else {
            std::fprintf(stderr, "usage: idle_cost [--tasks N] [--warmup S] [--window S]\n");
            return 2;
        }
    }
    if (tasks < 10 || window_s <= 0 || warmup_s < 0) {
        std::fprintf(stderr, "idle_cost: --tasks >= 10, --window > 0, --warmup >= 0\n");
        return 2;
    }

    fake_cloud cloud;
    boost::asio::io_context io;
    core::real_clock clock;
    st::store_options opts;
    opts.change_log_capacity = 65'536;
    taskpoller::http::client_options hopts;
    hopts.connect_to["*"] = "127.0.0.1:" + std::to_string(cloud.port());
    taskpoller::http::client http(io.get_executor(), {}, hopts);
    eng::tracker_config cfg;  // default polling policy and rate limits (20/s, burst 20)
    cfg.default_region = "ap-guangzhou";
    cfg.api.https = false;
    st::store s{clock, opts};
    eng::tracker t(io.get_executor(), s, clock, http, {"AKIDbench", "benchkey"}, cfg, {});

    const auto setup_start = std::chrono::steady_clock::now();
    if (!taskpoller::bench::fill_live_clb_tasks(s, tasks,
                                                clock.system_now() + std::chrono::hours(24), false))
        return 1;
    const auto resumed = t.resume_live_tasks();
    const long live = (tasks / 10) * 10;
    if (static_cast<long>(resumed) != live || static_cast<long>(t.polls().tracked()) != live) {
        std::fprintf(stderr, "idle_cost: tracked %zu of %ld tasks\n", resumed, live);
        return 1;
    }
    t.start();
    const double setup_s =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - setup_start).count();

    // Runs the engine until `until`, counting the handlers it runs.
    const auto run_until = [&](std::chrono::steady_clock::time_point until) {
        std::uint64_t handlers = 0;
        while (std::chrono::steady_clock::now() < until) handlers += io.run_one_until(until);
        return handlers;
    };
    const auto to_duration = [](double s) {
        return std::chrono::duration_cast<std::chrono::steady_clock::duration>(
            std::chrono::duration<double>(s));
    };
    run_until(std::chrono::steady_clock::now() + to_duration(warmup_s));

    const auto u0 = usage_now();
    const auto r0 = cloud.requests();
    const auto w0 = std::chrono::steady_clock::now();
    const std::uint64_t handlers = run_until(w0 + to_duration(window_s));
    const auto w1 = std::chrono::steady_clock::now();
    const auto u1 = usage_now();
    const auto r1 = cloud.requests();

    t.stop();
    bool drained = false;
    t.async_drain([&] { drained = true; });
    const auto stop_by = std::chrono::steady_clock::now() + 10s;
    while (!drained && std::chrono::steady_clock::now() < stop_by) io.run_one_for(100ms);

    const double wall = std::chrono::duration<double>(w1 - w0).count();
    const double cpu = u1.cpu_s - u0.cpu_s;
    const double polls = static_cast<double>(r1 - r0);
    const double polls_per_s = polls / wall;
    const double cpu_share = cpu / wall;
    const double wakeups_per_s = static_cast<double>(u1.voluntary - u0.voluntary) / wall;
    // The floor: a bare timer waking the thread as often as the engine did.
    const auto floor = bare_timer_floor(std::max(1.0, wakeups_per_s), std::min(window_s, 5.0));
    const double involuntary_per_s = static_cast<double>(u1.involuntary - u0.involuntary) / wall;
    const double handlers_per_s = static_cast<double>(handlers) / wall;
    const double cpu_us_per_poll = polls > 0 ? cpu * 1e6 / polls : 0;
    const bool cpu_met = cpu_share <= 0.01;

    std::printf(
        "idle_cost: %ld live CLB tasks (setup %.1f s, RSS %ld MiB), default policy and rate "
        "limits (20/s), fake cloud answering `running`; warm-up %.1f s, window %.1f s\n",
        live, setup_s, rss_mib(), warmup_s, wall);
    std::printf("%-34s %12.1f\n", "polls/s", polls_per_s);
    std::printf("%-34s %12.3f %%  (goal <= 1 %%: %s)\n", "engine CPU, share of a core",
                cpu_share * 100, cpu_met ? "met" : "NOT MET");
    std::printf("%-34s %12.1f\n", "engine CPU us per second", cpu * 1e6 / wall);
    std::printf("%-34s %12.1f\n", "engine CPU us per poll", cpu_us_per_poll);
    std::printf("%-34s %12.1f\n", "wake-ups/s (voluntary switches)", wakeups_per_s);
    std::printf("%-34s %12.1f\n", "involuntary switches/s", involuntary_per_s);
    std::printf("%-34s %12.1f\n", "io_context handlers/s", handlers_per_s);
    std::printf("%-34s %12.3f %%  (%.1f wake-ups/s)\n", "floor: bare timer, share of a core",
                floor.cpu_share * 100, floor.wakeups_per_s);
    std::printf(
        "{\"bench\":\"idle_cost\",\"tasks\":%ld,\"warmup_s\":%.1f,\"window_s\":%.2f,"
        "\"setup_s\":%.1f,\"rss_mib\":%ld,\"polls_per_s\":%.2f,\"cpu_share\":%.5f,"
        "\"cpu_us_per_s\":%.1f,\"cpu_us_per_poll\":%.1f,\"wakeups_per_s\":%.2f,"
        "\"involuntary_per_s\":%.2f,\"handlers_per_s\":%.2f,\"floor_cpu_share\":%.5f,"
        "\"floor_wakeups_per_s\":%.2f,\"cpu_target_met\":%s}\n",
        live, warmup_s, wall, setup_s, rss_mib(), polls_per_s, cpu_share, cpu * 1e6 / wall,
        cpu_us_per_poll, wakeups_per_s, involuntary_per_s, handlers_per_s, floor.cpu_share,
        floor.wakeups_per_s, cpu_met ? "true" : "false");
    if (polls <= 0) {
        std::fprintf(stderr, "idle_cost: nothing was polled in the window\n");
        return 1;
    }
    return 0;
}
