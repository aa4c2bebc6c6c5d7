// Socket activation with real descriptors: validation, the full take_activation_socket() in a
// forked child given a fake LISTEN_FDS setup, and the real systemd-socket-activate.
#include "daemon/activation.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <thread>

#include "test_util.hpp"

namespace td = taskpoller::daemon;
using namespace std::chrono_literals;
using daemon_test::child_process;
using daemon_test::temp_dir;

namespace {

struct fd_guard {
    int fd;
    ~fd_guard() {
        if (fd >= 0) ::close(fd);
    }
};

int unix_socket(int type, const std::string& path, bool listen_too) {
    int fd = ::socket(AF_UNIX, type | SOCK_CLOEXEC, 0);
    if (path.empty()) return fd;
    sockaddr_un sa{};
    sa.sun_family = AF_UNIX;
    std::strncpy(sa.sun_path, path.c_str(), sizeof sa.sun_path - 1);
    if (::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) return -1;
    if (listen_too && ::listen(fd, 8) != 0) return -1;
    return fd;
}

std::string error_of(const taskpoller::core::result<void>& r) {
    return r ? std::string("(ok)") : r.error().message;
}

}  // namespace

TEST(CheckListeningUnixSocket, accepts_listening_unix_stream) {
    temp_dir dir;
    fd_guard s{unix_socket(SOCK_STREAM, (dir.path() / "s").string(), true)};
    ASSERT_GE(s.fd, 0);
    auto r = td::check_listening_unix_socket(s.fd);
    EXPECT_TRUE(r) << error_of(r);
}

TEST(CheckListeningUnixSocket, rejects_the_rest) {
    temp_dir dir;
    fd_guard bound{unix_socket(SOCK_STREAM, (dir.path() / "b").string(), false)};
    fd_guard dgram{unix_socket(SOCK_DGRAM, (dir.path() / "d").string(), false)};
    fd_guard tcp{::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)};
    sockaddr_in sin{};
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(::bind(tcp.fd, reinterpret_cast<sockaddr*>(&sin), sizeof sin), 0);
    ASSERT_EQ(::listen(tcp.fd, 1), 0);
    int p[2];
    ASSERT_EQ(::pipe2(p, O_CLOEXEC), 0);
    fd_guard r{p[0]}, w{p[1]};

    struct c {
        int fd;
        const char* expect;
    };
    for (auto x :
         {c{bound.fd, "not listening"}, c{dgram.fd, "not a stream socket"},
          c{tcp.fd, "not an AF_UNIX socket"}, c{r.fd, "not a socket"}, c{1000, "not a socket"}}) {
        auto res = td::check_listening_unix_socket(x.fd);
        ASSERT_FALSE(res) << x.expect;
        EXPECT_NE(res.error().message.find(x.expect), std::string::npos) << res.error().message;
    }
}

// The child owns fds 3 and 4 (two listening sockets, "metrics" and "control"), claims them via
// LISTEN_* and reports through a pipe on a high descriptor.
TEST(TakeActivationSocket, picks_named_fd_in_child) {
    temp_dir dir;
    int p[2];
    ASSERT_EQ(::pipe2(p, O_CLOEXEC), 0);
    pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
        int report = ::fcntl(p[1], F_DUPFD_CLOEXEC, 100);
        int a = unix_socket(SOCK_STREAM, (dir.path() / "metrics").string(), true);
        int b = unix_socket(SOCK_STREAM, (dir.path() / "control").string(), true);
        if (report < 0 || a < 0 || b < 0 || ::dup2(a, 50) < 0 || ::dup2(b, 51) < 0 ||
            ::dup2(50, 3) < 0 || ::dup2(51, 4) < 0) {
            ::_exit(10);
        }
        ::setenv("LISTEN_PID", std::to_string(::getpid()).c_str(), 1);
        ::setenv("LISTEN_FDS", "2", 1);
        ::setenv("LISTEN_FDNAMES", "metrics:control", 1);
        auto fd = td::take_activation_socket("control");
        std::string out =
            fd ? fmt::format("fd={} cloexec={} fd3_closed={} env_cleared={}", fd->value_or(-1),
                             (::fcntl(4, F_GETFD) & FD_CLOEXEC) ? 1 : 0,
                             ::fcntl(3, F_GETFD) < 0 ? 1 : 0,
                             !std::getenv("LISTEN_PID") && !std::getenv("LISTEN_FDS") &&
                                     !std::getenv("LISTEN_FDNAMES")
                                 ? 1
                                 : 0)
               : "error: " + fd.error().message;
        ssize_t n = ::write(report, out.data(), out.size());
        ::_exit(n == static_cast<ssize_t>(out.size()) ? 0 : 11);
    }
    child_process child(pid);
    ::close(p[1]);
    std::string report = daemon_test::read_all(p[0], 10s);
    ::close(p[0]);
    auto st = child.wait(10s);
    ASSERT_TRUE(st);
    ASSERT_TRUE(WIFEXITED(*st));
    EXPECT_EQ(WEXITSTATUS(*st), 0);
    EXPECT_EQ(report, "fd=4 cloexec=1 fd3_closed=1 env_cleared=1");
}

