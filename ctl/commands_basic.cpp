// submit, track, get, list, cancel, status, reload, metrics, ping.
#include <fmt/format.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <ostream>

#include "ctl/command_util.hpp"
#include "ctl/doctor.hpp"
#include "ctl/params_builder.hpp"
#include "ctl/views.hpp"
#include "ctl/yaml_out.hpp"

namespace taskpoller::ctl {
namespace json = boost::json;
using detail::call;
using detail::fail;

namespace {

using detail::show;

core::result<json::object> submit_body(const submit_args& a) {
    params_builder pb;
    if (!a.params_json.empty()) {
        auto text = read_inline_or_file(a.params_json);
        if (!text) return text.error();
        if (auto r = pb.set_base(*text); !r) return r.error();
    }
    for (const auto& p : a.params) {
        if (auto r = pb.add_string(p); !r) return r.error();
    }
    for (const auto& p : a.param_jsons) {
        if (auto r = pb.add_json(p); !r) return r.error();
    }
    auto params = pb.build();
    if (!params) return params.error();
    auto labels = parse_labels(a.labels);
    if (!labels) return labels.error();
    json::object req{{"service", a.service}, {"action", a.action}, {"params", std::move(*params)}};
    if (!a.region.empty()) req["region"] = a.region;
    if (!a.client_token.empty()) req["client_token"] = a.client_token;
    if (!labels->empty()) req["labels"] = std::move(*labels);
    detail::add_poll(req, a.poll);
    return req;
}

std::string list_target(const list_args& a, std::string_view page_token) {
    std::string q;
    auto add = [&q](std::string_view k, std::string_view v) {
        if (v.empty()) return;
        q += q.empty() ? '?' : '&';
        q += fmt::format("{}={}", k, url_encode(v));
    };
    add("state", a.state);
    add("service", a.service);
    add("action", a.action);
    add("batch", a.batch);
    for (const auto& l : a.labels) add("label", l);
    if (a.limit) add("limit", std::to_string(*a.limit));
    add("page_token", page_token);
    return "/v1/" + a.kind + q;
}

}  // namespace

int run_submit(const context& ctx, const submit_args& a) {
    auto req = submit_body(a);
    if (!req) return fail(ctx, req.error().message);
    int code = 0;
    std::string raw;
    auto batch = call(ctx, "POST", "/v1/batches", json::serialize(*req), false, code, {}, &raw);
    if (!batch) return code;
    if (!a.wait) {
        show(ctx, *batch, raw);
        return to_int(batch_outcome(*batch, false));
    }
    if (ctx.output == "table" || ctx.output == "wide") {
        *ctx.out << fmt::format(
            "submitted batch {} ({} entries)\n", sanitize(field(*batch, "id")),
            batch->as_object().contains("entries") && batch->at("entries").is_array()
                ? batch->at("entries").as_array().size()
                : 0);
    }
    const auto id = field(*batch, "id");
    if (id == "-" || id.empty()) return fail(ctx, "the daemon's batch has no id to wait on");
    return run_wait(ctx, wait_args{{id}, a.wait_timeout, a.wait_interval});
}

int run_track(const context& ctx, const track_args& a) {
    auto labels = parse_labels(a.labels);
    if (!labels) return fail(ctx, labels.error().message);
    json::object req{{"service", a.service}, {"request_id", a.request_id}};
    if (!a.action.empty()) req["action"] = a.action;
    if (!a.region.empty()) req["region"] = a.region;
    if (!a.resources.empty()) {
        json::array res;
        for (const auto& r : a.resources) res.emplace_back(r);
        req["resources"] = std::move(res);
    }
    if (!labels->empty()) req["labels"] = std::move(*labels);
    detail::add_poll(req, a.poll);
    int code = 0;
    std::string raw;
    auto task = call(ctx, "POST", "/v1/tasks", json::serialize(req), false, code, {}, &raw);
    if (!task) return code;
    show(ctx, *task, raw);
    return 0;
}

// An id document_path() refused (get and cancel): say what an id looks like.
static int bad_id(const context& ctx, const std::string& id, const task_qualifier& q) {
    const bool qualified_batch =
        id.find('/') == std::string::npos && (!q.region.empty() || !q.batch.empty());
    return fail(ctx,
                fmt::format("bad id \"{}\": use BATCH_ID or SERVICE/REQUEST_ID{}", id,
                            qualified_batch ? " (--region and --batch choose among tasks)" : ""));
}

int run_get(const context& ctx, const std::string& id, const task_qualifier& q) {
    const auto path = document_path(id, q);
    if (path.empty()) return bad_id(ctx, id, q);
    int code = 0;
    std::string raw;
    auto doc = call(ctx, "GET", path, {}, true, code, {}, &raw);
    if (!doc) return code;
    if (ctx.output == "table" || ctx.output == "wide") detail::add_failure_reasons(ctx, *doc);
    show(ctx, *doc, raw);
    return 0;
}

int run_cancel(const context& ctx, const std::string& id, const task_qualifier& q) {
    const auto path = document_path(id, q);
    if (path.empty()) return bad_id(ctx, id, q);
    int code = 0;
    std::string raw;
    auto doc = call(ctx, "DELETE", path, {}, true, code, {}, &raw);
    if (!doc) return code;
    show(ctx, *doc, raw);
    // On stderr with -o json/yaml/name, so that standard output stays one clean document.
    const bool table = ctx.output == "table" || ctx.output == "wide";
    *(table ? ctx.out : ctx.err)
        << (table ? "" : "taskpollerctl: ")
        << "only tracking stopped: the cloud operation itself goes on (taskpoller cannot stop "
           "it; check its resources in the cloud)\n"
        << std::flush;
    return 0;
}

int run_list(const context& ctx, const list_args& a) {
    if (a.kind != "batches" && a.kind != "tasks") {
        return fail(ctx, fmt::format("list: unknown kind \"{}\" (batches or tasks)", a.kind));
    }
    if (a.kind == "batches" && !a.batch.empty()) return fail(ctx, "list: --batch applies to tasks");
    std::string token = a.page_token;
    json::array all;
    for (int page = 0; page < 100'000; ++page) {
        int code = 0;
        std::string raw;
        auto doc = call(ctx, "GET", list_target(a, token), {}, false, code, {}, &raw);
        if (!doc) return code;
        const auto next = field(*doc, "next_page_token");
        if (!a.all) {
            show(ctx, *doc, raw);
            if (!ctx.json && next != "-") {
                *ctx.err << "(more: --page-token " << sanitize(next) << " or --all)\n";
            }
            return 0;
        }
        const auto* items = doc->as_object().if_contains(a.kind);
        if (items != nullptr && items->is_array()) {
            for (const auto& v : items->get_array()) all.push_back(v);
        }
        if (next == "-" || next.empty() || next == token) break;
        token = next;
    }
    const json::value merged = json::object{{a.kind, std::move(all)}, {"next_page_token", nullptr}};
    show(ctx, merged, json::serialize(merged));
    return 0;
}

int run_status(const context& ctx) {
    int code = 0;
    std::string raw;
    auto doc = call(ctx, "GET", "/v1/status", {}, false, code, {}, &raw);
    if (!doc) return code;
    if (ctx.output == "json") {
        detail::print_raw(ctx, raw);
    } else if (ctx.output == "yaml") {
        *ctx.out << to_yaml(*doc) << std::flush;
    } else {
        *ctx.out << render_status(*doc, ctx.colour) << std::flush;
    }
    return 0;
}

int run_config(const context& ctx) {
    int code = 0;
    std::string raw;
    auto doc = call(ctx, "GET", "/v1/config", {}, false, code, {}, &raw);
    if (!doc) return code;
    if (ctx.output == "json") {
        detail::print_raw(ctx, raw);
    } else {
        *ctx.out << to_yaml(*doc) << std::flush;
    }
    return 0;
}

int run_doctor(const context& ctx) {
    int code = 0;
    std::string raw_status, raw_config;
    auto status = call(ctx, "GET", "/v1/status", {}, false, code, {}, &raw_status);
    if (!status) return code;
    auto config = call(ctx, "GET", "/v1/config", {}, false, code, {}, &raw_config);
    if (!config) return code;
    auto report = build_doctor(ctx.client.socket_path, *status, *config, ctx.colour);
    if (ctx.output == "json" || ctx.output == "yaml") {
        const json::value both = json::object{{"status", *status}, {"config", *config}};
        if (ctx.output == "json") {
            detail::print_raw(ctx, json::serialize(both));
        } else {
            *ctx.out << to_yaml(both) << std::flush;
        }
    } else {
        *ctx.out << report.text << std::flush;
    }
    return report.failed ? 1 : 0;
}

int run_reload(const context& ctx) {
    int code = 0;
    std::string raw;
    auto doc = call(ctx, "POST", "/v1/reload", {}, false, code, {}, &raw);
    if (!doc) return code;
    if (ctx.json) {
        detail::print_raw(ctx, raw);
        return 0;
    }
    if (ctx.output == "yaml") {
        *ctx.out << to_yaml(*doc) << std::flush;
        return 0;
    }
    *ctx.out << "configuration reloaded\n";
    const auto* rr = doc->as_object().if_contains("restart_required");
    if (rr != nullptr && rr->is_array() && !rr->get_array().empty()) {
        *ctx.out << "changes that need a restart to take effect:";
        for (const auto& k : rr->get_array()) {
            *ctx.out << ' ' << sanitize(k.is_string() ? k.get_string() : "?");
        }
        *ctx.out << '\n';
    }
    *ctx.out << std::flush;
    return 0;
}

int run_metrics(const context& ctx) {
    auto r = send_request(ctx.client, "GET", "/metrics");
    if (!r) return fail(ctx, r.error().message);
    if (r->status != 200) return detail::daemon_error(ctx, *r, false);
    *ctx.out << r->body << std::flush;
    return 0;
}

int run_ping(const context& ctx) {
    auto r = send_request(ctx.client, "GET", "/_ping");
    if (!r) return fail(ctx, r.error().message);
    if (r->status != 200) return detail::daemon_error(ctx, *r, false);
    if (ctx.json || ctx.output == "yaml") {
        const json::value o = json::object{{"ok", true}, {"api_version", r->api_version}};
        if (ctx.json) {
            detail::print_raw(ctx, json::serialize(o));
        } else {
            *ctx.out << to_yaml(o) << std::flush;
        }
    } else {
        *ctx.out << fmt::format("{} (api version {})\n", sanitize(r->body),
                                r->api_version.empty() ? "?" : sanitize(r->api_version));
    }
    return 0;
}

}  // namespace taskpoller::ctl
