#include "ctl/command_util.hpp"

#include <fmt/format.h>

#include <boost/json/parse.hpp>
#include <chrono>
#include <ostream>

#include "ctl/duration.hpp"
#include "ctl/render.hpp"
#include "ctl/views.hpp"
#include "ctl/yaml_out.hpp"

namespace taskpoller::ctl {
namespace json = boost::json;

std::string document_path(std::string_view id, const task_qualifier& q) {
    const auto slash = id.find('/');
    if (slash == std::string_view::npos) {
        if (!q.region.empty() || !q.batch.empty()) return {};  // only tasks are qualified
        return id.empty() ? std::string() : "/v1/batches/" + url_encode(id);
    }
    const auto service = id.substr(0, slash);
    const auto request_id = id.substr(slash + 1);
    if (service.empty() || request_id.empty()) return {};
    auto path = "/v1/tasks/" + url_encode(service) + "/" + url_encode(request_id);
    char sep = '?';
    for (const auto& [name, value] : {std::pair{"region", &q.region}, {"batch", &q.batch}}) {
        if (value->empty()) continue;
        path.append(1, sep).append(name).append(1, '=').append(url_encode(*value));
        sep = '&';
    }
    return path;
}

namespace detail {

int fail(const context& ctx, std::string_view message) {
    *ctx.err << "taskpollerctl: " << sanitize(message) << '\n';
    return to_int(exit_code::usage);
}

void print_raw(const context& ctx, std::string_view body) {
    while (!body.empty() && (body.back() == '\n' || body.back() == '\r')) body.remove_suffix(1);
    *ctx.out << body << '\n' << std::flush;
}

int daemon_error(const context& ctx, const http_response& r, bool lookup) {
    boost::system::error_code ec;
    const json::value v = json::parse(r.body, ec);
    const json::value* e = nullptr;
    if (!ec && v.is_object()) e = v.as_object().if_contains("error");
    std::string message;
    if (e != nullptr && e->is_object()) {
        message =
            fmt::format("{} ({}, HTTP {})", field(*e, "message"), field(*e, "code"), r.status);
    } else {
        const auto text = r.body.substr(0, std::min<std::size_t>(r.body.size(), 200));
        message = fmt::format("the daemon answered HTTP {}{}{}", r.status, text.empty() ? "" : ": ",
                              text);
    }
    if (r.status == 405 && !r.allow.empty()) message += fmt::format(" (allowed: {})", r.allow);
    *ctx.err << "taskpollerctl: " << sanitize(message) << '\n';
    if (e != nullptr && e->is_object()) {
        const auto* details = e->as_object().if_contains("details");
        if (details != nullptr && details->is_array()) {
            for (const auto& d : details->get_array()) {
                *ctx.err << "  " << sanitize(d.is_string() ? d.get_string() : "?") << '\n';
            }
        }
    }
    if (ctx.json && !ec) print_raw(ctx, r.body);
    if (r.status == 404 && lookup) return to_int(exit_code::incomplete);
    return to_int(exit_code::failed);
}

std::optional<json::value> parse_json(const context& ctx, const http_response& r) {
    boost::system::error_code ec;
    json::value v = json::parse(r.body, ec);
    if (ec || !v.is_object()) {
        fail(ctx, fmt::format("the daemon sent an invalid JSON response (HTTP {}): {}", r.status,
                              ec ? ec.message() : std::string("not an object")));
        return std::nullopt;
    }
    return v;
}

std::optional<json::value> call(const context& ctx, std::string_view method,
                                std::string_view target, std::string_view body, bool lookup,
                                int& code, std::chrono::milliseconds extra, std::string* raw) {
    auto r = send_request(ctx.client, method, target, body, extra);
    if (!r) {
        code = fail(ctx, r.error().message);
        return std::nullopt;
    }
    if (r->status < 200 || r->status >= 300) {
        code = daemon_error(ctx, *r, lookup);
        return std::nullopt;
    }
    auto v = parse_json(ctx, *r);
    if (!v) {
        code = to_int(exit_code::usage);
        return std::nullopt;
    }
    if (raw != nullptr) *raw = std::move(r->body);
    code = 0;
    return v;
}

// Entries of tasks that failed carry no reason in the batch (their code and message are the
// submission's); the reason is the task's last_error. Fills the empty messages of those entries
// from one GET /v1/tasks?batch=ID, best effort: without it the table still shows the rest.
void add_failure_reasons(const context& ctx, json::value& batch) {
    if (!batch.is_object()) return;
    auto* entries = batch.as_object().if_contains("entries");
    if (entries == nullptr || !entries->is_array()) return;
    bool wanted = false;
    for (const auto& e : entries->get_array()) {
        const auto s = field(e, "state");
        wanted = wanted ||
                 ((s == "failed" || s == "timed_out" || s == "not_found" || s == "cancelled") &&
                  (field(e, "message") == "-" || field(e, "message").empty()));
    }
    const auto id = field(batch, "id");
    if (!wanted || id == "-") return;
    auto r = send_request(ctx.client, "GET", "/v1/tasks?batch=" + url_encode(id) + "&limit=1000");
    if (!r || r->status != 200) return;
    boost::system::error_code ec;
    const auto page = json::parse(r->body, ec);
    if (ec || !page.is_object() || !page.as_object().contains("tasks") ||
        !page.at("tasks").is_array()) {
        return;
    }
    for (auto& e : entries->as_array()) {
        if (!e.is_object() || (field(e, "message") != "-" && !field(e, "message").empty()))
            continue;
        for (const auto& t : page.at("tasks").get_array()) {
            if (field(t, "request_id") != field(e, "request_id")) continue;
            auto reason = field(t, "last_error");
            if (reason == "-") reason = field(t, "last_status");
            if (reason != "-" && !reason.empty() && field(t, "state") != "succeeded") {
                e.as_object()["message"] = reason;
            }
        }
    }
}

std::int64_t now_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

void show(const context& ctx, const json::value& doc, std::string_view raw) {
    if (ctx.output == "json") {
        print_raw(ctx, raw);
    } else if (ctx.output == "yaml") {
        *ctx.out << to_yaml(doc) << std::flush;
    } else if (ctx.output == "name") {
        *ctx.out << render_names(doc) << std::flush;
    } else if (doc.is_object() &&
               (doc.as_object().contains("batches") || doc.as_object().contains("tasks"))) {
        *ctx.out << render_list(doc, ctx.colour, ctx.output == "wide", now_ms()) << std::flush;
    } else {
        *ctx.out << render_document(doc, ctx.colour) << std::flush;
    }
}

void add_poll(json::object& req, const poll_args& p) {
    json::object poll;
    if (p.timeout) poll["timeout"] = format_duration(*p.timeout);
    if (p.interval) poll["interval"] = format_duration(*p.interval);
    if (p.initial_delay) poll["initial_delay"] = format_duration(*p.initial_delay);
    if (p.max_interval) poll["max_interval"] = format_duration(*p.max_interval);
    if (!poll.empty()) req["poll"] = std::move(poll);
}

}  // namespace detail
}  // namespace taskpoller::ctl
