// One local user must not lock others out of the control socket: idle keep-alive connections
// are closed to make room, each non-admin uid has a cap, a few slots are kept for admins and
// slow headers are cut at the header timeout. Peers are told apart by the abstract address
// their socket is bound to; server_options::read_peer maps it to a uid (the tests run as root).
#include <gtest/gtest.h>
#include <sys/resource.h>

#include <atomic>
#include <cstring>

#include "server_fixture.hpp"
#include "test_routes.hpp"

namespace taskpoller::control::test {
namespace {

constexpr std::string_view tag = "tpuid-";

// A peer reader that believes the uid written in the peer's abstract address.
std::optional<peer_credentials> uid_from_address(int fd) {
    sockaddr_un addr{};
    socklen_t len = sizeof addr;
    if (::getpeername(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) return std::nullopt;
    std::string_view name(addr.sun_path + 1,
                          len > sizeof(sa_family_t) + 1 ? len - sizeof(sa_family_t) - 1 : 0);
    if (addr.sun_path[0] != '\0' || !name.starts_with(tag)) return read_peer_credentials(fd);
    auto uid = static_cast<uid_t>(std::stoul(std::string(name.substr(tag.size()))));
    return peer_credentials{uid, uid, 1};
}

// Connects to `path` as `uid` (a bound abstract address the fake reader understands).
int connect_as(const std::string& path, uid_t uid) {
    static std::atomic<int> seq{0};
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un self{};
    self.sun_family = AF_UNIX;
    auto name = fmt::format("{}{}-{}-{}", tag, uid, ::getpid(), seq++);
    std::memcpy(self.sun_path + 1, name.data(), name.size());
    auto self_len = static_cast<socklen_t>(sizeof(sa_family_t) + 1 + name.size());
    sockaddr_un to{};
    to.sun_family = AF_UNIX;
    std::memcpy(to.sun_path, path.c_str(), path.size() + 1);
    if (::bind(fd, reinterpret_cast<sockaddr*>(&self), self_len) != 0 ||
        ::connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof to) != 0) {
        ::close(fd);
        return -1;
    }
    timeval tv{10, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    return fd;
}

void send_text(int fd, std::string_view s) {
    ASSERT_EQ(::send(fd, s.data(), s.size(), MSG_NOSIGNAL), static_cast<ssize_t>(s.size()));
}

std::string read_to_eof(int fd) {
    std::string out;
    char buf[4096];
    for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) > 0;) out.append(buf, std::size_t(n));
    return out;
}

struct fds {
    std::vector<int> v;
    ~fds() {
        for (int fd : v) ::close(fd);
    }
};

constexpr std::string_view ping = "GET /ping HTTP/1.1\r\nHost: x\r\n\r\n";
constexpr std::string_view ping_close =
    "GET /ping HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
constexpr std::string_view slow_header = "GET /ping HTTP/1.1\r\nHo";
constexpr std::string_view submit_close =
    "POST /v1/items HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
    "Content-Type: application/json\r\nContent-Length: 13\r\n\r\n{\"name\":\"ok\"}";

// Opens `n` connections as `uid`, each sending `text`; with `await_answer`, reads the first
// bytes of the answer (so the request was served and the connection is idle).
void open_many(fds& out, const std::string& path, uid_t uid, int n, std::string_view text,
               bool await_answer) {
    for (int i = 0; i < n; ++i) {
        int fd = connect_as(path, uid);
        ASSERT_GE(fd, 0) << "connect " << i << ": " << std::strerror(errno);
        out.v.push_back(fd);
        send_text(fd, text);
        char c;
        if (await_answer) {
            ASSERT_GT(::recv(fd, &c, 1, 0), 0) << "connection " << i << " got no answer";
        }
    }
}

// One request as `uid` on a fresh connection; the status line, and how long it took.
std::pair<std::string, std::chrono::steady_clock::duration> ask(const std::string& path, uid_t uid,
                                                                std::string_view req) {
    const auto start = std::chrono::steady_clock::now();
    int fd = connect_as(path, uid);
    if (fd < 0) return {"connect failed", {}};
    send_text(fd, req);
    std::string out = read_to_eof(fd);
    ::close(fd);
    return {out.substr(0, out.find("\r\n")), std::chrono::steady_clock::now() - start};
}

void raise_fd_limit(rlim_t want) {
    rlimit lim{};
    ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &lim), 0);
    if (lim.rlim_cur >= want) return;
    ASSERT_GE(lim.rlim_max, want) << "hard RLIMIT_NOFILE too low for this test";
    lim.rlim_cur = want;
    ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &lim), 0);
}

