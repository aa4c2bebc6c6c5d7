#include "fake_daemon.hpp"

#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <sstream>
#include <stdexcept>

extern char** environ;

namespace taskpoller::ctl::test {
namespace {

void write_all(int fd, const std::string& s) {
    std::size_t off = 0;
    while (off < s.size()) {
        const auto n = ::send(fd, s.data() + off, s.size() - off, MSG_NOSIGNAL);
        if (n <= 0) return;
        off += static_cast<std::size_t>(n);
    }
}

std::string lower(std::string s) {
    for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

// Reads one request; false on EOF, error or stop.
bool read_request(int fd, recorded_request& r, const std::atomic<bool>& stopping) {
    std::string data;
    char buf[4096];
    std::size_t header_end = std::string::npos;
    std::size_t content_length = 0;
    while (!stopping) {
        if (header_end != std::string::npos && data.size() >= header_end + 4 + content_length) {
            r.body = data.substr(header_end + 4, content_length);
            return true;
        }
        pollfd p{fd, POLLIN, 0};
        if (::poll(&p, 1, 100) <= 0) continue;
        const auto n = ::recv(fd, buf, sizeof buf, 0);
        if (n <= 0) return false;
        data.append(buf, static_cast<std::size_t>(n));
        if (header_end == std::string::npos &&
            (header_end = data.find("\r\n\r\n")) != std::string::npos) {
            std::istringstream head(data.substr(0, header_end));
            std::string line;
            std::getline(head, line);
            std::istringstream rl(line);
            rl >> r.method >> r.target;
            while (std::getline(head, line)) {
                if (!line.empty() && line.back() == '\r') line.pop_back();
                const auto colon = line.find(':');
                if (colon == std::string::npos) continue;
                const auto name = lower(line.substr(0, colon));
                auto value = line.substr(colon + 1);
                while (!value.empty() && value.front() == ' ') value.erase(0, 1);
                if (name == "content-length") content_length = std::stoul(value);
                if (name == "content-type") r.content_type = value;
            }
        }
    }
    return false;
}

std::string head_of(const canned_response& c, bool chunked) {
    std::string h = "HTTP/1.1 " + std::to_string(c.status) + " " + c.reason + "\r\n";
    h += "Content-Type: " + c.content_type + "\r\n";
    for (const auto& [k, v] : c.headers) h += k + ": " + v + "\r\n";
    if (chunked) {
        h += "Transfer-Encoding: chunked\r\n";
    } else {
        h += "Content-Length: " + std::to_string(c.body.size()) + "\r\n";
    }
    return h + "Connection: close\r\n\r\n";
}

}  // namespace

canned_response error_response(unsigned status, std::string code, std::string message) {
    canned_response c;
    c.status = status;
    c.reason = "Error";
    c.body = R"({"error":{"code":")" + code + R"(","message":")" + message + R"("}})";
    return c;
}

canned_response ok_json(std::string body, unsigned status) {
    canned_response c;
    c.status = status;
    c.body = std::move(body);
    return c;
}

fake_daemon::handler routes(std::map<std::string, canned_response> table) {
    return [table = std::move(table)](const recorded_request& r) {
        const auto it = table.find(r.method + " " + r.target);
        if (it != table.end()) return it->second;
        return error_response(404, "not_found", "no route " + r.target);
    };
}

std::vector<std::string> with_socket(const fake_daemon& d, std::vector<std::string> args) {
    args.insert(args.begin(), {"-s", d.socket_path()});
    return args;
}

bool has(const std::string& text, std::string_view needle) {
    return text.find(needle) != std::string::npos;
}

fake_daemon::fake_daemon(handler h) : handler_(std::move(h)) {
    char tmpl[] = "/tmp/ctl-test-XXXXXX";
    if (::mkdtemp(tmpl) == nullptr) throw std::runtime_error("mkdtemp failed");
    dir_ = tmpl;
    listen_on(dir_ + "/d.sock");
}

fake_daemon::fake_daemon(handler h, std::string socket_path) : handler_(std::move(h)) {
    ::unlink(socket_path.c_str());
    listen_on(socket_path);
}

void fake_daemon::listen_on(const std::string& path) {
    socket_path_ = path;
    listen_fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, socket_path_.c_str(), sizeof addr.sun_path - 1);
    if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::listen(listen_fd_, 16) != 0) {
        ::close(listen_fd_);
        throw std::runtime_error("cannot listen on " + socket_path_);
    }
    thread_ = std::thread([this] { serve(); });
}

fake_daemon::~fake_daemon() {
    stopping_ = true;
    ::shutdown(listen_fd_, SHUT_RDWR);
    thread_.join();
    ::close(listen_fd_);
    std::error_code ec;
    if (dir_.empty()) {
        std::filesystem::remove(socket_path_, ec);
    } else {
        std::filesystem::remove_all(dir_, ec);
    }
}

std::vector<recorded_request> fake_daemon::requests() const {
    std::lock_guard lock(mutex_);
    return requests_;
}

void fake_daemon::serve() {
    while (!stopping_) {
        const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
        if (fd < 0) {
            if (stopping_) return;
            continue;
        }
        serve_connection(fd);
        ::close(fd);
    }
}

