#include "control/views.hpp"

#include <fmt/format.h>

#include <boost/json/array.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <ctime>
#include <set>

#include "core/duration.hpp"
#include "core/states.hpp"
#include "engine/registry.hpp"
#include "store/change_log.hpp"
#include "store/store.hpp"

namespace taskpoller::control {

namespace json = boost::json;

namespace {

json::value time_or_null(core::sys_time t) {
    if (t == core::sys_time{}) return nullptr;
    return json::value(format_time(t));
}

json::value string_or_null(const std::string& s) {
    if (s.empty()) return nullptr;
    return json::value(s);
}

// Only the fields the submission set: the others follow the configuration.
json::object poll_view(const core::poll_settings& p) {
    json::object o;
    if (p.initial_delay) o["initial_delay"] = core::format_duration(*p.initial_delay);
    if (p.interval) o["interval"] = core::format_duration(*p.interval);
    if (p.max_interval) o["max_interval"] = core::format_duration(*p.max_interval);
    return o;
}

json::object labels_view(const core::labels& l) {
    json::object o;
    for (const auto& [k, v] : l) o[k] = v;
    return o;
}

std::string_view entry_state(const core::entry& e) {
    switch (e.outcome) {
        case core::entry_outcome::accepted:
            return e.state ? core::to_string(*e.state) : std::string_view("unknown");
        case core::entry_outcome::rejected:
            return "rejected";
        case core::entry_outcome::unknown:
            break;
    }
    return "unknown";
}

json::object counts_view(const core::batch& b) {
    json::object c;
    for (std::size_t i = 0; i < core::task_state_count; ++i)
        c[core::to_string(static_cast<core::task_state>(i))] = b.counts[i];
    std::uint64_t rejected = 0, unknown = 0;
    for (const auto& e : b.entries) {
        if (e.outcome == core::entry_outcome::rejected) ++rejected;
        if (e.outcome == core::entry_outcome::unknown) ++unknown;
    }
    c["rejected"] = rejected;
    c["unknown"] = unknown;
    return c;
}

}  // namespace

std::string format_time(core::sys_time t) {
    using namespace std::chrono;
    const auto ms = duration_cast<milliseconds>(t.time_since_epoch()).count();
    std::time_t secs = static_cast<std::time_t>(ms / 1000);
    long frac = static_cast<long>(ms % 1000);
    if (frac < 0) {
        frac += 1000;
        --secs;
    }
    std::tm tm{};
    ::gmtime_r(&secs, &tm);
    return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", tm.tm_year + 1900,
                       tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, frac);
}

namespace {

// "v2" or "v3" for a service `reg` knows; nothing otherwise (a service configured away).
void add_protocol(json::object& o, std::string_view service, const engine::registry* reg) {
    if (reg == nullptr) return;
    if (const auto* s = reg->find_service(service)) o["protocol"] = engine::to_string(s->proto);
}

// An API 3.0 CVM task: LatestOperation* per instance, from its last_status
// ("ins-1=STOPPED/SUCCESS,ins-2=RUNNING/-": InstanceState / LatestOperationState, "-" while the
// operation shown is not this task's RequestId's).
void add_latest_operations(json::object& o, const core::task& t, const engine::registry* reg) {
    if (reg == nullptr) return;
    auto action = reg->find_action(t.service, t.action);
    if (!action || !(*action)->cvm || !(*action)->cvm->by_latest_operation) return;
    json::array out;
    std::string_view rest = t.last_status;
    std::set<std::string_view> seen;
    while (!rest.empty()) {
        auto item = rest.substr(0, rest.find(','));
        rest.remove_prefix(std::min(rest.size(), item.size() + 1));
        auto eq = item.find('=');
        auto slash = item.find('/', eq == std::string_view::npos ? 0 : eq);
        if (eq == std::string_view::npos || slash == std::string_view::npos) continue;
        auto id = item.substr(0, eq);
        auto state = item.substr(eq + 1, slash - eq - 1);
        auto op = item.substr(slash + 1);
        seen.insert(id);
        const bool ours = op != "-";
        json::object i;
        i["instance_id"] = id;
        i["instance_state"] = state;
        i["latest_operation"] = ours ? json::value(t.action) : json::value(nullptr);
        i["latest_operation_state"] = ours ? json::value(op) : json::value(nullptr);
        i["latest_operation_request_id"] = ours ? json::value(t.request_id) : json::value(nullptr);
        out.push_back(std::move(i));
    }
    for (const auto& r : t.resources) {  // not described yet
        if (seen.contains(r)) continue;
        out.push_back(json::object{{"instance_id", r},
                                   {"instance_state", nullptr},
                                   {"latest_operation", nullptr},
                                   {"latest_operation_state", nullptr},
                                   {"latest_operation_request_id", nullptr}});
    }
    o["instances"] = std::move(out);
}

// An adopted task of an API 2.0 instance-state service (cvm): its end is read from the instances'
// status alone, which says nothing about the requestId (a made-up one "succeeds" when the
// instances already rest in the target status). Said on the task, not hidden.
void add_completion_note(json::object& o, const core::task& t, const engine::registry* reg) {
    if (reg == nullptr || !t.batch_id.empty()) return;
    auto action = reg->find_action(t.service, t.action);
    if (!action || !(*action)->cvm) return;
    const auto& rule = *(*action)->cvm;
    if (rule.by_latest_operation) return;  // 3.0 compares the RequestId itself
    o["completion"] =
        "inferred from the instances' state only: an adopted requestId cannot be checked against "
        "them";
}

}  // namespace

