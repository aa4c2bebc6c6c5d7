#include "config/json.hpp"

#include <boost/json.hpp>

namespace taskpoller::config {
namespace {

namespace json = boost::json;

json::value redacted(const secret_string& s) {
    if (s.empty()) return nullptr;
    return "<redacted>";
}

json::string str(std::string_view s) {
    return json::string(s);
}
json::string dur(duration d) {
    return json::string(format_duration(d));
}

template <class T>
json::value opt(const std::optional<T>& v) {
    if (!v) return nullptr;
    return json::value_from(*v);
}

json::value optional_duration(const std::optional<duration>& v) {
    if (!v) return nullptr;
    return dur(*v);
}

json::object credentials_json(const credentials_config& c) {
    return {{"secret_id", redacted(c.secret_id)},
            {"secret_key", redacted(c.secret_key)},
            {"token", c.token.empty() ? json::value(nullptr) : redacted(c.token)},
            {"signature_method", str(to_string(c.signature))},
            {"source", str(to_string(c.source))},
            {"source_detail", str(c.source_detail)}};
}

json::object cloud_json(const cloud_config& c) {
    json::object connect_to;
    for (const auto& r : c.connect_to) {
        const bool v6 = r.address.find(':') != std::string::npos;
        connect_to[r.host.empty() ? "*" : r.host] =
            v6 ? "[" + r.address + "]:" + std::to_string(r.port)
               : r.address + ":" + std::to_string(r.port);
    }
    return {{"region", str(c.region)},
            {"protocol", str(to_string(c.protocol))},
            {"endpoint", str(to_string(c.endpoint))},
            {"host_suffix", str(c.host_suffix)},
            {"scheme", str(to_string(c.scheme))},
            {"connect_to", std::move(connect_to)},
            {"ca_file", str(c.ca_file)},
            {"insecure_skip_verify", c.insecure_skip_verify},
            {"method", str(to_string(c.method))},
            {"connect_timeout", dur(c.connect_timeout)},
            {"request_timeout", dur(c.request_timeout)},
            {"max_connections_per_host", c.max_connections_per_host}};
}

json::value resolver_json(const std::optional<resolver_kind>& r) {
    if (!r) return nullptr;
    return str(to_string(*r));
}

json::object action_json(const action_config& a) {
    json::array transitional;
    for (int s : a.transitional_states) transitional.push_back(s);
    return {{"rate_limit", opt(a.rate_limit)},
            {"resolver", resolver_json(a.resolver)},
            {"result_action", opt(a.result_action)},
            {"target_state", opt(a.target_state)},
            {"transitional_state", std::move(transitional)},
            {"settle_delay", optional_duration(a.settle_delay)},
            {"timeout", optional_duration(a.timeout)}};
}

json::object services_json(const std::map<std::string, service_config>& services) {
    json::object out;
    for (const auto& [name, s] : services) {
        json::object actions;
        for (const auto& [action, a] : s.actions) actions[action] = action_json(a);
        out[name] = json::object{{"builtin", s.builtin},
                                 {"protocol", s.protocol ? json::value(str(to_string(*s.protocol)))
                                                         : json::value(nullptr)},
                                 {"version", opt(s.version)},
                                 {"host_prefix", str(s.host_prefix)},
                                 {"rate_limit", opt(s.rate_limit)},
                                 {"resolver", resolver_json(s.resolver)},
                                 {"result_action", opt(s.result_action)},
                                 {"actions", std::move(actions)}};
    }
    return out;
}

json::object control_json(const control_config& c) {
    json::array uids, groups;
    for (auto u : c.admin_uids) uids.push_back(u);
    for (const auto& g : c.admin_groups) groups.push_back(str(g));
    return {{"socket", str(c.socket)},
            {"mode", str(format_file_mode(c.mode))},
            {"group", str(c.group)},
            {"admin_uids", std::move(uids)},
            {"admin_groups", std::move(groups)},
            {"max_connections", c.max_connections},
            {"max_connections_per_uid", c.max_connections_per_uid},
            {"admin_reserved_connections", c.admin_reserved_connections},
            {"max_waiters", c.max_waiters},
            {"max_body", str(format_size(c.max_body))},
            {"header_timeout", dur(c.header_timeout)},
            {"request_timeout", dur(c.request_timeout)},
            {"max_wait", dur(c.max_wait)}};
}

// The conninfo file's path, never its content (it may hold the password). Null with backend
// journal: the section is not in use.
json::value postgres_json(const store_config& s) {
    if (s.backend != store_backend::postgres) return nullptr;
    const auto& p = s.postgres;
    return json::object{{"conninfo_file", str(p.conninfo_file)},
                        {"node", str(p.node)},
                        {"ledger", str(p.ledger)},
                        {"lease_ttl", dur(p.lease_ttl)}};
}

}  // namespace

json::value to_json(const daemon_config& c) {
    const auto& p = c.polling;
    const auto& s = c.store;
    return json::object{
        {"credentials", credentials_json(c.credentials)},
        {"cloud", cloud_json(c.cloud)},
        {"services", services_json(c.services)},
        {"polling",
         {{"initial_delay", dur(p.initial_delay)},
          {"interval", dur(p.interval)},
          {"multiplier", p.multiplier},
          {"max_interval", dur(p.max_interval)},
          {"jitter", str(to_string(p.jitter))},
          {"timeout", dur(p.timeout)},
          {"not_found_checks", p.not_found_checks},
          {"settle_delay", dur(p.settle_delay)},
          {"min_interval", dur(p.min_interval)}}},
        {"rate_limit", {{"default", c.rate_limit.default_rate}, {"burst", c.rate_limit.burst}}},
        {"control", control_json(c.control)},
        {"store",
         {{"backend", str(to_string(s.backend))},
          {"postgres", postgres_json(s)},
          {"retention", dur(s.retention)},
          {"max_finished", s.max_finished},
          {"journal", str(s.journal)},
          {"durability", str(to_string(s.durability))},
          {"snapshot_size", str(format_size(s.snapshot_size))}}},
        {"logging",
         {{"level", str(to_string(c.logging.level))},
          {"format", str(to_string(c.logging.format))}}},
    };
}

}  // namespace taskpoller::config
