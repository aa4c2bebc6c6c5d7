#include "ctl/views.hpp"

#include <fmt/format.h>

#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <cstdio>

#include "engine/clock_skew.hpp"

namespace taskpoller::ctl {
namespace json = boost::json;
namespace {

const json::object& as_obj(const json::value& v) {
    static const json::object empty;
    const auto* o = v.if_object();
    return o != nullptr ? *o : empty;
}

const json::array& array_at(const json::value& v, std::string_view key) {
    static const json::array empty;
    const auto* a = as_obj(v).if_contains(key);
    return a != nullptr && a->is_array() ? a->get_array() : empty;
}

std::string join_strings(const json::array& a) {
    std::string out;
    for (const auto& v : a) {
        if (!out.empty()) out += ',';
        out += v.is_string() ? std::string(v.get_string()) : json::serialize(v);
    }
    return out.empty() ? "-" : out;
}

// A table cell for a task's resources: the first two and how many more ("ins-1,ins-2 (+98)").
// An API 3.0 CVM task covers up to 100 instances; the whole list is in `get`.
std::string resources_cell(const json::array& a) {
    constexpr std::size_t shown = 2;
    if (a.size() <= shown + 1) return join_strings(a);
    json::array head(a.begin(), a.begin() + shown);
    return join_strings(head) + " (+" + std::to_string(a.size() - shown) + ")";
}

std::string labels_text(const json::value& doc) {
    const auto* l = as_obj(doc).if_contains("labels");
    if (l == nullptr || !l->is_object() || l->get_object().empty()) return "-";
    std::string out;
    for (const auto& [k, v] : l->get_object()) {
        if (!out.empty()) out += ',';
        out += fmt::format("{}={}", std::string_view(k), v.is_string() ? v.get_string() : "?");
    }
    return out;
}

state_counts counts_from_object(const json::value& v) {
    state_counts out;
    const auto* o = v.if_object();
    if (o == nullptr) return out;
    for (const auto& [k, n] : *o) {
        if (n.is_int64()) out[std::string(k)] = n.get_int64();
        if (n.is_uint64()) out[std::string(k)] = static_cast<std::int64_t>(n.get_uint64());
    }
    return out;
}

std::string line(std::string_view name, std::string_view value) {
    return fmt::format("{:<12}{}\n", fmt::format("{}:", name), sanitize(value));
}

// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil).
std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) {
    y -= m <= 2 ? 1 : 0;
    const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
    const auto yoe = static_cast<unsigned>(y - era * 400);
    const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

// AGE and DURATION cells of a batch or task.
std::string age_cell(const json::value& doc, std::optional<std::int64_t> now_ms) {
    const auto created = parse_time_ms(field(doc, "created_at"));
    if (!created || !now_ms) return "-";
    return human_duration(*now_ms - *created);
}

std::string duration_cell(const json::value& doc, std::optional<std::int64_t> now_ms) {
    const auto created = parse_time_ms(field(doc, "created_at"));
    if (!created) return "-";
    if (const auto finished = parse_time_ms(field(doc, "finished_at"))) {
        return human_duration(*finished - *created);
    }
    return now_ms ? human_duration(*now_ms - *created) : std::string("-");
}

}  // namespace

std::string field(const json::value& obj, std::string_view key) {
    const auto* v = as_obj(obj).if_contains(key);
    if (v == nullptr || v->is_null()) return "-";
    if (v->is_string()) return std::string(v->get_string());
    // Boost.JSON serialises 20.0 as "2E1"; people read "20" (or "0.5").
    if (v->is_double()) return fmt::format("{:g}", v->get_double());
    return json::serialize(*v);
}

state_counts counts_of_batch(const json::value& batch) {
    const auto* c = as_obj(batch).if_contains("counts");
    if (c != nullptr) return counts_from_object(*c);
    state_counts out;
    for (const auto& e : array_at(batch, "entries")) ++out[field(e, "state")];
    return out;
}

state_counts progress_counts(const json::value& doc) {
    if (as_obj(doc).contains("entries") || as_obj(doc).contains("counts")) {
        return counts_of_batch(doc);
    }
    return state_counts{{field(doc, "state"), 1}};
}

std::optional<std::int64_t> parse_time_ms(std::string_view text) {
    int y = 0, mo = 0, d = 0, h = 0, mi = 0, sec = 0, n = 0;
    const std::string t(text);
    if (std::sscanf(t.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &sec, &n) != 6 ||
        mo < 1 || mo > 12 || d < 1 || d > 31) {
        return std::nullopt;
    }
    std::int64_t ms = 0;
    auto rest = std::string_view(t).substr(static_cast<std::size_t>(n));
    if (!rest.empty() && rest.front() == '.') {
        rest.remove_prefix(1);
        std::int64_t scale = 100;
        while (!rest.empty() && rest.front() >= '0' && rest.front() <= '9') {
            ms += (rest.front() - '0') * scale;
            scale /= 10;
            rest.remove_prefix(1);
        }
    }
    if (rest != "Z" && rest != "+00:00") return std::nullopt;
    const auto days = days_from_civil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d));
    return ((days * 24 + h) * 60 + mi) * 60'000 + sec * 1000LL + ms;
}

