#pragma once
// What a route handler sees and returns. Handlers are coroutines
// `asio::awaitable<response>(request_context&)` run on the server's io thread; the context lives
// until the handler's response has been written. Cancellation: when the shutdown grace period
// runs out, the handler's pending operation is cancelled (terminal cancellation).

#include <boost/asio/awaitable.hpp>
#include <boost/json/fwd.hpp>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "control/access.hpp"
#include "control/api_error.hpp"
#include "control/line_stream.hpp"
#include "control/query.hpp"
#include "control/waiters.hpp"
#include "core/logger.hpp"

namespace taskpoller::control {

struct header_field {
    std::string name;
    std::string value;
};

struct response {
    unsigned status = 200;
    std::string content_type = "application/json";
    std::string body;
    std::vector<header_field> headers;  ///< extra headers (e.g. Api-Version)
    /// When set, the response is a chunked NDJSON stream fed by this queue; `body` is ignored.
    std::shared_ptr<line_stream> stream;

    /// `status` with `v` serialised as the body (plus a trailing newline, like Docker's API).
    static response json(unsigned status, const boost::json::value& v);
    /// The JSON error document with e.status.
    static response error(const api_error& e);
    /// A streamed response (200, application/x-ndjson) fed by `s`.
    static response streaming(std::shared_ptr<line_stream> s);
};

/// Server facilities a handler may use; implemented by the server, fakeable in tests.
class server_services {
  public:
    virtual ~server_services() = default;
    /// True once shutdown began; long waits should then return what they have.
    virtual bool shutting_down() const = 0;
    /// Completes when shutdown begins (at once if it already has). Cancellable.
    virtual boost::asio::awaitable<void> async_wait_shutdown() = 0;
    /// The long-waiter counter: acquire a slot before a long-poll or a stream; none → 429.
    virtual waiter_limit& waiters() = 0;
    /// A new line_stream with the server's configured bound.
    virtual std::shared_ptr<line_stream> make_stream() = 0;
};

using path_params = query_params;

struct request_context {
    std::string method;  ///< "GET", "POST", ...
    std::string path;    ///< raw path, without the query
    std::string route;   ///< the matched pattern, e.g. "/v1/batches/{id}"
    path_params params;  ///< decoded `{param}` segments
    query_params query;  ///< decoded query string
    std::string body;    ///< the request body (already size-checked)
    std::vector<header_field> headers;
    std::optional<peer_credentials> peer;  ///< nullopt only for reads when creds were unreadable
    bool mutation = false;  ///< the route changes state (peer passed the access check)
    server_services* services = nullptr;
    core::logger log;

    /// The first header called `name` (case-insensitive), or empty.
    std::string_view header(std::string_view name) const;
    /// The decoded path parameter `name`; empty when the route has none by that name.
    std::string_view param(std::string_view name) const;
    /// Peer uid as text for log lines ("uid=1000 pid=42", or "unknown").
    std::string peer_text() const;
};

using handler = std::function<boost::asio::awaitable<response>(request_context&)>;

}  // namespace taskpoller::control
