#pragma once
// A fake taskpollerd for client tests: serves canned HTTP/1.1 responses on a temporary Unix
// socket from a background thread, and records every request. Stopped (and the socket removed)
// by the destructor however the test ends.

#include <atomic>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace taskpoller::ctl::test {

struct recorded_request {
    std::string method;
    std::string target;
    std::string content_type;
    std::string body;
};

struct canned_response {
    enum class mode {
        normal,          ///< status, headers, body with Content-Length
        chunked,         ///< chunked body, one chunk per `chunks` element, then the last chunk
        chunked_broken,  ///< like chunked but the connection closes without the last chunk
        chunked_open,    ///< like chunked but the stream stays open (a live event stream)
        close,           ///< close the connection without answering
        hang,            ///< never answer; wait for the client to go away
    };
    unsigned status = 200;
    std::string reason = "OK";
    std::string content_type = "application/json";
    std::string body;
    std::vector<std::string> chunks;
    std::vector<std::pair<std::string, std::string>> headers;
    mode how = mode::normal;
};

/// A JSON error response as the daemon sends it.
canned_response error_response(unsigned status, std::string code, std::string message);
/// A JSON body answered with `status`.
canned_response ok_json(std::string body, unsigned status = 200);

class fake_daemon {
  public:
    using handler = std::function<canned_response(const recorded_request&)>;

    /// Creates a socket in a fresh temporary directory and starts serving with `h`.
    explicit fake_daemon(handler h);
    /// Serves on `socket_path` (a stale socket file there is replaced), as a restarted daemon
    /// does; the socket file, not its directory, is removed when stopped.
    fake_daemon(handler h, std::string socket_path);
    ~fake_daemon();
    fake_daemon(const fake_daemon&) = delete;
    fake_daemon& operator=(const fake_daemon&) = delete;

    const std::string& socket_path() const { return socket_path_; }
    const std::string& directory() const { return dir_; }
    std::vector<recorded_request> requests() const;

  private:
    void listen_on(const std::string& path);
    void serve();
    void serve_connection(int fd);

    handler handler_;
    std::string dir_;
    std::string socket_path_;
    int listen_fd_ = -1;
    std::atomic<bool> stopping_{false};
    mutable std::mutex mutex_;
    std::vector<recorded_request> requests_;
    std::thread thread_;
};

/// The result of running the taskpollerctl binary.
struct run_result {
    int exit_code = -1;
    std::string out;
    std::string err;
};

/// Runs taskpollerctl with `args`, with TASKPOLLER_SOCKET and NO_COLOR removed from the
/// environment and `env` ("NAME=value") added; stdout and stderr are pipes (not a terminal),
/// unless `stdout_tty` is true, when stdout is a pseudo-terminal. If `as_nobody`, the child
/// drops to uid/gid 65534 first (the caller must be root). Kills the child after 60 s.
run_result run_ctl(const std::vector<std::string>& args, const std::vector<std::string>& env = {},
                   bool stdout_tty = false, bool as_nobody = false);

/// Serves fixed responses keyed by "METHOD target"; anything else is a 404 route error.
fake_daemon::handler routes(std::map<std::string, canned_response> table);
/// `args` with "-s <the fake daemon's socket>" in front.
std::vector<std::string> with_socket(const fake_daemon& d, std::vector<std::string> args);
/// Whether `text` contains `needle`.
bool has(const std::string& text, std::string_view needle);

}  // namespace taskpoller::ctl::test