std::string human_duration(std::int64_t ms) {
    const std::int64_t s = ms < 0 ? 0 : ms / 1000;
    if (s < 60) return fmt::format("{}s", s);
    if (s < 3600) return fmt::format("{}m{}s", s / 60, s % 60);
    if (s < 86400) return fmt::format("{}h{}m", s / 3600, s % 3600 / 60);
    return fmt::format("{}d{}h", s / 86400, s % 86400 / 3600);
}

namespace {
// A batch's state text and the state whose colour it takes.
std::pair<std::string, std::string> batch_state_parts(const json::value& b) {
    const auto state = field(b, "state");
    if (state != "done") return {state, state};
    const auto counts = counts_of_batch(b);
    std::vector<std::string> parts;
    bool red = false;
    for (std::string_view s :
         {"failed", "timed_out", "not_found", "cancelled", "rejected", "unknown"}) {
        const auto it = counts.find(s);
        if (it == counts.end() || it->second <= 0) continue;
        parts.push_back(fmt::format("{} {}", it->second, s));
        red = red || s == "failed" || s == "not_found" || s == "rejected";
    }
    if (parts.empty()) return {state, state};
    return {fmt::format("done ({})", fmt::join(parts, ", ")), red ? "failed" : "timed_out"};
}
}  // namespace

std::string batch_state_text(const json::value& b, bool colour) {
    const auto [text, as] = batch_state_parts(b);
    return colour_state(as, sanitize(text), colour);
}

std::string render_names(const json::value& doc) {
    auto name_of = [](const json::value& d) {
        if (as_obj(d).contains("id")) return sanitize(field(d, "id"));
        return sanitize(field(d, "service") + "/" + field(d, "request_id"));
    };
    std::string out;
    const auto& o = as_obj(doc);
    if (o.contains("batches") || o.contains("tasks")) {
        for (const auto& v : array_at(doc, o.contains("batches") ? "batches" : "tasks")) {
            out += name_of(v) + '\n';
        }
        return out;
    }
    return name_of(doc) + '\n';
}

namespace {

// A batch's or task's own poll schedule ("poll" in the daemon's document), e.g.
// "initial_delay 1s, interval 2s (own schedule)"; empty when it follows the configuration.
std::string own_poll_text(const json::value& d) {
    const auto* p = as_obj(d).if_contains("poll");
    if (p == nullptr || !p->is_object() || p->get_object().empty()) return {};
    std::string out;
    for (const char* k : {"initial_delay", "interval", "max_interval"}) {
        if (!p->get_object().contains(k)) continue;
        if (!out.empty()) out += ", ";
        out += fmt::format("{} {}", k, field(*p, k));
    }
    return out + " (own schedule)";
}

}  // namespace

