#include "http/message.hpp"

#include <strings.h>

#include <algorithm>
#include <array>
#include <boost/asio/error.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/http/error.hpp>
#include <cctype>
#include <iterator>

namespace taskpoller::http::detail {
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;

namespace {

error invalid(std::string message) {
    return error{failure_class::not_sent,
                 failure_stage::invalid_request,
                 false,
                 false,
                 {},
                 "invalid request: " + std::move(message)};
}

bool is_token(std::string_view s) {
    static constexpr std::string_view extra = "!#$%&'*+-.^_`|~";
    return !s.empty() && std::all_of(s.begin(), s.end(), [](unsigned char c) {
        return std::isalnum(c) || extra.find(static_cast<char>(c)) != std::string_view::npos;
    });
}

bool is_clean(std::string_view s) {
    return std::none_of(s.begin(), s.end(),
                        [](char c) { return c == '\r' || c == '\n' || c == '\0'; });
}

bool is_printable(std::string_view s) {
    return std::all_of(s.begin(), s.end(), [](unsigned char c) { return c > 0x20 && c < 0x7f; });
}

bool is_named(std::string_view name, std::string_view lower) {
    return name.size() == lower.size() &&
           ::strncasecmp(name.data(), lower.data(), name.size()) == 0;
}

bool is_managed(std::string_view name) {
    static constexpr std::array<std::string_view, 4> managed = {"host", "content-length",
                                                                "transfer-encoding", "connection"};
    return std::any_of(managed.begin(), managed.end(),
                       [&](std::string_view m) { return is_named(name, m); });
}

}  // namespace

boost::system::result<outgoing, error> build_message(const request& req,
                                                     const client_options& options) {
    if (req.host.empty() || !is_printable(req.host) || req.host.find('/') != std::string::npos)
        return invalid("host '" + req.host + "' is empty or not a host name");
    if (req.target.empty() || req.target.front() != '/' || !is_printable(req.target))
        return invalid("target must start with '/' and contain no spaces or control characters");
    if (!is_clean(req.content_type)) return invalid("content type contains CR, LF or NUL");
    std::size_t size = 64 + req.target.size() + req.host.size() + options.user_agent.size() +
                       req.content_type.size() + req.body.size();
    for (const auto& [name, value] : req.headers) {
        if (!is_token(name)) return invalid("header name '" + name + "' is not a token");
        if (is_managed(name)) return invalid("header '" + name + "' is set by the client");
        if (!is_clean(value)) return invalid("header '" + name + "' contains CR, LF or NUL");
        size += name.size() + value.size() + 4;
    }

    outgoing out;
    out.head = req.method == method::head;
    std::string& w = out.wire;
    w.reserve(size);
    w.append(to_string(req.method)).append(" ").append(req.target).append(" HTTP/1.1\r\nHost: ");
    bool v6 = req.host.find(':') != std::string::npos;
    if (v6) w.push_back('[');
    w.append(req.host);
    if (v6) w.push_back(']');
    std::uint16_t default_port = req.scheme == scheme::https ? 443 : 80;
    if (req.port != 0 && req.port != default_port) w.append(":").append(std::to_string(req.port));
    w.append("\r\n");
    if (!options.user_agent.empty())
        w.append("User-Agent: ").append(options.user_agent).append("\r\n");
    for (const auto& [name, value] : req.headers) {
        // content_type replaces a Content-Type among the extra headers.
        if (!req.content_type.empty() && is_named(name, "content-type")) continue;
        w.append(name).append(": ").append(value).append("\r\n");
    }
    if (!req.content_type.empty())
        w.append("Content-Type: ").append(req.content_type).append("\r\n");
    if (!req.body.empty() || req.method == method::post || req.method == method::put)
        w.append("Content-Length: ").append(std::to_string(req.body.size())).append("\r\n");
    w.append("\r\n").append(req.body);
    return out;
}

response take_response(beast_parser& parser, bool reused) {
    auto& msg = parser.get();
    response out;
    out.status = msg.result_int();
    out.reason = std::string(msg.reason());
    out.headers.reserve(static_cast<std::size_t>(std::distance(msg.begin(), msg.end())));
    for (const auto& field : msg)
        out.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
    out.body = std::move(msg.body());
    out.connection_reused = reused;
    return out;
}

std::string describe_read_failure(const boost::system::error_code& ec,
                                  const client_options& options) {
    if (ec == beast::error::timeout) return "timed out waiting for the response";
    if (ec == bhttp::error::body_limit)
        return "response body exceeds the limit of " + std::to_string(options.body_limit) +
               " bytes";
    if (ec == bhttp::error::header_limit)
        return "response header exceeds the limit of " + std::to_string(options.header_limit) +
               " bytes";
    if (ec == bhttp::error::end_of_stream)
        return "the server closed the connection without answering";
    if (ec == bhttp::error::partial_message)
        return "the server closed the connection in the middle of the response";
    if (ec == boost::asio::error::operation_aborted)
        return "cancelled while waiting for the response";
    if (ec.category() == make_error_code(bhttp::error::end_of_stream).category())
        return "malformed response: " + ec.message();
    return "reading the response failed: " + ec.message();
}

}  // namespace taskpoller::http::detail
