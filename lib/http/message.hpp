#pragma once
// Internal to lib/http: translation between the public request/response types and Beast
// messages, and wording of read failures.

#include <boost/system/result.hpp>
#include <string>

#include "http/client.hpp"
#include "http/connection.hpp"

namespace taskpoller::http::detail {

/// A request as it goes on the wire.
struct outgoing {
    std::string wire;   ///< request line, header fields, blank line and body
    bool head = false;  ///< a HEAD request: its response has no body
};

/// Validates `req` (host, target, extra headers) and serialises the HTTP/1.1 request with Host,
/// User-Agent, the extra headers, Content-Type and Content-Length (as Beast's prepare_payload
/// would: when there is a body, and for POST and PUT always). One allocation: the wire bytes.
/// Fails not_sent / invalid_request.
boost::system::result<outgoing, error> build_message(const request& req,
                                                     const client_options& options);

/// The response the caller sees, taken out of a completed parser.
response take_response(beast_parser& parser, bool reused);

/// Why reading the response failed, for error::message.
std::string describe_read_failure(const boost::system::error_code& ec,
                                  const client_options& options);

}  // namespace taskpoller::http::detail