std::string render_batch(const json::value& b, bool colour) {
    std::string out = fmt::format("batch {}  {}  {}/{}  region {}  code {}\n",
                                  sanitize(field(b, "id")), batch_state_text(b, colour),
                                  sanitize(field(b, "service")), sanitize(field(b, "action")),
                                  sanitize(field(b, "region")), sanitize(field(b, "code")));
    const auto msg = field(b, "message");
    if (msg != "-" && !msg.empty()) out += line("message", msg);
    out += line("created", field(b, "created_at"));
    if (field(b, "finished_at") != "-") out += line("finished", field(b, "finished_at"));
    if (labels_text(b) != "-") out += line("labels", labels_text(b));
    if (auto poll = own_poll_text(b); !poll.empty()) out += line("poll", poll);
    out += fmt::format("{:<12}{}\n", "counts:", render_counts(counts_of_batch(b), colour));
    std::vector<std::vector<cell>> rows;
    for (const auto& e : array_at(b, "entries")) {
        const auto es = field(e, "state");
        rows.push_back({{field(e, "resource_id"), {}},
                        {es, es},
                        {field(e, "request_id"), {}},
                        {field(e, "code"), {}},
                        {field(e, "message") == "" ? "-" : field(e, "message"), {}}});
    }
    if (!rows.empty()) {
        out += '\n';
        out += render_table({"RESOURCE", "STATE", "REQUEST_ID", "CODE", "MESSAGE"}, rows, colour);
    }
    return out;
}

std::string render_task(const json::value& t, bool colour) {
    const auto state = field(t, "state");
    std::string out =
        fmt::format("task {}/{}  {}\n", sanitize(field(t, "service")),
                    sanitize(field(t, "request_id")), colour_state(state, sanitize(state), colour));
    out += line("action", field(t, "action"));
    out += line("batch", field(t, "batch_id"));
    const auto* res = as_obj(t).if_contains("resources");
    out += line("resources", res != nullptr && res->is_array() ? join_strings(res->get_array())
                                                               : std::string("-"));
    out += line("labels", labels_text(t));
    out += line("status", field(t, "last_status"));
    out += line("error", field(t, "last_error"));
    out += line("polls", field(t, "polls"));
    if (auto poll = own_poll_text(t); !poll.empty()) out += line("poll", poll);
    out += line("created", field(t, "created_at"));
    out += line("deadline", field(t, "deadline"));
    out += line("finished", field(t, "finished_at"));
    return out;
}

std::string render_document(const json::value& doc, bool colour) {
    const auto& o = as_obj(doc);
    if (o.contains("entries") || o.contains("counts")) return render_batch(doc, colour);
    return render_task(doc, colour);
}

