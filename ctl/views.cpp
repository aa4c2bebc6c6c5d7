#include "ctl/views.hpp"

#include <fmt/format.h>

#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

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

std::string render_batch(const json::value& b, bool colour) {
    const auto state = field(b, "state");
    std::string out = fmt::format(
        "batch {}  {}  {}/{}  region {}  code {}\n", sanitize(field(b, "id")),
        colour_state(state, sanitize(state), colour), sanitize(field(b, "service")),
        sanitize(field(b, "action")), sanitize(field(b, "region")), sanitize(field(b, "code")));
    const auto msg = field(b, "message");
    if (msg != "-" && !msg.empty()) out += line("message", msg);
    out += line("created", field(b, "created_at"));
    if (field(b, "finished_at") != "-") out += line("finished", field(b, "finished_at"));
    if (labels_text(b) != "-") out += line("labels", labels_text(b));
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

std::string render_list(const json::value& page, bool colour) {
    std::vector<std::vector<cell>> rows;
    if (as_obj(page).contains("batches")) {
        for (const auto& b : array_at(page, "batches")) {
            const auto s = field(b, "state");
            rows.push_back({{field(b, "id"), {}},
                            {s, s},
                            {field(b, "service") + "/" + field(b, "action"), {}},
                            {std::to_string(array_at(b, "entries").size()), {}},
                            {render_counts(counts_of_batch(b), false), {}},
                            {field(b, "created_at"), {}}});
        }
        if (rows.empty()) return "no batches\n";
        return render_table({"ID", "STATE", "ACTION", "ENTRIES", "COUNTS", "CREATED"}, rows,
                            colour);
    }
    for (const auto& t : array_at(page, "tasks")) {
        const auto s = field(t, "state");
        const auto* res = as_obj(t).if_contains("resources");
        rows.push_back({{field(t, "service") + "/" + field(t, "request_id"), {}},
                        {s, s},
                        {field(t, "action"), {}},
                        {res != nullptr && res->is_array() ? resources_cell(res->get_array())
                                                           : std::string("-"),
                         {}},
                        {field(t, "batch_id"), {}},
                        {field(t, "polls"), {}},
                        {field(t, "created_at"), {}}});
    }
    if (rows.empty()) return "no tasks\n";
    return render_table({"TASK", "STATE", "ACTION", "RESOURCES", "BATCH", "POLLS", "CREATED"}, rows,
                        colour);
}

std::string render_status(const json::value& s, bool colour) {
    std::string out;
    out += line("version", field(s, "version"));
    out += line("api", field(s, "api_version"));
    out += line("started", field(s, "started_at"));
    out += line("uptime", field(s, "uptime_seconds") + "s");
    const auto* tasks = as_obj(s).if_contains("tasks");
    out += fmt::format("{:<12}{}\n", "tasks:",
                       render_counts(tasks ? counts_from_object(*tasks) : state_counts{}, colour));
    const auto* batches = as_obj(s).if_contains("batches");
    out += fmt::format(
        "{:<12}{}\n",
        "batches:", render_counts(batches ? counts_from_object(*batches) : state_counts{}, colour));
    const auto* journal = as_obj(s).if_contains("journal");
    out += line("journal", journal ? json::serialize(*journal) : std::string("-"));
    const auto* events = as_obj(s).if_contains("events");
    out += line("events", events ? fmt::format("seq {}, {} subscriber(s)", field(*events, "seq"),
                                               field(*events, "subscribers"))
                                 : std::string("-"));
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
