#pragma once
// In-process control server on a temporary Unix socket, run on its own io thread, plus small
// blocking clients. The server is always shut down and the directory removed (RAII).

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <chrono>
#include <filesystem>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "control/metrics.hpp"
#include "control/server.hpp"

namespace taskpoller::control::test {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using namespace std::chrono_literals;

/// Collects log lines from the io thread for assertions.
struct log_capture {
    std::mutex m;
    std::vector<std::string> lines;
    core::logger logger() {
        return core::logger(
            [this](core::log_level, std::string_view s) {
                std::lock_guard g(m);
                lines.emplace_back(s);
            },
            core::log_level::debug);
    }
    bool contains(std::string_view needle) {
        std::lock_guard g(m);
        for (const auto& l : lines)
            if (l.find(needle) != std::string::npos) return true;
        return false;
    }
};

class temp_dir {
  public:
    temp_dir() {
        char tmpl[] = "/tmp/tpctl-XXXXXX";
        path_ = ::mkdtemp(tmpl);
        ::chmod(path_.c_str(), 0755);  // so a test client running as nobody can reach the socket
    }
    ~temp_dir() {
        std::error_code ec;
        std::filesystem::remove_all(path_, ec);
    }
    const std::string& path() const { return path_; }

  private:
    std::string path_;
};

class test_server {
  public:
    test_server(router routes, server_options opts = {}) {
        if (opts.socket_path.empty() && opts.listen_fd < 0)
            opts.socket_path = dir.path() + "/control.sock";
        path = opts.socket_path;
        opts.metrics = &metrics;
        srv = std::make_unique<server>(ioc, std::move(routes), std::move(opts), logs.logger());
        auto r = srv->open();
        if (!r) throw std::runtime_error(r.error().message);
        srv->start();
        thread = std::thread([this] { ioc.run(); });
    }
    ~test_server() {
        stop(2s);
        if (thread.joinable()) thread.join();
    }
    /// Graceful shutdown; returns once every connection is gone (false on a 20 s timeout).
    bool stop(std::chrono::milliseconds grace) {
        if (stopped) return true;
        stopped = true;
        auto done = std::make_shared<std::promise<void>>();
        auto fut = done->get_future();
        asio::post(ioc,
                   [this, grace, done] { srv->shutdown(grace, [done] { done->set_value(); }); });
        return fut.wait_for(20s) == std::future_status::ready;
    }
    /// Runs `f` on the io thread and returns its result.
    template <class F>
    auto on_io(F f) {
        std::packaged_task<decltype(f())()> task(std::move(f));
        auto fut = task.get_future();
        asio::post(ioc, [&task] { task(); });
        return fut.get();
    }

    temp_dir dir;
    std::string path;
    log_capture logs;
    metrics_registry metrics;
    asio::io_context ioc;
    std::unique_ptr<server> srv;
    std::thread thread;
    bool stopped = false;
};

/// A blocking HTTP/1.1 client on one connection (keep-alive across requests). Defined in
/// server_fixture.cpp so Beast's read/write are compiled once, not in every test file.
class client {
  public:
    explicit client(const std::string& path);
    http::response<http::string_body> request(http::verb method, std::string target,
                                              std::string body = {},
                                              std::string content_type = "application/json");
    http::response<http::string_body> read();
    /// Sends a request as given (no response read).
    void write(const http::request<http::string_body>& req);
    void send_raw(std::string_view bytes);
    /// Reads until the server closes; returns everything read (empty if it closed silently).
    std::string read_to_eof();

    asio::io_context ioc;
    asio::local::stream_protocol::socket sock;
    boost::beast::flat_buffer buffer;
    bool head_next = false;
};

/// Runs a shell command; returns its stdout.
inline std::string run_command(const std::string& cmd) {
    std::string out;
    FILE* f = ::popen(cmd.c_str(), "r");
    if (!f) return out;
    char buf[4096];
    while (std::size_t n = std::fread(buf, 1, sizeof buf, f)) out.append(buf, n);
    ::pclose(f);
    return out;
}

}  // namespace taskpoller::control::test
