#include "ctl/doctor.hpp"

#include <fmt/format.h>

#include <boost/json/serialize.hpp>

#include "ctl/render.hpp"
#include "ctl/views.hpp"
#include "engine/clock_skew.hpp"

namespace taskpoller::ctl {
namespace json = boost::json;

namespace {

const json::value& at(const json::value& v, std::string_view key) {
    static const json::value none;
    const auto* o = v.if_object();
    const auto* found = o ? o->if_contains(key) : nullptr;
    return found ? *found : none;
}

// The clock line, from /v1/status "clock" (the latest Date the daemon read).
std::pair<std::string_view, std::string> clock_line(const json::value& clock) {
    const auto& skew = at(clock, "skew_ms");
    const auto& uncertainty = at(clock, "uncertainty_ms");
    if (!skew.is_int64() || !uncertainty.is_int64())
        return {"warn", "clock: not measured (no answer with a Date header yet)"};
    using std::chrono::milliseconds;
    const milliseconds s(skew.as_int64()), u(uncertainty.as_int64());
    const auto& age = at(clock, "age_seconds");
    std::string text =
        fmt::format("clock: {} (±{:.1f} s, measured {}via {})", engine::describe_skew(s, u),
                    static_cast<double>(u.count()) / 1000.0,
                    age.is_int64() ? fmt::format("{} s ago ", age.as_int64()) : std::string(),
                    field(clock, "service"));
    switch (engine::judge_skew(s, u)) {
        case engine::skew_level::ok:
            return {"ok", text};
        case engine::skew_level::warn:
            return {"warn", fmt::format("{}: more than {} s off (check NTP)", text,
                                        engine::skew_warn_after.count())};
        case engine::skew_level::fail:
            return {"FAIL",
                    fmt::format("{}: beyond the cloud's {} s signature window, every signed call "
                                "is refused (fix the time: NTP)",
                                text, engine::signature_window.count())};
    }
    return {"warn", text};
}

}  // namespace

doctor_report build_doctor(const std::string& socket, const json::value& status,
                           const json::value& config, bool colour) {
    doctor_report r;
    auto add = [&](std::string_view level, const std::string& what) {
        const std::string_view state = level == "ok"     ? "succeeded"
                                       : level == "warn" ? "timed_out"
                                                         : "failed";
        r.text +=
            colour_state(state, fmt::format("{:<4}", level), colour) + " " + sanitize(what) + "\n";
        if (level == "FAIL") r.failed = true;
    };
    add("ok", "socket " + socket + ": the daemon answers");
    add("ok", fmt::format("taskpollerd {}, up {}s", field(status, "version"),
                          field(status, "uptime_seconds")));
    const auto& cloud = at(config, "cloud");
    std::string where = fmt::format("region {}, API {} (endpoint {}), {}", field(cloud, "region"),
                                    field(cloud, "protocol") == "v3" ? "3.0" : "2.0",
                                    field(cloud, "endpoint"), field(cloud, "scheme"));
    if (const auto* c = at(cloud, "connect_to").if_object(); c && !c->empty())
        where += ", connect_to " + json::serialize(*c);
    add("ok", "cloud: " + where);
    const auto& creds = at(config, "credentials");
    const auto source = field(creds, "source");
    if (source == "-" || source == "none") {
        add("FAIL", "credentials: none configured");
    } else {
        add("ok", "credentials from " + field(creds, "source_detail"));
    }
    const auto* checks = at(status, "cloud_checks").if_array();
    if (checks == nullptr || checks->empty()) {
        add("warn", "cloud access: not checked yet (the daemon probes each service at start)");
    } else {
        for (const auto& c : *checks) {
            const auto result = field(c, "result");
            add(result == "ok"        ? "ok"
                : result == "refused" ? "FAIL"
                                      : "warn",
                fmt::format("cloud access {} ({}): {}", field(c, "service"), field(c, "action"),
                            field(c, "message")));
        }
    }
    const auto [level, text] = clock_line(at(status, "clock"));
    add(level, text);
    const auto& journal = at(status, "journal");
    const auto& ledger = at(status, "ledger");
    if (ledger.is_object()) {
        const auto role = field(ledger, "role");
        const auto where =
            fmt::format("ledger {} as node {}", field(ledger, "ledger"), field(ledger, "node"));
        if (role == "leader" && at(ledger, "writing").is_bool() &&
            !at(ledger, "writing").as_bool()) {
            add("FAIL",
                "ledger: leader of " + where +
                    ", but writes fail (mutations are refused): " + field(ledger, "write_error"));
        } else if (role == "leader") {
            add("ok", "ledger: leader of " + where + ", epoch " + field(ledger, "epoch"));
        } else if (role == "follower" && at(ledger, "stale").is_bool() &&
                   at(ledger, "stale").as_bool()) {
            add("warn", "ledger: follower of " + where +
                            ", STALE: the change stream is unreachable (answers may be old)");
        } else if (role == "follower") {
            add("ok", "ledger: follower of " + where + " (leader " + field(ledger, "leader") +
                          ", lag " + field(ledger, "lag_ms") + " ms)");
        } else {
            add("FAIL", "ledger: " + role + " in " + where + " (it lost the lease; restarting)");
        }
    } else if (at(journal, "enabled").is_bool() && !at(journal, "enabled").as_bool()) {
        add("warn", "journal: disabled (tasks are not kept across a restart)");
    } else if (at(journal, "durable").is_bool() && !at(journal, "durable").as_bool()) {
        add("FAIL", "journal: failed, mutations are refused: " + field(journal, "error"));
    } else if (at(journal, "healthy").is_bool() && !at(journal, "healthy").as_bool()) {
        add("warn", "journal: unhealthy: " + field(journal, "compaction_error"));
    } else {
        add("ok", "journal: healthy, " + field(journal, "path"));
    }
    return r;
}

}  // namespace taskpoller::ctl