std::string render_list(const json::value& page, bool colour, bool wide,
                        std::optional<std::int64_t> now_ms) {
    std::vector<std::vector<cell>> rows;
    if (as_obj(page).contains("batches")) {
        for (const auto& b : array_at(page, "batches")) {
            // A done batch with failures reads "done (2 failed)", not in green.
            auto [state_text, colour_as] = batch_state_parts(b);
            std::vector<cell> row{{field(b, "id"), {}},
                                  {state_text, colour_as},
                                  {field(b, "service") + "/" + field(b, "action"), {}},
                                  {std::to_string(array_at(b, "entries").size()), {}},
                                  {render_counts(counts_of_batch(b), false), {}},
                                  {age_cell(b, now_ms), {}},
                                  {duration_cell(b, now_ms), {}}};
            if (wide) {
                row.insert(row.end(), {{field(b, "region"), {}},
                                       {field(b, "created_at"), {}},
                                       {field(b, "finished_at"), {}},
                                       {labels_text(b), {}}});
            }
            rows.push_back(std::move(row));
        }
        if (rows.empty()) return "no batches\n";
        std::vector<std::string> headers{"ID",     "STATE", "ACTION",  "ENTRIES",
                                         "COUNTS", "AGE",   "DURATION"};
        if (wide) headers.insert(headers.end(), {"REGION", "CREATED", "FINISHED", "LABELS"});
        return render_table(headers, rows, colour);
    }
    for (const auto& t : array_at(page, "tasks")) {
        const auto s = field(t, "state");
        const auto* res = as_obj(t).if_contains("resources");
        std::vector<cell> row{{field(t, "service") + "/" + field(t, "request_id"), {}},
                              {s, s},
                              {field(t, "action"), {}},
                              {res != nullptr && res->is_array() ? resources_cell(res->get_array())
                                                                 : std::string("-"),
                               {}},
                              {field(t, "batch_id"), {}},
                              {field(t, "polls"), {}},
                              {age_cell(t, now_ms), {}},
                              {duration_cell(t, now_ms), {}}};
        if (wide) {
            row.insert(row.end(), {{field(t, "region"), {}},
                                   {field(t, "created_at"), {}},
                                   {field(t, "finished_at"), {}},
                                   {labels_text(t), {}},
                                   {field(t, "last_status"), {}},
                                   {field(t, "last_error"), {}}});
        }
        rows.push_back(std::move(row));
    }
    if (rows.empty()) return "no tasks\n";
    std::vector<std::string> headers{"TASK",  "STATE", "ACTION", "RESOURCES",
                                     "BATCH", "POLLS", "AGE",    "DURATION"};
    if (wide) {
        headers.insert(headers.end(),
                       {"REGION", "CREATED", "FINISHED", "LABELS", "LAST_STATUS", "ERROR"});
    }
    return render_table(headers, rows, colour);
}

namespace {
// The journal in words: whether state survives a restart, and what is wrong if anything.
std::string journal_text(const json::value& j, bool colour) {
    if (!j.is_object()) return "-";
    const auto* enabled = j.as_object().if_contains("enabled");
    if (enabled != nullptr && enabled->is_bool() && !enabled->get_bool()) {
        return "disabled (tasks are not kept across a restart)";
    }
    auto flag = [&](std::string_view k) {
        const auto* v = j.as_object().if_contains(k);
        return v == nullptr || !v->is_bool() || v->get_bool();
    };
    std::string health;
    if (!flag("durable")) {
        health = colour_state("failed", "FAILED: changes are not recorded, mutations are refused",
                              colour);
    } else if (!flag("healthy")) {
        health = colour_state("timed_out", "unhealthy", colour);
    } else {
        health = colour_state("succeeded", "healthy", colour);
    }
    std::string out = fmt::format("{}, durability {}, {}", health, sanitize(field(j, "durability")),
                                  sanitize(field(j, "path")));
    if (!flag("durable") && field(j, "error") != "-") out += ": " + sanitize(field(j, "error"));
    return out;
}
}  // namespace

// The PostgreSQL ledger in words (docs/ha.md): this node's role and what it knows of the lease.
static std::string ledger_text(const json::value& l, bool colour) {
    const auto role = field(l, "role");
    const auto* stale = l.is_object() ? l.as_object().if_contains("stale") : nullptr;
    const bool is_stale = stale != nullptr && stale->is_bool() && stale->get_bool();
    std::string out;
    if (role == "leader") {
        const auto* left = l.as_object().if_contains("lease_expires_in_ms");
        out = colour_state("succeeded", "leader", colour) +
              fmt::format(
                  " of ledger {} (node {}, epoch {}{})", sanitize(field(l, "ledger")),
                  sanitize(field(l, "node")), field(l, "epoch"),
                  left != nullptr && left->is_number()
                      ? fmt::format(", lease {:.1f} s left", left->to_number<double>() / 1000.0)
                      : std::string());
        const auto* writing = l.as_object().if_contains("writing");
        if (writing != nullptr && writing->is_bool() && !writing->get_bool()) {
            out +=
                "; " + colour_state("failed",
                                    "WRITES FAILING: " + sanitize(field(l, "write_error")), colour);
        }
    } else if (role == "follower") {
        out = fmt::format("follower of ledger {} (node {}, leader {}, lag {} ms)",
                          sanitize(field(l, "ledger")), sanitize(field(l, "node")),
                          sanitize(field(l, "leader")), field(l, "lag_ms"));
        if (is_stale)
            out += "; " + colour_state("timed_out", "STALE: the ledger is unreachable", colour);
    } else {
        out = colour_state("failed", sanitize(role), colour) + " (lost the lease; restarting)";
    }
    return out;
}