server_options flood_options() {
    server_options o;  // the default limits
    o.read_peer = uid_from_address;
    return o;
}

TEST(ServerFlood, RootIsServedWhileOneUserHoldsTwoThousandIdleAndTwoHundredSlow) {
    raise_fd_limit(16384);
    test_server s(make_test_routes(), flood_options());
    fds held;
    open_many(held, s.path, 4242, 2000, ping, true);
    open_many(held, s.path, 4242, 200, slow_header, false);
    auto [status, took] = ask(s.path, 0, ping_close);
    EXPECT_EQ(status, "HTTP/1.1 200 OK");
    EXPECT_LT(took, 1s);
    std::tie(status, took) = ask(s.path, 0, submit_close);
    EXPECT_EQ(status, "HTTP/1.1 201 Created");
    EXPECT_LT(took, 1s);
    // Another ordinary user is not locked out either.
    EXPECT_EQ(ask(s.path, 4343, ping_close).first, "HTTP/1.1 200 OK");
}

TEST(ServerFlood, LongestIdleConnectionIsClosedToMakeRoom) {
    raise_fd_limit(16384);
    server_options o = flood_options();
    o.max_connections = 64;
    o.max_connections_per_uid = 64;  // only the eviction rule protects the others here
    o.admin_reserved_connections = 0;
    test_server s(make_test_routes(), o);
    fds held;
    open_many(held, s.path, 4242, 2000, ping, true);
    EXPECT_EQ(ask(s.path, 4343, ping_close).first, "HTTP/1.1 200 OK");
    EXPECT_EQ(ask(s.path, 0, submit_close).first, "HTTP/1.1 201 Created");
    EXPECT_EQ(read_to_eof(held.v.front()).find("HTTP/1.1 4"), std::string::npos);  // closed
    std::string m = s.on_io([&] { return s.metrics.render(); });
    EXPECT_EQ(m.find("taskpoller_control_connections_evicted_total 0\n"), std::string::npos);
}

TEST(ServerFlood, PerUidCapRefusesTheUidNotOthers) {
    server_options o = flood_options();
    o.max_connections_per_uid = 3;
    test_server s(make_test_routes(), o);
    fds held;
    open_many(held, s.path, 4242, 3, slow_header, false);  // busy, so not evictable
    auto [status, took] = ask(s.path, 4242, ping_close);
    EXPECT_EQ(status, "HTTP/1.1 429 Too Many Requests");
    EXPECT_EQ(ask(s.path, 4343, ping_close).first, "HTTP/1.1 200 OK");
}

TEST(ServerFlood, ReservedSlotsLetAdminsIn) {
    server_options o = flood_options();
    o.max_connections = 6;
    o.max_connections_per_uid = 100;
    o.admin_reserved_connections = 2;
    test_server s(make_test_routes(), o);
    fds held;
    open_many(held, s.path, 4242, 2, slow_header, false);
    open_many(held, s.path, 4343, 2, slow_header, false);
    EXPECT_EQ(ask(s.path, 4444, ping_close).first, "HTTP/1.1 429 Too Many Requests");
    EXPECT_EQ(ask(s.path, 0, ping_close).first, "HTTP/1.1 200 OK");
}

TEST(ServerFlood, SlowHeadersAreCutAtTheHeaderTimeout) {
    server_options o = flood_options();
    o.header_timeout = 300ms;  // the request timeout stays at 10 s
    test_server s(make_test_routes(), o);
    fds held;
    open_many(held, s.path, 4242, 1, slow_header, false);
    held.v.push_back(connect_as(s.path, 4242));  // connects and never sends a byte
    const auto start = std::chrono::steady_clock::now();
    EXPECT_EQ(read_to_eof(held.v[0]), "");
    EXPECT_EQ(read_to_eof(held.v[1]), "");
    const auto took = std::chrono::steady_clock::now() - start;
    EXPECT_GE(took, 200ms);
    EXPECT_LT(took, 3s);
}

}  // namespace
}  // namespace taskpoller::control::test
