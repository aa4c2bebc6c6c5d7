#pragma once
// Helpers shared by the command implementations (not part of the public interface).

#include <boost/json/value.hpp>
#include <optional>
#include <string_view>

#include "core/result.hpp"
#include "ctl/commands.hpp"
#include "ctl/outcome.hpp"

namespace taskpoller::ctl::detail {

/// Prints "taskpollerctl: <message>" to stderr and returns exit_code::usage (3).
int fail(const context& ctx, std::string_view message);

/// Prints the daemon's error "taskpollerctl: <message> (<code>, HTTP <status>)" (plus any
/// "details" lines and the Allow header on 405) to stderr; with --json the body also goes to
/// stdout. Returns 2 for a 404 when `lookup`, else 1.
int daemon_error(const context& ctx, const http_response& r, bool lookup);

/// Parses a JSON body; on failure reports a protocol error and returns nullopt.
std::optional<boost::json::value> parse_json(const context& ctx, const http_response& r);

/// Writes `body` to stdout followed by exactly one newline.
void print_raw(const context& ctx, std::string_view body);

/// Sends a request and handles the common outcomes: returns the parsed JSON of a 2xx response,
/// or sets `code` (3 for connection/protocol errors, daemon_error's code otherwise).
std::optional<boost::json::value> call(const context& ctx, std::string_view method,
                                       std::string_view target, std::string_view body, bool lookup,
                                       int& code, std::chrono::milliseconds extra = {},
                                       std::string* raw = nullptr);

/// Prints a batch/task document or a list page in the chosen output format: the daemon's JSON
/// as received (`raw`), YAML, ids only, or a table (wide with -o wide).
void show(const context& ctx, const boost::json::value& doc, std::string_view raw);

/// Fills the empty message of each failed/timed-out/not-found/cancelled entry of a batch
/// document with its task's last_error (else last_status), from one GET /v1/tasks?batch=ID;
/// best effort: on any failure the document is left as it was.
void add_failure_reasons(const context& ctx, boost::json::value& batch);

/// Now, in milliseconds since the epoch (for AGE and DURATION).
std::int64_t now_ms();

/// Adds the optional "poll" object to a request.
void add_poll(boost::json::object& req, const poll_args& p);

}  // namespace taskpoller::ctl::detail