std::string render_status(const json::value& s, bool colour) {
    std::string out;
    out += line("version", field(s, "version"));
    out += line("api", field(s, "api_version"));
    out += line("started", field(s, "started_at"));
    const auto* up = as_obj(s).if_contains("uptime_seconds");
    out += line("uptime",
                up != nullptr && up->is_number()
                    ? human_duration(static_cast<std::int64_t>(up->to_number<double>() * 1000))
                    : std::string("-"));
    const auto* tasks = as_obj(s).if_contains("tasks");
    out += fmt::format("{:<12}{}\n", "tasks:",
                       render_counts(tasks ? counts_from_object(*tasks) : state_counts{}, colour));
    const auto* batches = as_obj(s).if_contains("batches");
    out += fmt::format(
        "{:<12}{}\n",
        "batches:", render_counts(batches ? counts_from_object(*batches) : state_counts{}, colour));
    const auto* ledger = as_obj(s).if_contains("ledger");
    const auto* journal = ledger != nullptr ? nullptr : as_obj(s).if_contains("journal");
    if (ledger != nullptr)
        out += fmt::format("{:<12}{}\n", "ledger:", ledger_text(*ledger, colour));
    if (ledger == nullptr) {
        out += fmt::format("{:<12}{}\n", "journal:",
                           journal != nullptr ? journal_text(*journal, colour) : std::string("-"));
    }
    if (journal != nullptr) {
        const auto pending = field(*journal, "pending_changes");
        if (pending != "-" && pending != "0") {
            out += line("durability", pending + " change(s) not yet durable");
        }
        if (field(*journal, "records") != "-") {
            out += line(
                "records",
                fmt::format("{} records, {} syncs, {} compactions ({} failed), "
                            "log {} bytes, snapshot {} bytes",
                            field(*journal, "records"), field(*journal, "syncs"),
                            field(*journal, "compactions"), field(*journal, "compaction_failures"),
                            field(*journal, "log_bytes"), field(*journal, "snapshot_bytes")));
        }
        const auto compaction = field(*journal, "compaction_error");
        if (compaction != "-") {
            out +=
                fmt::format("{:<12}{}\n", "compaction:",
                            colour_state("failed", "last error: " + sanitize(compaction), colour));
        }
    }
    const auto* events = as_obj(s).if_contains("events");
    out += line("events", events ? fmt::format("seq {}, {} subscriber(s)", field(*events, "seq"),
                                               field(*events, "subscribers"))
                                 : std::string("-"));
    // The daemon's signed probes of its cloud access: one line, then each refusal with its reason.
    const auto& checks = array_at(s, "cloud_checks");
    if (!checks.empty()) {
        std::size_t ok = 0;
        std::vector<std::string> bad;
        for (const auto& c : checks) {
            const auto result = field(c, "result");
            if (result == "ok") {
                ++ok;
            } else {
                bad.push_back(fmt::format("{} {} ({}): {}", sanitize(field(c, "service")),
                                          sanitize(field(c, "action")), result,
                                          sanitize(field(c, "message"))));
            }
        }
        out += fmt::format("{:<12}{}\n", "cloud:",
                           bad.empty() ? colour_state("succeeded",
                                                      fmt::format("credentials accepted by all {} "
                                                                  "services",
                                                                  ok),
                                                      colour)
                                       : colour_state("failed",
                                                      fmt::format("{} of {} services refused or "
                                                                  "did not answer",
                                                                  bad.size(), checks.size()),
                                                      colour));
        for (const auto& b : bad) out += fmt::format("{:<12}{}\n", "", b);
    }
    // The clock against the cloud's Date header (taskpollerctl doctor judges it too).
    if (const auto* clock = as_obj(s).if_contains("clock"); clock != nullptr) {
        const auto* skew = as_obj(*clock).if_contains("skew_ms");
        const auto* uncertainty = as_obj(*clock).if_contains("uncertainty_ms");
        if (skew != nullptr && skew->is_int64() && uncertainty != nullptr &&
            uncertainty->is_int64()) {
            const std::chrono::milliseconds sk(skew->as_int64()), u(uncertainty->as_int64());
            const auto level = engine::judge_skew(sk, u);
            out += fmt::format(
                "{:<12}{}\n", "clock:",
                colour_state(level == engine::skew_level::ok     ? "succeeded"
                             : level == engine::skew_level::warn ? "timed_out"
                                                                 : "failed",
                             fmt::format("{} (±{:.1f} s, via {})", engine::describe_skew(sk, u),
                                         static_cast<double>(u.count()) / 1000.0,
                                         sanitize(field(*clock, "service"))),
                             colour));
        }
    }
    const auto* polling = as_obj(s).if_contains("polling");
    if (polling != nullptr) {
        out +=
            line("polling", fmt::format("{} task(s) tracked, {} poll(s) in flight",
                                        field(*polling, "tracked"), field(*polling, "inflight")));
    }
    std::vector<std::vector<cell>> rows;
    for (const auto& r : array_at(s, "rate_limits")) {
        rows.push_back({{field(r, "service") + "/" + field(r, "action"), {}},
                        {field(r, "rate"), {}},
                        {field(r, "configured_rate"), {}}});
    }
    if (!rows.empty()) {
        out += '\n';
        out += render_table({"ACTION", "RATE", "CONFIGURED"}, rows, colour);
    }
    return out;
}

