#include "ctl/unix_client.hpp"

#include <fmt/format.h>
#include <sys/un.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/beast/core/basic_stream.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <cerrno>

namespace taskpoller::ctl {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using error_code = boost::system::error_code;
using stream_type = beast::basic_stream<asio::local::stream_protocol>;

namespace {

constexpr std::size_t header_limit = 64u << 10;

// Runs one asynchronous operation to completion on `ioc`; the stream's own expiry bounds it.
template <class Start>
error_code run_op(asio::io_context& ioc, Start&& start) {
    error_code result = asio::error::operation_aborted;
    start([&result](error_code ec, auto&&...) { result = ec; });
    ioc.restart();
    ioc.run();
    return result;
}

std::string seconds_text(std::chrono::milliseconds d) {
    return fmt::format("{:.3g}s", static_cast<double>(d.count()) / 1000.0);
}

core::error connect_error(const client_options& o, const error_code& ec) {
    std::string why;
    if (ec == beast::error::timeout) {
        why = fmt::format("timed out after {}", seconds_text(o.timeout));
    } else if (ec == asio::error::connection_refused) {
        why =
            "connection refused (the socket exists but nothing is listening: is taskpollerd "
            "running?)";
    } else if (ec == asio::error::access_denied || ec.value() == EPERM) {
        why =
            "permission denied (your user cannot open the socket: ask to be added to its "
            "group, e.g. `sudo usermod -aG taskpoller $USER`, then log in again; or use sudo)";
    } else if (ec.value() == ENOENT || ec == asio::error::not_found) {
        why =
            "no such socket (is taskpollerd running? pick another socket with -s PATH or "
            "TASKPOLLER_SOCKET)";
    } else {
        why = ec.message();
    }
    // Nothing listening, or no socket at all: what a daemon restart looks like from here.
    const bool gone = ec == asio::error::connection_refused || ec.value() == ENOENT ||
                      ec == asio::error::not_found;
    return core::error{fmt::format("cannot connect to {}: {}", o.socket_path, why),
                       gone ? core::error_kind::unavailable : core::error_kind::invalid};
}

core::error io_error(const client_options& o, const error_code& ec, std::string_view phase) {
    if (ec == beast::error::timeout) {
        return core::error{
            fmt::format("no answer from the daemon at {} within {} while {} "
                        "(raise --timeout?)",
                        o.socket_path, seconds_text(o.timeout), phase)};
    }
    if (ec == http::error::end_of_stream || ec == asio::error::eof ||
        ec == asio::error::connection_reset || ec == http::error::partial_message ||
        ec == asio::error::broken_pipe) {
        return core::error{
            fmt::format("the daemon at {} closed the connection while {}", o.socket_path, phase),
            core::error_kind::unavailable};
    }
    if (ec == http::error::body_limit) {
        return core::error{
            fmt::format("the daemon's response is larger than {} bytes", o.body_limit)};
    }
    return core::error{fmt::format("error talking to the daemon at {} while {}: {}", o.socket_path,
                                   phase, ec.message())};
}

core::result<void> connect(asio::io_context& ioc, stream_type& s, const client_options& o) {
    if (o.socket_path.empty() || o.socket_path.size() >= sizeof(sockaddr_un{}.sun_path)) {
        return core::error{fmt::format("invalid socket path \"{}\" (empty or longer than {})",
                                       o.socket_path, sizeof(sockaddr_un{}.sun_path) - 1)};
    }
    s.expires_after(o.timeout);
    const asio::local::stream_protocol::endpoint ep(o.socket_path);
    const auto ec = run_op(ioc, [&](auto h) { s.async_connect(ep, std::move(h)); });
    if (ec) return connect_error(o, ec);
    return {};
}

core::result<void> write_request(asio::io_context& ioc, stream_type& s, const client_options& o,
                                 std::string_view method, std::string_view target,
                                 std::string_view body) {
    const auto verb = http::string_to_verb(method);
    if (verb == http::verb::unknown) return core::error{fmt::format("bad method {}", method)};
    http::request<http::string_body> req{verb, target, 11};
    req.set(http::field::host, "localhost");
    req.set(http::field::user_agent, "taskpollerctl");
    req.set(http::field::accept, "application/json");
    if (!body.empty()) {
        req.set(http::field::content_type, "application/json");
        req.body() = std::string(body);
    }
    req.keep_alive(false);
    req.prepare_payload();
    const auto ec = run_op(ioc, [&](auto h) { http::async_write(s, req, std::move(h)); });
    if (ec) return io_error(o, ec, "sending the request");
    return {};
}

template <class Fields>
void copy_headers(const Fields& f, unsigned status, http_response& r) {
    r.status = status;
    r.content_type = std::string(f[http::field::content_type]);
    r.allow = std::string(f[http::field::allow]);
    r.api_version = std::string(f["Api-Version"]);
}

// Moves complete lines out of `pending` into `on_line`; false if the handler asked to stop.
bool drain_lines(std::string& pending, const line_handler& on_line) {
    std::size_t start = 0;
    for (auto nl = pending.find('\n'); nl != std::string::npos; nl = pending.find('\n', start)) {
        std::string_view ln(pending.data() + start, nl - start);
        if (!ln.empty() && ln.back() == '\r') ln.remove_suffix(1);
        start = nl + 1;
        if (!ln.empty() && !on_line(ln)) return false;
    }
    pending.erase(0, start);
    return true;
}

}  // namespace

core::result<http_response> send_request(const client_options& o, std::string_view method,
                                         std::string_view target, std::string_view body,
                                         std::chrono::milliseconds extra_time) {
    asio::io_context ioc;
    stream_type s(ioc);
    if (auto r = connect(ioc, s, o); !r) return r.error();
    s.expires_after(o.timeout + extra_time);
    if (auto r = write_request(ioc, s, o, method, target, body); !r) return r.error();
    beast::flat_buffer buf;
    http::response_parser<http::string_body> p;
    p.header_limit(header_limit);
    p.body_limit(o.body_limit);
    const auto ec = run_op(ioc, [&](auto h) { http::async_read(s, buf, p, std::move(h)); });
    if (ec) return io_error(o, ec, "reading the response");
    http_response r;
    copy_headers(p.get(), p.get().result_int(), r);
    r.body = std::move(p.get().body());
    return r;
}

core::result<http_response> stream_lines(const client_options& o, std::string_view target,
                                         const line_handler& on_line) {
    asio::io_context ioc;
    stream_type s(ioc);
    if (auto r = connect(ioc, s, o); !r) return r.error();
    s.expires_after(o.timeout);
    if (auto r = write_request(ioc, s, o, "GET", target, {}); !r) return r.error();
    beast::flat_buffer buf;
    http::response_parser<http::buffer_body> p;
    p.header_limit(header_limit);
    p.body_limit(boost::none);
    auto ec = run_op(ioc, [&](auto h) { http::async_read_header(s, buf, p, std::move(h)); });
    if (ec) return io_error(o, ec, "reading the response headers");
    http_response r;
    copy_headers(p.get(), p.get().result_int(), r);
    const bool streaming = r.status == 200;
    if (streaming) s.expires_never();
    std::string pending;
    char chunk[16384];
    while (!p.is_done()) {
        p.get().body().data = chunk;
        p.get().body().size = sizeof chunk;
        // read_some: whatever has arrived, at once (a live stream's events are small and rare;
        // a whole-buffer read would hold them back until 16 KiB had come).
        ec = run_op(ioc, [&](auto h) { http::async_read_some(s, buf, p, std::move(h)); });
        // Lines that arrived before a failure are still delivered.
        pending.append(chunk, sizeof chunk - p.get().body().size);
        if (streaming && !drain_lines(pending, on_line)) {
            r.body = "stopped";
            return r;
        }
        if (ec && ec != http::error::need_buffer) return io_error(o, ec, "reading the stream");
        if (pending.size() > o.body_limit) return io_error(o, http::error::body_limit, "");
    }
    if (streaming) {
        if (!pending.empty()) on_line(pending);
        r.body = "complete";
    } else {
        r.body = std::move(pending);
    }
    return r;
}

std::string url_encode(std::string_view s) {
    std::string out;
    for (unsigned char c : s) {
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '_' || c == '.' || c == '~') {
            out += static_cast<char>(c);
        } else {
            out += fmt::format("%{:02X}", c);
        }
    }
    return out;
}

}  // namespace taskpoller::ctl
