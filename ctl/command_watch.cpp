// watch: the live event stream, one readable line per event.
#include <fmt/format.h>

#include <boost/json/parse.hpp>
#include <ostream>

#include "ctl/command_util.hpp"
#include "ctl/views.hpp"
#include "ctl/yaml_out.hpp"

namespace taskpoller::ctl {
namespace json = boost::json;

namespace {

struct watch_state {
    std::uint64_t last_seq = 0;
    bool have_seq = false;
    std::uint64_t events = 0;
    bool cut_off = false;
};

// Handles one NDJSON line; returns false to stop reading.
bool on_event(const context& ctx, const watch_args& a, watch_state& st, std::string_view line) {
    boost::system::error_code ec;
    const json::value v = json::parse(line, ec);
    if (ec || !v.is_object()) {
        *ctx.err << "taskpollerctl: ignoring a malformed event line: "
                 << sanitize(line.substr(0, 200)) << '\n';
        return true;
    }
    if (ctx.json) detail::print_raw(ctx, line);
    const auto& o = v.as_object();
    if (const auto* e = o.if_contains("error")) {
        const auto resume =
            st.have_seq ? fmt::format("; resume with --since {}", st.last_seq) : std::string();
        *ctx.err << fmt::format("taskpollerctl: the daemon ended the stream: {} ({}){}\n",
                                sanitize(field(*e, "message")), sanitize(field(*e, "code")),
                                resume);
        // Shutting down is a clean end (docs/ctl.md: exit 0); a cut-off (slow reader) is not.
        st.cut_off = field(*e, "code") != "shutting_down";
        return false;
    }
    if (ctx.output == "yaml") {
        *ctx.out << "---\n" << to_yaml(v) << std::flush;
    } else if (ctx.output == "name") {
        // The event's key, else the id of the task or batch it carries; gaps have neither.
        if (field(v, "key") != "-") {
            *ctx.out << sanitize(field(v, "key")) << '\n' << std::flush;
        } else if (const auto* obj = o.if_contains(field(v, "type")); obj && obj->is_object()) {
            *ctx.out << render_names(*obj) << std::flush;
        }
    } else if (!ctx.json) {
        *ctx.out << render_event(v, ctx.colour) << '\n' << std::flush;
    }
    if (const auto* seq = o.if_contains("seq"); seq != nullptr && seq->is_number()) {
        st.last_seq = seq->to_number<std::uint64_t>(ec);
        st.have_seq = !ec;
        ++st.events;
        if (a.max_events && st.events >= *a.max_events) return false;
    }
    return true;
}

}  // namespace

int run_watch(const context& ctx, const watch_args& a) {
    std::string target = "/v1/events";
    if (a.since) target += fmt::format("?since={}", *a.since);
    watch_state st;
    auto r = stream_lines(ctx.client, target,
                          [&](std::string_view line) { return on_event(ctx, a, st, line); });
    if (!r) {
        const auto resume =
            st.have_seq ? fmt::format(" (resume with --since {})", st.last_seq) : std::string();
        return detail::fail(ctx, r.error().message + resume);
    }
    if (r->status != 200) return detail::daemon_error(ctx, *r, false);
    if (st.cut_off) return to_int(exit_code::failed);
    if (r->body == "complete") {
        *ctx.err << "taskpollerctl: the daemon closed the event stream\n";
    }
    return 0;
}

}  // namespace taskpoller::ctl
