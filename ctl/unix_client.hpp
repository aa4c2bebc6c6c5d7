#pragma once
// A small synchronous HTTP/1.1 client for the daemon's Unix socket: one connection per request,
// every step bounded by a deadline, every body bounded in size. Asio and Beast stay in the .cpp.

#include <chrono>
#include <cstddef>
#include <functional>
#include <string>
#include <string_view>

#include "core/result.hpp"

namespace taskpoller::ctl {

struct client_options {
    std::string socket_path;
    /// Bounds connecting, sending and receiving one whole response.
    std::chrono::milliseconds timeout{30'000};
    /// Largest response body accepted (and largest single event line when streaming).
    std::size_t body_limit = 64u << 20;
};

struct http_response {
    unsigned status = 0;
    std::string content_type;
    std::string allow;        ///< the Allow header (on 405)
    std::string api_version;  ///< the Api-Version header (on /_ping)
    std::string body;
};

/// Sends `method target` with `body` (sent as application/json when not empty) and returns the
/// response, whatever its status. `extra_time` is added to the deadline (for long polls).
/// Fails, with a message that names the socket and the likely cause, when the socket cannot be
/// reached, the deadline passes, the connection closes early, or the response is malformed or
/// too large. The error's kind is `unavailable` when the daemon is gone (connection refused, no
/// socket, the connection closed or reset before the whole answer came: e.g. a restart), else
/// `invalid`.
core::result<http_response> send_request(const client_options& opts, std::string_view method,
                                         std::string_view target, std::string_view body = {},
                                         std::chrono::milliseconds extra_time = {});

/// Called with each complete line of a streamed body (without the '\n'); return false to stop.
using line_handler = std::function<bool(std::string_view line)>;

/// GETs `target` and, if the status is 200, streams the body line by line to `on_line` with no
/// overall deadline (only connecting and the headers are bounded by opts.timeout). On another
/// status the whole (bounded) body is returned in the response instead. The response's
/// `body` is "complete" when the stream ended cleanly (end of chunked body), "stopped" when
/// `on_line` returned false. Fails like send_request, or when the stream breaks off.
core::result<http_response> stream_lines(const client_options& opts, std::string_view target,
                                         const line_handler& on_line);

/// `s` percent-encoded for use as a path segment or query value (RFC 3986 unreserved kept).
std::string url_encode(std::string_view s);

}  // namespace taskpoller::ctl
