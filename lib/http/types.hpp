#pragma once
// Value types of the HTTP(S) client: what a request asks for, what comes back, how a send can fail.
// No Asio or Beast here; see client.hpp for the client itself.

#include <boost/system/error_code.hpp>
#include <boost/system/result.hpp>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace taskpoller::http {

enum class scheme { http, https };
enum class method { get, head, post, put, patch, del };

/// "http"/"https"; "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE".
std::string_view to_string(scheme s) noexcept;
std::string_view to_string(method m) noexcept;

using header_list = std::vector<std::pair<std::string, std::string>>;

/// One HTTP/1.1 request. `host` is the real host name: it is sent as the Host header, as the TLS
/// SNI name and is what the server certificate is verified against, even when `connect_to`
/// redirects the TCP connection elsewhere.
struct request {
    http::scheme scheme = scheme::https;
    std::string host;
    std::uint16_t port = 0;  ///< 0 means the scheme's default (80 or 443)
    http::method method = method::get;
    std::string target = "/";  ///< origin-form: path and query, starts with '/'
    std::string body;
    std::string content_type;  ///< sent when non-empty
    /// Extra headers. Host, Content-Length, Transfer-Encoding and Connection are managed by the
    /// client and refused here; names must be tokens, values free of CR, LF and NUL.
    header_list headers;
    /// Overrides client_options::request_timeout for this request (whole request, including
    /// waiting for a pooled connection, connect, TLS handshake, write and read).
    std::optional<std::chrono::milliseconds> timeout;
    /// false: never reuse an idle pooled connection for this request; open a fresh one. Use it
    /// for non-idempotent requests where a stale keep-alive connection must not turn a harmless
    /// failure into outcome_unknown (see client.hpp, "Stale connections").
    bool reuse_connection = true;
    /// The request is idempotent: if it went over a reused keep-alive connection that fails
    /// before any byte of a response arrives (the server had closed it), send it once more on a
    /// fresh connection, within the same timeout. See client.hpp, "Stale connections".
    bool retry_if_stale = false;
};

struct response {
    unsigned status = 0;
    std::string reason;
    std::string body;
    header_list headers;             ///< every header field, in arrival order
    bool connection_reused = false;  ///< the request went over a pooled keep-alive connection

    /// The first header with this name (case-insensitive), or nullptr.
    const std::string* header(std::string_view name) const noexcept;
};

/// The two failure classes the submitter depends on.
enum class failure_class {
    /// Provably not delivered: nothing of the request was accepted for sending (invalid request,
    /// DNS, connect, TLS handshake, waiting for a pooled connection, client shut down, or a write
    /// that failed before the kernel took a single byte). Safe to send again.
    not_sent,
    /// The request may have reached the server and may have been acted on (write failed after
    /// some bytes, timeout or reset while waiting for the answer, EOF, oversized or malformed
    /// response, cancellation after writing started). Never re-send automatically.
    outcome_unknown,
};

/// Where the request was when it failed; for messages and metrics.
enum class failure_stage {
    invalid_request,
    pool_wait,
    resolve,
    connect,
    tls_handshake,
    write,
    read
};

std::string_view to_string(failure_class c) noexcept;
std::string_view to_string(failure_stage s) noexcept;

/// A transport failure. A non-2xx HTTP status is not an error: it is a response.
struct error {
    failure_class kind = failure_class::not_sent;
    failure_stage stage = failure_stage::invalid_request;
    bool timed_out = false;          ///< a connect, TLS, pool-wait or request deadline expired
    bool cancelled = false;          ///< the caller cancelled the operation or the client shut down
    boost::system::error_code code;  ///< the underlying error, when there is one
    std::string message;             ///< human-readable, names host and stage; no secrets

    bool not_sent() const noexcept { return kind == failure_class::not_sent; }
};

/// Called by send_result::value() when it holds an error: throws std::runtime_error(message).
[[noreturn]] void throw_exception_from_error(const error& e, const boost::source_location& loc);

using send_result = boost::system::result<response, error>;

}  // namespace taskpoller::http
