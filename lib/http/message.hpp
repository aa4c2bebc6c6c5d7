#pragma once
// Internal to lib/http: translation between the public request/response types and Beast
// messages, and wording of read failures.

#include <boost/system/result.hpp>
#include <string>

#include "http/client.hpp"
#include "http/connection.hpp"

namespace taskpoller::http::detail {

/// Validates `req` (host, target, extra headers) and builds the HTTP/1.1 message with Host,
/// User-Agent, Content-Type and Content-Length. Fails not_sent / invalid_request.
boost::system::result<beast_request, error> build_message(const request& req,
                                                          const client_options& options);

/// The response the caller sees, taken out of a completed parser.
response take_response(beast_parser& parser, bool reused);

/// Why reading the response failed, for error::message.
std::string describe_read_failure(const boost::system::error_code& ec,
                                  const client_options& options);

}  // namespace taskpoller::http::detail
