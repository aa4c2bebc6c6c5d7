// wait: long-polls batches and tasks until they are terminal, with a live progress display
// fitted to the terminal, an ETA from the daemon's learned durations, and reconnection across a
// daemon restart.
#include <fmt/format.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <charconv>
#include <cstdlib>
#include <ostream>
#include <random>
#include <thread>

#include "ctl/command_util.hpp"
#include "ctl/duration.hpp"
#include "ctl/reconnect.hpp"
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

// The terminal's width: the output's window size, else $COLUMNS, else 80. Read at every redraw,
// so a resize takes effect at the next one.
int terminal_columns() {
    winsize ws{};
    if (::ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) return ws.ws_col;
    if (const char* c = std::getenv("COLUMNS"); c != nullptr) {
        int n = 0;
        const std::string_view v(c);
        const auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
        if (ec == std::errc{} && end == v.data() + v.size() && n > 0) return n;
    }
    return 80;
}

// Time left to the latest expected_finish_at of the live items; nullopt unless every live item
// has one (the latest is unknown otherwise).
std::optional<milliseconds> time_left(const std::vector<item>& items, std::int64_t now) {
    std::optional<std::int64_t> latest;
    for (const auto& it : items) {
        if (it.finished || it.doc.is_null()) continue;
        const auto at = parse_time_ms(field(it.doc, "expected_finish_at"));
        if (!at) return std::nullopt;
        latest = std::max(latest.value_or(*at), *at);
    }
    if (!latest) return std::nullopt;
    return milliseconds{*latest - now};
}

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
        if (ctx_.interactive) {
            const int cols = terminal_columns();
            const auto line = render_progress_line(
                total, elapsed, time_left(items, detail::now_ms()), cols, ctx_.colour);
            *ctx_.out << (drawn_ ? redraw_prefix(drawn_width_, drawn_cols_, cols) : "\r\x1b[K")
                      << line << std::flush;
            drawn_ = true;
            drawn_width_ = display_width(line);
            drawn_cols_ = cols;
            return;
        }
        // Off a terminal: one line per change (no time, no ETA: they would change every line).
        const auto line = render_progress(total, 30, ctx_.colour);
        if (line != last_) *ctx_.out << line << '\n' << std::flush;
        last_ = line;
    }
    // Erases the progress line (before a message on stderr); the next update draws it again.
    void clear() {
        if (drawn_) *ctx_.out << "\r\x1b[K" << std::flush;
        drawn_ = false;
    }
    void finish() {
        if (drawn_) *ctx_.out << '\n' << std::flush;
        drawn_ = false;
    }

  private:
    const context& ctx_;
    std::string last_;
    bool drawn_ = false;
    std::size_t drawn_width_ = 0;  // of the line on screen
    int drawn_cols_ = 0;           // the terminal's width when it was drawn
};

enum class refreshed { ok, lost, failed };

// A 503 "shutting_down": the daemon is on its way out (a restart), as good as gone.
bool shutting_down(const http_response& r) {
    if (r.status != 503) return false;
    boost::system::error_code ec;
    const auto v = json::parse(r.body, ec);
    if (ec || !v.is_object()) return false;
    const auto* e = v.as_object().if_contains("error");
    return e != nullptr && field(*e, "code") == "shutting_down";
}

// One long-poll of `it`. `lost` (with `why`) when the daemon is gone (refused, no socket, the
// connection dropped, shutting down); `failed` (with `code` set) on another connection or
// protocol error. A daemon's HTTP error on the lookup finishes the item with that error.
refreshed refresh(const context& ctx, item& it, milliseconds wait_for, int& code,
                  std::string& why) {
    std::string target = it.path;
    if (wait_for.count() > 0) target += "?wait=" + format_duration(wait_for);
    auto r = send_request(ctx.client, "GET", target, {}, wait_for);
    if (!r) {
        if (r.error().kind == core::error_kind::unavailable) {
            why = r.error().message;
            return refreshed::lost;
        }
        code = detail::fail(ctx, r.error().message);
        return refreshed::failed;
    }
    if (shutting_down(*r)) {
        why = "the daemon is shutting down";
        return refreshed::lost;
    }
    if (r->status != 200) {
        // Report without --json echo: the final output prints one document per id.
        context quiet = ctx;
        quiet.json = false;
        it.error = static_cast<exit_code>(detail::daemon_error(quiet, *r, true));
        it.raw = std::move(r->body);  // --json still prints one line per id
        it.finished = true;
        return refreshed::ok;
    }
    auto v = detail::parse_json(ctx, *r);
    if (!v) {
        code = to_int(exit_code::usage);
        return refreshed::failed;
    }
    it.doc = std::move(*v);
    it.raw = std::move(r->body);
    it.finished = is_finished(it.doc);
    return refreshed::ok;
}

int final_output(const context& ctx, const std::vector<item>& items, bool gave_up) {
    exit_code code = gave_up ? exit_code::incomplete : exit_code::ok;
    for (const auto& it : items) {
        if (it.doc.is_null() && it.error == exit_code::ok) continue;  // never answered: gave up
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
    const std::optional<clock_type::time_point> deadline =
        a.timeout ? std::optional(start + *a.timeout) : std::nullopt;
    progress_display progress(ctx);
    std::mt19937_64 gen{std::random_device{}()};
    std::uniform_real_distribution<double> uniform(0.0, 1.0);
    reconnect_backoff backoff([&] { return uniform(gen); });
    bool answered = false;             // the daemon has answered this wait
    bool away = false;                 // the daemon is lost: reconnecting
    clock_type::time_point lost_at{};  // since when
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
        bool lost = false;
        for (auto& it : items) {
            if (it.finished) continue;
            // The first look is immediate so the progress appears at once.
            const auto w = first || live > 1 ? milliseconds{0} : std::min(interval, remaining);
            int code = 0;
            std::string why;
            const auto got = refresh(ctx, it, w, code, why);
            if (got == refreshed::failed) {
                progress.finish();
                return code;
            }
            if (got == refreshed::lost) {
                if (!answered) {  // never reached: a wrong socket, not a restart
                    progress.finish();
                    return detail::fail(ctx, why);
                }
                if (!away) {
                    progress.clear();
                    *ctx.err << fmt::format("taskpollerctl: lost the daemon ({}); reconnecting\n",
                                            why)
                             << std::flush;
                    lost_at = clock_type::now();
                    away = true;
                }
                lost = true;
                break;
            }
            answered = true;
            if (away) backoff.reset();
            away = false;
        }
        if (lost) {
            // Try again after the backoff, until the wait's deadline (then exit 2, as any
            // timeout) or, without --timeout, reconnect_backoff::default_limit (then exit 3).
            const auto now = clock_type::now();
            const auto give_up = reconnect_backoff::give_up_at(lost_at, deadline);
            if (now >= give_up) {
                if (deadline) {
                    gave_up = true;
                    break;
                }
                progress.finish();
                return detail::fail(ctx,
                                    fmt::format("gave up: the daemon has not answered for {}",
                                                format_duration(reconnect_backoff::default_limit)));
            }
            std::this_thread::sleep_for(
                std::min<clock_type::duration>(backoff.next(), give_up - now));
            continue;
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
