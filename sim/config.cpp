#include "sim/config.hpp"

#include <yaml-cpp/yaml.h>

#include <charconv>
#include <fstream>
#include <functional>
#include <set>
#include <sstream>
#include <stdexcept>

namespace taskpoller::sim {

namespace {

constexpr std::array<const char*, fault_kind_count> fault_names{
    "latency",        "http_500",       "http_502",  "http_503",  "close_before", "close_after",
    "truncated_json", "malformed_json", "code_6000", "code_6200", "slow_drip"};

class reader {
  public:
    explicit reader(std::string origin) : origin_(std::move(origin)) {}

    [[noreturn]] void fail(const YAML::Node& n, const std::string& path,
                           const std::string& msg) const {
        auto m = n.Mark();
        throw std::runtime_error(origin_ + ":" + std::to_string(m.line + 1) + ":" +
                                 std::to_string(m.column + 1) + ": " + path + ": " + msg);
    }

    void expect_map(const YAML::Node& n, const std::string& path,
                    std::set<std::string> allowed = {}) const {
        if (!n.IsMap()) fail(n, path, "expected a mapping");
        if (allowed.empty()) return;
        for (const auto& kv : n) {
            auto key = kv.first.as<std::string>();
            if (!allowed.contains(key)) fail(kv.first, join(path, key), "unknown key");
        }
    }

    template <class T>
    T scalar(const YAML::Node& n, const std::string& path, const char* what) const {
        if (!n.IsScalar()) fail(n, path, std::string("expected ") + what);
        try {
            return n.as<T>();
        } catch (const YAML::Exception&) {
            fail(n, path, std::string("expected ") + what);
        }
    }

    millis duration(const YAML::Node& n, const std::string& path) const {
        auto d = parse_duration(scalar<std::string>(n, path, "a duration like 500ms or 2s"));
        if (!d) fail(n, path, "expected a duration like 500ms, 2s, 5m or 1h");
        return *d;
    }

    double probability(const YAML::Node& n, const std::string& path) const {
        auto p = scalar<double>(n, path, "a probability");
        if (!(p >= 0.0 && p <= 1.0)) fail(n, path, "probability must be within [0, 1]");
        return p;
    }

    double non_negative(const YAML::Node& n, const std::string& path) const {
        auto v = scalar<double>(n, path, "a number");
        if (!(v >= 0.0)) fail(n, path, "must be >= 0");
        return v;
    }

    static std::string join(const std::string& a, const std::string& b) {
        return a.empty() ? b : a + "." + b;
    }