TEST(TakeActivationSocket, not_activated_and_foreign_pid) {
    {
        daemon_test::scoped_env a("LISTEN_PID", std::nullopt), b("LISTEN_FDS", std::nullopt);
        auto r = td::take_activation_socket();
        ASSERT_TRUE(r);
        EXPECT_EQ(*r, std::nullopt);
    }
    daemon_test::scoped_env a("LISTEN_PID", std::to_string(::getpid() + 1));
    daemon_test::scoped_env b("LISTEN_FDS", "1");
    auto r = td::take_activation_socket();
    ASSERT_TRUE(r);
    EXPECT_EQ(*r, std::nullopt);
    EXPECT_EQ(std::getenv("LISTEN_FDS"), nullptr) << "cleared even when not ours";
}

namespace {

// Runs systemd-socket-activate with `args` + the probe, connects to `connect_to` (which makes
// it exec the probe), and returns what the probe wrote plus its exit status.
struct probe_run {
    std::string report;
    std::optional<int> status;
};

probe_run run_probe(const std::vector<std::string>& args, const std::string& connect_to) {
    pid_t pid = ::fork();
    if (pid < 0) return {};
    if (pid == 0) {
        std::vector<std::string> all = {"systemd-socket-activate"};
        all.insert(all.end(), args.begin(), args.end());
        all.emplace_back(ACTIVATION_PROBE);
        std::vector<char*> argv;
        for (auto& s : all) argv.push_back(s.data());
        argv.push_back(nullptr);
        int devnull = ::open("/dev/null", O_WRONLY);
        ::dup2(devnull, 1);  // "Listening on ..." chatter
        ::execvp(argv[0], argv.data());
        ::_exit(127);
    }
    child_process child(pid);
    probe_run out;
    int c = -1;
    for (int i = 0; i < 500 && c < 0; ++i) {  // up to ~5s for the socket to appear
        c = unix_socket(SOCK_STREAM, "", false);
        sockaddr_un sa{};
        sa.sun_family = AF_UNIX;
        std::strncpy(sa.sun_path, connect_to.c_str(), sizeof sa.sun_path - 1);
        if (::connect(c, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
            ::close(c);
            c = -1;
            std::this_thread::sleep_for(10ms);
        }
    }
    if (c < 0) return out;
    out.report = daemon_test::read_all(c, 10s);
    ::close(c);
    out.status = child.wait(10s);
    return out;
}

}  // namespace

TEST(SystemdSocketActivate, probe_receives_control_socket) {
    temp_dir dir;
    std::string path = (dir.path() / "control.sock").string();
    auto r = run_probe({"-l", path, "--fdname=control"}, path);
    EXPECT_EQ(r.report, "fd=3 cloexec=1 listen_env=cleared\n");
    ASSERT_TRUE(r.status);
    ASSERT_TRUE(WIFEXITED(*r.status));
    EXPECT_EQ(WEXITSTATUS(*r.status), 0);
}

TEST(SystemdSocketActivate, picks_control_among_several) {
    temp_dir dir;
    std::string other = (dir.path() / "other.sock").string();
    std::string control = (dir.path() / "control.sock").string();
    auto r = run_probe({"-l", other, "-l", control, "--fdname=metrics:control"}, control);
    EXPECT_EQ(r.report, "fd=4 cloexec=1 listen_env=cleared\n");
    ASSERT_TRUE(r.status);
    EXPECT_EQ(WEXITSTATUS(*r.status), 0);
}

TEST(SystemdSocketActivate, several_without_control_name_fails_clearly) {
    temp_dir dir;
    std::string a = (dir.path() / "a.sock").string();
    std::string b = (dir.path() / "b.sock").string();
    auto r = run_probe({"-l", a, "-l", b, "--fdname=a:b"}, a);
    EXPECT_EQ(r.report, "");
    ASSERT_TRUE(r.status);
    ASSERT_TRUE(WIFEXITED(*r.status));
    EXPECT_EQ(WEXITSTATUS(*r.status), 2);
}