json::object task_view(const core::task& t, const engine::registry* reg,
                       std::optional<core::sys_time> expected_finish) {
    json::object o;
    o["service"] = t.service;
    o["request_id"] = t.request_id;
    o["key"] = core::format_task_key(t.service, t.request_id);
    add_protocol(o, t.service, reg);
    o["state"] = core::to_string(t.state);
    o["action"] = t.action;
    o["batch_id"] = string_or_null(t.batch_id);
    o["region"] = string_or_null(t.region);
    json::array res;
    for (const auto& r : t.resources) res.emplace_back(r);
    o["resources"] = std::move(res);
    o["labels"] = labels_view(t.labels);
    o["last_status"] = string_or_null(t.last_status);
    o["last_error"] = string_or_null(t.last_error);
    add_latest_operations(o, t, reg);
    add_completion_note(o, t, reg);
    if (!t.target.empty()) o["target"] = t.target;
    if (!t.poll.empty()) o["poll"] = poll_view(t.poll);  // its own schedule, when it has one
    o["polls"] = t.polls;
    o["created_at"] = format_time(t.created_at);
    o["finished_at"] = time_or_null(t.finished_at);
    o["deadline"] = time_or_null(t.deadline);
    o["expected_finish_at"] = time_or_null(expected_finish.value_or(core::sys_time{}));
    o["updated_seq"] = t.updated_seq;
    return o;
}

json::object batch_view(const core::batch& b, const engine::registry* reg,
                        std::optional<core::sys_time> expected_finish) {
    json::object o;
    o["id"] = b.id;
    o["state"] = core::to_string(b.state);
    o["service"] = b.service;
    add_protocol(o, b.service, reg);
    o["action"] = b.action;
    o["region"] = b.region;
    o["code"] = b.code;
    o["message"] = b.message;
    o["created_at"] = format_time(b.created_at);
    o["finished_at"] = time_or_null(b.finished_at);
    o["expected_finish_at"] = time_or_null(expected_finish.value_or(core::sys_time{}));
    o["labels"] = labels_view(b.labels);
    o["client_token"] = string_or_null(b.client_token);
    if (!b.target.empty()) o["target"] = b.target;  // AttachDisks: the instance
    if (!b.poll.empty()) o["poll"] = poll_view(b.poll);
    o["counts"] = counts_view(b);
    json::array entries;
    for (const auto& e : b.entries) {
        entries.emplace_back(json::object{
            {"resource_id", e.resource_id},
            {"code", e.code},
            {"message", e.message},
            {"request_id", string_or_null(e.request_id)},
            // until the answer comes, an entry is what
            // the batch is
            {"state", b.state == core::batch_state::submitting ? std::string_view("submitting")
                                                               : entry_state(e)}});
    }
    o["entries"] = std::move(entries);
    o["updated_seq"] = b.updated_seq;
    return o;
}

std::string change_line(const store::store& s, const store::change& c,
                        const engine::registry* reg) {
    using store::change_kind;
    const bool is_task = c.kind == change_kind::task_created ||
                         c.kind == change_kind::task_changed || c.kind == change_kind::task_expired;
    std::string_view what = "changed";
    if (c.kind == change_kind::task_created || c.kind == change_kind::batch_created)
        what = "created";
    if (c.kind == change_kind::task_expired || c.kind == change_kind::batch_expired)
        what = "expired";
    json::object o;
    o["seq"] = c.seq;
    o["type"] = is_task ? "task" : "batch";
    o["change"] = what;
    o["state"] = c.state;
    if (is_task) {
        // The subject is the task's whole identity (core/task_key.hpp): requestIds can collide.
        auto key = core::parse_task_identity(c.subject);
        o["key"] = core::format_task_key(key);
        o["region"] = key.region;
        if (key.batch_id.empty()) {
            o["batch_id"] = nullptr;
        } else {
            o["batch_id"] = key.batch_id;
        }
        if (what != "expired")
            if (auto t = s.get_task(key)) o["task"] = task_view(*t, reg);
    } else {
        o["key"] = c.subject;
        if (what != "expired")
            if (auto b = s.get_batch(c.subject)) o["batch"] = batch_view(*b, reg);
    }
    return json::serialize(o);
}

}  // namespace taskpoller::control