  private:
    std::string origin_;
};

duration_dist read_dist(const reader& r, const YAML::Node& n, const std::string& path) {
    if (n.IsScalar()) {
        auto d = r.duration(n, path);
        return {d, d};
    }
    r.expect_map(n, path, {"min", "max"});
    if (!n["min"] || !n["max"]) r.fail(n, path, "needs both min and max");
    duration_dist d{r.duration(n["min"], path + ".min"), r.duration(n["max"], path + ".max")};
    if (d.max < d.min) r.fail(n, path, "max is below min");
    return d;
}

operation_config read_operation(const reader& r, const YAML::Node& n, const std::string& path,
                                operation_config base) {
    r.expect_map(n, path, {"duration", "failure_probability"});
    if (n["duration"]) base.duration = read_dist(r, n["duration"], path + ".duration");
    if (n["failure_probability"])
        base.failure_probability =
            r.probability(n["failure_probability"], path + ".failure_probability");
    return base;
}

std::map<fault_kind, double> read_fault_map(const reader& r, const YAML::Node& n,
                                            const std::string& path) {
    r.expect_map(n, path);
    std::map<fault_kind, double> out;
    for (const auto& kv : n) {
        auto name = kv.first.as<std::string>();
        auto kind = fault_kind_from_string(name);
        if (!kind) r.fail(kv.first, reader::join(path, name), "unknown fault kind");
        out[*kind] = r.probability(kv.second, reader::join(path, name));
    }
    return out;
}

void read_faults(const reader& r, const YAML::Node& n, fault_config& f) {
    r.expect_map(n, "faults",
                 {"global", "actions", "latency_delay", "drip_interval", "drip_chunk"});
    if (n["global"])
        for (auto [k, p] : read_fault_map(r, n["global"], "faults.global"))
            f.global[static_cast<std::size_t>(k)] = p;
    if (n["actions"]) {
        r.expect_map(n["actions"], "faults.actions");
        for (const auto& kv : n["actions"]) {
            auto action = kv.first.as<std::string>();
            f.per_action[action] = read_fault_map(r, kv.second, "faults.actions." + action);
        }
    }
    if (n["latency_delay"])
        f.latency_delay = r.duration(n["latency_delay"], "faults.latency_delay");
    if (n["drip_interval"])
        f.drip_interval = r.duration(n["drip_interval"], "faults.drip_interval");
    if (n["drip_chunk"]) {
        auto c = r.scalar<long>(n["drip_chunk"], "faults.drip_chunk", "an integer");
        if (c < 1) r.fail(n["drip_chunk"], "faults.drip_chunk", "must be >= 1");
        f.drip_chunk = static_cast<std::size_t>(c);
    }
}

void read_rate_limits(const reader& r, const YAML::Node& n, rate_limit_config& rl) {
    r.expect_map(n, "rate_limits", {"enabled", "default", "actions", "v3"});
    if (n["enabled"]) rl.enabled = r.scalar<bool>(n["enabled"], "rate_limits.enabled", "a boolean");
    if (n["default"]) rl.default_rate = r.non_negative(n["default"], "rate_limits.default");
    if (n["actions"]) {
        r.expect_map(n["actions"], "rate_limits.actions");
        for (const auto& kv : n["actions"]) {
            auto action = kv.first.as<std::string>();
            rl.per_action[action] = r.non_negative(kv.second, "rate_limits.actions." + action);
        }
    }
    if (n["v3"]) {
        const auto& v = n["v3"];
        r.expect_map(v, "rate_limits.v3", {"default", "actions"});
        if (v["default"])
            rl.v3.default_rate = r.non_negative(v["default"], "rate_limits.v3.default");
        if (v["actions"]) {
            r.expect_map(v["actions"], "rate_limits.v3.actions");
            for (const auto& kv : v["actions"]) {
                auto action = kv.first.as<std::string>();
                rl.v3.per_action[action] =
                    r.non_negative(kv.second, "rate_limits.v3.actions." + action);
            }
        }
    }
}

void read_accounts(const reader& r, const YAML::Node& n, std::vector<account>& out) {
    if (!n.IsSequence() || n.size() == 0) r.fail(n, "accounts", "expected a non-empty list");
    out.clear();
    for (std::size_t i = 0; i < n.size(); ++i) {
        auto path = "accounts." + std::to_string(i);
        r.expect_map(n[i], path, {"secret_id", "secret_key", "token"});
        if (!n[i]["secret_id"] || !n[i]["secret_key"])
            r.fail(n[i], path, "needs secret_id and secret_key");
        out.push_back(
            {r.scalar<std::string>(n[i]["secret_id"], path + ".secret_id", "a string"),
             r.scalar<std::string>(n[i]["secret_key"], path + ".secret_key", "a string")});
        if (n[i]["token"])
            out.back().token = r.scalar<std::string>(n[i]["token"], path + ".token", "a string");
        if (out.back().secret_id.empty() || out.back().secret_key.empty())
            r.fail(n[i], path, "secret_id and secret_key must not be empty");
    }
}

void read_instances(const reader& r, const YAML::Node& n, instance_config& ic) {
    r.expect_map(n, "instances", {"running", "stopped"});
    auto count = [&](const char* key, int& out) {
        if (!n[key]) return;
        auto v = r.scalar<long>(n[key], std::string("instances.") + key, "an integer");
        if (v < 0 || v > 1000000) r.fail(n[key], std::string("instances.") + key, "out of range");
        out = static_cast<int>(v);
    };
    count("running", ic.running);
    count("stopped", ic.stopped);
}

void read_disks(const reader& r, const YAML::Node& n, disk_config& dc) {
    r.expect_map(n, "disks", {"unattached", "attached"});
    auto count = [&](const char* key, int& out) {
        if (!n[key]) return;
        auto v = r.scalar<long>(n[key], std::string("disks.") + key, "an integer");
        if (v < 0 || v > 1000000) r.fail(n[key], std::string("disks.") + key, "out of range");
        out = static_cast<int>(v);
    };
    count("unattached", dc.unattached);
    count("attached", dc.attached);
}

void read_root(const reader& r, const YAML::Node& root, config& c) {
    r.expect_map(
        root, "",
        {"host_suffix", "accounts", "tls_only", "replay_check", "timestamp_window", "clock_offset",
         "instances", "disks", "stale_window", "operations", "rate_limits", "faults", "seed"});
    if (root["host_suffix"])
        c.host_suffix = r.scalar<std::string>(root["host_suffix"], "host_suffix", "a string");
    if (root["accounts"]) read_accounts(r, root["accounts"], c.accounts);
    if (root["tls_only"]) c.tls_only = r.scalar<bool>(root["tls_only"], "tls_only", "a boolean");
    if (root["replay_check"])
        c.replay_check = r.scalar<bool>(root["replay_check"], "replay_check", "a boolean");
    if (root["timestamp_window"])
        c.timestamp_window = std::chrono::duration_cast<std::chrono::seconds>(
            r.duration(root["timestamp_window"], "timestamp_window"));
    if (root["clock_offset"]) {
        // A duration with an optional sign: "-10m", "+30s", "0".
        auto text = r.scalar<std::string>(root["clock_offset"], "clock_offset", "a duration");
        const bool negative = text.starts_with('-');
        if (negative || text.starts_with('+')) text.erase(0, 1);
        auto d = parse_duration(text);
        if (!d)
            r.fail(root["clock_offset"], "clock_offset", "expected a duration like -10m or 30s");
        if (*d > std::chrono::hours(24 * 365))
            r.fail(root["clock_offset"], "clock_offset", "more than a year off");
        c.clock_offset = negative ? -*d : *d;
    }
    if (root["instances"]) read_instances(r, root["instances"], c.instances);
    if (root["disks"]) {
        read_disks(r, root["disks"], c.disks);
        auto instances = static_cast<long>(c.instances.running) + c.instances.stopped;
        if (c.disks.attached > instances * max_disks_per_instance)
            r.fail(root["disks"]["attached"] ? root["disks"]["attached"] : root["disks"],
                   "disks.attached",
                   "more than " + std::to_string(max_disks_per_instance) +
                       " disks per instance (instances.running + instances.stopped = " +
                       std::to_string(instances) + ")");
    }
    if (root["stale_window"]) c.stale_window = r.duration(root["stale_window"], "stale_window");
    if (root["operations"]) {
        const auto& ops = root["operations"];
        r.expect_map(ops, "operations");
        if (ops["default"])
            c.default_operation = read_operation(r, ops["default"], "operations.default", {});
        for (const auto& kv : ops) {
            auto action = kv.first.as<std::string>();
            if (action == "default") continue;
            c.operations[action] =
                read_operation(r, kv.second, "operations." + action, c.default_operation);
        }
    }
    if (root["rate_limits"]) read_rate_limits(r, root["rate_limits"], c.rate_limits);
    if (root["faults"]) read_faults(r, root["faults"], c.faults);
    if (root["seed"]) c.seed = r.scalar<std::uint64_t>(root["seed"], "seed", "an integer");
}

}  // namespace

const char* to_string(fault_kind k) noexcept {
    return fault_names[static_cast<std::size_t>(k)];
}

std::optional<fault_kind> fault_kind_from_string(const std::string& name) noexcept {
    for (std::size_t i = 0; i < fault_kind_count; ++i)
        if (name == fault_names[i]) return static_cast<fault_kind>(i);
    return std::nullopt;
}

const operation_config& config::operation(const std::string& action) const {
    auto it = operations.find(action);
    return it == operations.end() ? default_operation : it->second;
}

double config::rate_for(const std::string& action) const {
    if (!rate_limits.enabled) return 0.0;
    auto it = rate_limits.per_action.find(action);
    return it == rate_limits.per_action.end() ? rate_limits.default_rate : it->second;
}

double config::rate_for_v3(const std::string& action) const {
    if (!rate_limits.enabled) return 0.0;
    auto it = rate_limits.v3.per_action.find(action);
    return it == rate_limits.v3.per_action.end() ? rate_limits.v3.default_rate : it->second;
}

std::optional<millis> parse_duration(const std::string& text) {
    double value = 0;
    const char* end = text.data() + text.size();
    auto [p, ec] = std::from_chars(text.data(), end, value);
    if (ec != std::errc() || p == text.data() || value < 0) return std::nullopt;
    std::string unit(p, end);
    double ms = 0;
    if (unit == "ms")
        ms = value;
    else if (unit == "s" || unit.empty())
        ms = value * 1000;
    else if (unit == "m")
        ms = value * 60000;
    else if (unit == "h")
        ms = value * 3600000;
    else
        return std::nullopt;
    if (ms > 1e12) return std::nullopt;
    return millis(static_cast<std::int64_t>(ms));
}

config parse_config(const std::string& yaml_text, const std::string& origin) {
    reader r(origin);
    YAML::Node root;
    try {
        root = YAML::Load(yaml_text);
    } catch (const YAML::Exception& e) {
        throw std::runtime_error(origin + ":" + std::to_string(e.mark.line + 1) + ":" +
                                 std::to_string(e.mark.column + 1) + ": " + e.msg);
    }
    config c;
    if (root.IsNull()) return c;
    try {
        read_root(r, root, c);
    } catch (const YAML::Exception& e) {
        throw std::runtime_error(origin + ":" + std::to_string(e.mark.line + 1) + ":" +
                                 std::to_string(e.mark.column + 1) + ": " + e.msg);
    }
    return c;
}

config load_config(const std::string& path) {
    std::ifstream in(path);
    if (!in) throw std::runtime_error(path + ": cannot open the configuration file");
    std::stringstream ss;
    ss << in.rdbuf();
    return parse_config(ss.str(), path);
}

}  // namespace taskpoller::sim