std::string render_event(const json::value& e, bool colour) {
    const auto type = field(e, "type");
    const auto seq = field(e, "seq");
    // The event's own state (the state at that change), not the object's current one: a replayed
    // batch's `submitting` and `submitted` events must not both read `done`.
    const auto event_state = field(e, "state");
    auto state_of = [&](const json::value& object) {
        return event_state != "-" ? event_state : field(object, "state");
    };
    if (type == "task") {
        const auto* t = as_obj(e).if_contains("task");
        if (t == nullptr) return sanitize(json::serialize(e));
        const auto s = state_of(*t);
        std::string out =
            fmt::format("#{} task  {}/{}  {}  {}", seq, sanitize(field(*t, "service")),
                        sanitize(field(*t, "request_id")), colour_state(s, sanitize(s), colour),
                        sanitize(field(*t, "action")));
        if (field(*t, "batch_id") != "-") out += " batch " + sanitize(field(*t, "batch_id"));
        if (field(*t, "last_error") != "-") out += "  error: " + sanitize(field(*t, "last_error"));
        return out;
    }
    if (type == "batch") {
        const auto* b = as_obj(e).if_contains("batch");
        if (b == nullptr) return sanitize(json::serialize(e));
        const auto s = state_of(*b);
        return fmt::format("#{} batch {}  {}  {}/{}  {}", seq, sanitize(field(*b, "id")),
                           colour_state(s, sanitize(s), colour), sanitize(field(*b, "service")),
                           sanitize(field(*b, "action")),
                           render_counts(counts_of_batch(*b), colour));
    }
    if (type == "gap") {
        return fmt::format(
            "-- gap: events {} to {} are no longer retained; use `taskpollerctl list` to resync",
            sanitize(field(e, "from")), sanitize(field(e, "to")));
    }
    return sanitize(json::serialize(e));
}

}  // namespace taskpoller::ctl
