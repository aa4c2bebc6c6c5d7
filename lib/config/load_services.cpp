// The services section: per-service and per-action overrides of the engine's built-in profiles,
// and complete definitions for services the engine does not know.

#include <fmt/format.h>

#include <algorithm>
#include <cctype>

#include "config/sections.hpp"

namespace taskpoller::config::detail {
namespace {

using namespace std::chrono_literals;

bool is_service_name(std::string_view s) {
    if (s.empty() || !std::islower(static_cast<unsigned char>(s.front()))) return false;
    for (char c : s) {
        if (!std::islower(static_cast<unsigned char>(c)) &&
            !std::isdigit(static_cast<unsigned char>(c)) && c != '-') {
            return false;
        }
    }
    return true;
}

bool is_action_name(std::string_view s) {
    if (s.empty() || !std::isupper(static_cast<unsigned char>(s.front()))) return false;
    for (char c : s) {
        if (!std::isalnum(static_cast<unsigned char>(c))) return false;
    }
    return true;
}

void read_resolver(map_reader& m, std::optional<resolver_kind>& out) {
    resolver_kind r{};
    if (read_enum(m, "resolver", r,
                  {{"task_result", resolver_kind::task_result},
                   {"instance_state", resolver_kind::instance_state}})) {
        out = r;
    }
}

void read_result_action(map_reader& m, std::optional<std::string>& out) {
    if (std::string a; read_string(m, "result_action", a)) {
        if (is_action_name(a))
            out = a;
        else
            m.ctx().error(m.mark_of("result_action"), m.child("result_action"),
                          fmt::format("\"{}\" is not an API action name, such as "
                                      "DescribeLoadBalancersTaskResult",
                                      a));
    }
}

void read_optional_rate(map_reader& m, std::optional<double>& out) {
    if (double r = 0; read_double(m, "rate_limit", r, 0.0, 100'000.0, true)) out = r;
}

void read_transitional(map_reader& m, std::vector<int>& out) {
    auto node = m.get("transitional_state");
    if (!node) return;
    const auto path = m.child("transitional_state");
    if (node->IsSequence()) {
        for (std::size_t i = 0; i < node->size(); ++i) {
            if (auto v = int_value(m.ctx(), (*node)[i], fmt::format("{}[{}]", path, i), -1, 1000)) {
                out.push_back(static_cast<int>(*v));
            }
        }
    } else if (auto v = int_value(m.ctx(), *node, path, -1, 1000)) {
        out.push_back(static_cast<int>(*v));
    }
}

// Reads one action and checks that it ends up with a completion rule.
action_config read_action(map_reader& actions, const std::string& name, const YAML::Node& node,
                          const service_config& service, const builtin_service* builtin, bool v3) {
    map_reader m(actions.ctx(), node, actions.child(name), actions.key_mark(name));
    action_config a;
    read_optional_rate(m, a.rate_limit);
    if (builtin && !builtin->poll_action.empty() && name == builtin->poll_action) {
        // The poll API (e.g. cvm's DescribeInstances): it has no completion rule of its own;
        // only its rate can be set, and any other key is reported as unknown.
        m.finish();
        return a;
    }
    read_resolver(m, a.resolver);
    read_result_action(m, a.result_action);
    if (auto node = m.get("target_state")) {
        if (auto v = int_value(m.ctx(), *node, m.child("target_state"), -1, 1000)) {
            a.target_state = static_cast<int>(*v);
        }
    }
    read_transitional(m, a.transitional_states);
    if (duration d{}; read_duration(m, "settle_delay", d, 0ms, 1h)) a.settle_delay = d;
    if (duration d{}; read_duration(m, "timeout", d, 1s, 24h * 30)) a.timeout = d;
    m.finish();

    const auto resolver = a.resolver ? a.resolver : service.resolver;
    const bool instance_state = resolver == resolver_kind::instance_state;
    if (resolver && !instance_state && (m.get("target_state") || m.get("transitional_state"))) {
        const auto key = m.get("target_state") ? "target_state" : "transitional_state";
        m.ctx().error(m.key_mark(key), m.child(key), "applies only to the instance_state resolver");
    }
    // API 3.0 completion needs no per-action rule (LatestOperation*, task-result APIs).
    if (instance_state && !v3 && !m.get("target_state") &&
        !(builtin && builtin->actions.contains(name) && !a.resolver)) {
        std::string hint;
        if (builtin) {
            if (auto near = closest_match(name, builtin->actions)) {
                hint = fmt::format(" (did you mean \"{}\"?)", *near);
            }
        }
        actions.ctx().error(actions.key_mark(name), actions.child(name),
                            "no built-in completion rule for this action" + hint +
                                "; set target_state (and transitional_state)");
    }
    const bool builtin_result = builtin && !builtin->result_action.empty();
    if (resolver == resolver_kind::task_result && !a.result_action && !service.result_action &&
        !builtin_result) {
        actions.ctx().error(actions.key_mark(name), actions.child(name),
                            "the task_result resolver needs result_action (on the action or "
                            "its service)");
    }
    return a;
}

std::string builtin_names(const load_options& o) {
    std::string names;
    for (const auto& [name, _] : o.builtin_services) names += (names.empty() ? "" : ", ") + name;
    return names;
}

void read_service(map_reader& services, const std::string& name, const YAML::Node& node,
                  std::map<std::string, service_config>& out, protocol_kind default_protocol) {
    const auto& builtins = services.ctx().options.builtin_services;
    const auto it = builtins.find(name);
    const builtin_service* builtin = it == builtins.end() ? nullptr : &it->second;
    map_reader m(services.ctx(), node, services.child(name), services.key_mark(name));
    service_config s;
    s.builtin = builtin != nullptr;
    s.host_prefix = name;
    if (std::string prefix; read_string(m, "host_prefix", prefix)) {
        if (is_service_name(prefix))
            s.host_prefix = prefix;
        else
            m.ctx().error(m.mark_of("host_prefix"), m.child("host_prefix"),
                          fmt::format("\"{}\" is not a host name label", prefix));
    }
    if (protocol_kind p{};
        read_enum(m, "protocol", p, {{"v2", protocol_kind::v2}, {"v3", protocol_kind::v3}})) {
        s.protocol = p;
    }
    if (std::string v; read_string(m, "version", v)) {
        const bool date = v.size() == 10 && v[4] == '-' && v[7] == '-' &&
                          std::all_of(v.begin(), v.end(),
                                      [](char c) { return (c >= '0' && c <= '9') || c == '-'; });
        if (date)
            s.version = v;
        else
            m.ctx().error(m.mark_of("version"), m.child("version"),
                          fmt::format("\"{}\" is not an API 3.0 version such as 2017-03-12", v));
    }
    read_optional_rate(m, s.rate_limit);
    read_resolver(m, s.resolver);
    read_result_action(m, s.result_action);
    if (builtin && !s.resolver) s.resolver = builtin->resolver;
    if (!builtin && !s.resolver) {
        std::string hint;
        std::set<std::string, std::less<>> names;
        for (const auto& [n, _] : builtins) names.insert(n);
        if (auto near = closest_match(name, names))
            hint = fmt::format("did you mean \"{}\"? ", *near);
        m.ctx().error(services.key_mark(name), services.child(name),
                      fmt::format("unknown service; {}built-in services are {}; another service "
                                  "needs resolver (and result_action for task_result)",
                                  hint, builtin_names(services.ctx().options)));
    }
    auto actions = section(m, "actions");
    m.finish();
    for (auto& [action, value] : actions.take_all()) {
        if (!is_action_name(action)) {
            actions.ctx().error(actions.key_mark(action), actions.child(action),
                                "not an API action name (they look like StopInstances)");
            continue;
        }
        s.actions.emplace(action,
                          read_action(actions, action, value, s, builtin,
                                      s.protocol.value_or(default_protocol) == protocol_kind::v3));
    }
    actions.finish();
    out.emplace(name, std::move(s));
}

}  // namespace

void read_services(map_reader& root, std::map<std::string, service_config>& out,
                   protocol_kind default_protocol) {
    auto m = section(root, "services");
    for (auto& [name, node] : m.take_all()) {
        if (!is_service_name(name)) {
            m.ctx().error(
                m.key_mark(name), m.child(name),
                "not a service name (lower-case letters, digits and '-', like cvm or lb)");
            continue;
        }
        read_service(m, name, node, out, default_protocol);
    }
    m.finish();
}

}  // namespace taskpoller::config::detail