void fake_daemon::serve_connection(int fd) {
    recorded_request req;
    if (!read_request(fd, req, stopping_)) return;
    {
        std::lock_guard lock(mutex_);
        requests_.push_back(req);
    }
    const canned_response c = handler_(req);
    auto wait_for_client_to_leave = [this](int sock) {
        char buf[256];
        while (!stopping_) {
            pollfd p{sock, POLLIN, 0};
            if (::poll(&p, 1, 100) > 0 && ::recv(sock, buf, sizeof buf, 0) <= 0) return;
        }
    };
    using m = canned_response::mode;
    switch (c.how) {
        case m::close:
            return;
        case m::hang:
            wait_for_client_to_leave(fd);
            return;
        case m::normal:
            write_all(fd, head_of(c, false) + c.body);
            return;
        case m::chunked:
        case m::chunked_broken:
        case m::chunked_open: {
            write_all(fd, head_of(c, true));
            for (const auto& ch : c.chunks) {
                std::ostringstream size;
                size << std::hex << ch.size();
                write_all(fd, size.str() + "\r\n" + ch + "\r\n");
            }
            if (c.how == m::chunked) write_all(fd, "0\r\n\r\n");
            if (c.how == m::chunked_open) wait_for_client_to_leave(fd);
            return;
        }
    }
}

namespace {

std::vector<std::string> child_env(const std::vector<std::string>& extra) {
    std::vector<std::string> env;
    for (char** e = environ; *e != nullptr; ++e) {
        const std::string_view v(*e);
        if (v.starts_with("TASKPOLLER_SOCKET=") || v.starts_with("NO_COLOR=")) continue;
        env.emplace_back(v);
    }
    env.insert(env.end(), extra.begin(), extra.end());
    return env;
}

// Reads fds until both hit EOF (or EIO on a pty master) or the deadline passes.
bool drain(int out_fd, int err_fd, run_result& r, std::chrono::seconds limit) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    pollfd fds[2] = {{out_fd, POLLIN, 0}, {err_fd, POLLIN, 0}};
    std::string* sinks[2] = {&r.out, &r.err};
    int open = 2;
    while (open > 0) {
        if (std::chrono::steady_clock::now() > deadline) return false;
        if (::poll(fds, 2, 200) <= 0) continue;
        for (int i = 0; i < 2; ++i) {
            if (fds[i].fd < 0 || fds[i].revents == 0) continue;
            char buf[4096];
            const auto n = ::read(fds[i].fd, buf, sizeof buf);
            if (n > 0) {
                sinks[i]->append(buf, static_cast<std::size_t>(n));
            } else {
                fds[i].fd = -1;
                --open;
            }
        }
    }
    return true;
}

}  // namespace

run_result run_ctl(const std::vector<std::string>& args, const std::vector<std::string>& env,
                   bool stdout_tty, bool as_nobody) {
    int out_pipe[2] = {-1, -1};
    int err_pipe[2];
    std::string slave_name;
    if (stdout_tty) {
        out_pipe[0] = ::posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
        if (out_pipe[0] < 0 || ::grantpt(out_pipe[0]) != 0 || ::unlockpt(out_pipe[0]) != 0) {
            throw std::runtime_error("no pty");
        }
        slave_name = ::ptsname(out_pipe[0]);
    } else if (::pipe2(out_pipe, O_CLOEXEC) != 0) {
        throw std::runtime_error("pipe failed");
    }
    if (::pipe2(err_pipe, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
    std::vector<std::string> argv_s{TASKPOLLERCTL_PATH};
    argv_s.insert(argv_s.end(), args.begin(), args.end());
    const auto env_s = child_env(env);
    std::vector<char*> argv_p, env_p;
    for (const auto& a : argv_s) argv_p.push_back(const_cast<char*>(a.c_str()));
    for (const auto& e : env_s) env_p.push_back(const_cast<char*>(e.c_str()));
    argv_p.push_back(nullptr);
    env_p.push_back(nullptr);
    const pid_t pid = ::fork();
    if (pid == 0) {
        int out_fd = out_pipe[1];
        if (stdout_tty) {
            ::setsid();
            out_fd = ::open(slave_name.c_str(), O_RDWR);
            termios t{};
            ::tcgetattr(out_fd, &t);
            ::cfmakeraw(&t);
            ::tcsetattr(out_fd, TCSANOW, &t);
        }
        ::dup2(out_fd, 1);
        ::dup2(err_pipe[1], 2);
        if (as_nobody &&
            (::setgroups(0, nullptr) != 0 || ::setgid(65534) != 0 || ::setuid(65534) != 0)) {
            ::_exit(126);
        }
        ::execve(argv_p[0], argv_p.data(), env_p.data());
        ::_exit(127);
    }
    if (!stdout_tty) ::close(out_pipe[1]);
    ::close(err_pipe[1]);
    run_result r;
    const bool finished = drain(out_pipe[0], err_pipe[0], r, std::chrono::seconds(60));
    if (!finished) ::kill(pid, SIGKILL);
    int status = 0;
    ::waitpid(pid, &status, 0);
    ::close(out_pipe[0]);
    ::close(err_pipe[0]);
    r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return r;
}

}  // namespace taskpoller::ctl::test
