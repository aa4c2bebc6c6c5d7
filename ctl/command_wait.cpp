// wait: long-polls batches and tasks until they are terminal, with a live progress display.
#include <fmt/format.h>

#include <boost/json/serialize.hpp>
#include <ostream>
#include <thread>

#include "ctl/command_util.hpp"
#include "ctl/duration.hpp"
#include "ctl/views.hpp"

namespace taskpoller::ctl {
namespace json = boost::json;
using clock_type = std::chrono::steady_clock;
using std::chrono::milliseconds;

namespace {

struct item {
    std::string id;
    std::string path;
    json::value doc;
    std::string raw;
    bool finished = false;
    exit_code error = exit_code::ok;  // set when the daemon refused the lookup
};

class progress_display {
  public:
    explicit progress_display(const context& ctx) : ctx_(ctx) {}

    void update(const std::vector<item>& items, milliseconds elapsed) {
        if (ctx_.output != "table" && ctx_.output != "wide") return;  // machine formats
        state_counts total;
        for (const auto& it : items) {
            if (it.doc.is_null()) continue;
            for (const auto& [s, n] : progress_counts(it.doc)) total[s] += n;
        }
        const auto line = render_progress(total, 30, ctx_.colour);
        if (ctx_.interactive) {
            *ctx_.out << "\r\x1b[K" << line << "  " << humanize_duration(elapsed) << std::flush;
            drawn_ = true;
        } else if (line != last_) {
            *ctx_.out << line << '\n' << std::flush;
        }
        last_ = line;
    }
    void finish() {
        if (drawn_) *ctx_.out << '\n' << std::flush;
        drawn_ = false;
    }

  private:
    const context& ctx_;
    std::string last_;
    bool drawn_ = false;
};

// One long-poll of `it`; returns false (with `code` set) on a connection or protocol error.
bool refresh(const context& ctx, item& it, milliseconds wait_for, int& code) {
    std::string target = it.path;
    if (wait_for.count() > 0) target += "?wait=" + format_duration(wait_for);
    auto r = send_request(ctx.client, "GET", target, {}, wait_for);
    if (!r) {
        code = detail::fail(ctx, r.error().message);
        return false;
    }
    if (r->status != 200) {
        // Report without --json echo: the final output prints one document per id.
        context quiet = ctx;
        quiet.json = false;
        it.error = static_cast<exit_code>(detail::daemon_error(quiet, *r, true));
        it.raw = std::move(r->body);  // --json still prints one line per id
        it.finished = true;
        return true;
    }
    auto v = detail::parse_json(ctx, *r);
    if (!v) {
        code = to_int(exit_code::usage);
        return false;
    }
    it.doc = std::move(*v);
    it.raw = std::move(r->body);
    it.finished = is_finished(it.doc);
    return true;
}

int final_output(const context& ctx, const std::vector<item>& items, bool gave_up) {
    exit_code code = gave_up ? exit_code::incomplete : exit_code::ok;
    for (const auto& it : items) {
        if (it.error != exit_code::ok) {
            code = worst(code, it.error);
            if (ctx.json && !it.raw.empty()) detail::print_raw(ctx, it.raw);
            continue;
        }
        code = worst(code, document_outcome(it.doc, true));
        if (ctx.output == "yaml" && items.size() > 1) *ctx.out << "---\n";
        if (ctx.output == "table" || ctx.output == "wide") {
            auto doc = it.doc;  // the final table says why tasks failed, as `get` does
            detail::add_failure_reasons(ctx, doc);
            detail::show(ctx, doc, it.raw);
        } else {
            detail::show(ctx, it.doc, it.raw);
        }
    }
    *ctx.out << std::flush;
    return to_int(code);
}

}  // namespace

int run_wait(const context& ctx, const wait_args& a) {
    std::vector<item> items;
    for (const auto& id : a.ids) {
        auto path = document_path(id);
        if (path.empty()) {
            return detail::fail(
                ctx, fmt::format("bad id \"{}\": use BATCH_ID or SERVICE/REQUEST_ID", id));
        }
        item it;
        it.id = id;
        it.path = std::move(path);
        items.push_back(std::move(it));
    }
    const auto start = clock_type::now();
    const auto interval = std::max(a.interval, milliseconds{50});
    progress_display progress(ctx);
    bool gave_up = false;
    for (bool first = true;; first = false) {
        std::size_t live = 0;
        for (const auto& it : items) live += it.finished ? 0 : 1;
        if (live == 0) break;
        const auto elapsed = std::chrono::duration_cast<milliseconds>(clock_type::now() - start);
        if (!first && a.timeout && elapsed >= *a.timeout) {
            gave_up = true;
            break;
        }
        const auto remaining = a.timeout ? *a.timeout - elapsed : interval;
        const auto round_start = clock_type::now();
        for (auto& it : items) {
            if (it.finished) continue;
            // The first look is immediate so the progress appears at once.
            const auto w = first || live > 1 ? milliseconds{0} : std::min(interval, remaining);
            int code = 0;
            if (!refresh(ctx, it, w, code)) {
                progress.finish();
                return code;
            }
        }
        progress.update(items, std::chrono::duration_cast<milliseconds>(clock_type::now() - start));
        // A daemon that answers a long poll at once (or several ids) must not be hammered.
        const auto spent = clock_type::now() - round_start;
        auto pause = interval - std::chrono::duration_cast<milliseconds>(spent);
        if (a.timeout) pause = std::min(pause, *a.timeout - elapsed);
        bool any_live = false;
        for (const auto& it : items) any_live = any_live || !it.finished;
        if (any_live && pause.count() > 0 && !first) std::this_thread::sleep_for(pause);
    }
    progress.finish();
    if (gave_up) {
        std::size_t live = 0;
        for (const auto& it : items) live += it.finished ? 0 : 1;
        *ctx.err << fmt::format("taskpollerctl: gave up waiting after {}: {} of {} not finished\n",
                                format_duration(*a.timeout), live, items.size());
    }
    return final_output(ctx, items, gave_up);
}

}  // namespace taskpoller::ctl
