#include "config/reload.hpp"

#include <functional>
#include <set>

namespace taskpoller::config {
namespace {

// One restart-only setting: its key path, how to compare it, and how to carry it over.
struct restart_setting {
    const char* path;
    std::function<bool(const daemon_config&, const daemon_config&)> same;
    std::function<void(const daemon_config&, daemon_config&)> keep;
};

template <class Member>
restart_setting setting(const char* path, Member member) {
    return {path,
            [member](const daemon_config& a, const daemon_config& b) {
                return std::invoke(member, a) == std::invoke(member, b);
            },
            [member](const daemon_config& from, daemon_config& to) {
                std::invoke(member, to) = std::invoke(member, from);
            }};
}

const std::vector<restart_setting>& table() {
    static const std::vector<restart_setting> settings{
        setting(
            "cloud.protocol", [](auto& c) -> auto& { return c.cloud.protocol; }),
        setting(
            "cloud.ca_file", [](auto& c) -> auto& { return c.cloud.ca_file; }),
        setting(
            "cloud.insecure_skip_verify",
            [](auto& c) -> auto& { return c.cloud.insecure_skip_verify; }),
        setting(
            "cloud.max_connections_per_host",
            [](auto& c) -> auto& { return c.cloud.max_connections_per_host; }),
        setting(
            "control.socket", [](auto& c) -> auto& { return c.control.socket; }),
        setting(
            "control.mode", [](auto& c) -> auto& { return c.control.mode; }),
        setting(
            "control.group", [](auto& c) -> auto& { return c.control.group; }),
        setting(
            "control.max_waiters", [](auto& c) -> auto& { return c.control.max_waiters; }),
        setting(
            "store.backend", [](auto& c) -> auto& { return c.store.backend; }),
        setting(
            "store.postgres.conninfo_file",
            [](auto& c) -> auto& { return c.store.postgres.conninfo_file; }),
        setting(
            "store.postgres.node", [](auto& c) -> auto& { return c.store.postgres.node; }),
        setting(
            "store.postgres.ledger", [](auto& c) -> auto& { return c.store.postgres.ledger; }),
        setting(
            "store.postgres.lease_ttl",
            [](auto& c) -> auto& { return c.store.postgres.lease_ttl; }),
        setting(
            "store.journal", [](auto& c) -> auto& { return c.store.journal; }),
        setting(
            "store.durability", [](auto& c) -> auto& { return c.store.durability; }),
        setting(
            "store.snapshot_size", [](auto& c) -> auto& { return c.store.snapshot_size; }),
    };
    return settings;
}

}  // namespace

const std::vector<std::string>& restart_settings() {
    static const std::vector<std::string> paths = [] {
        std::vector<std::string> out;
        for (const auto& s : table()) out.emplace_back(s.path);
        return out;
    }();
    return paths;
}

std::vector<std::string> diff_requires_restart(const daemon_config& old_config,
                                               const daemon_config& new_config) {
    std::vector<std::string> changed;
    for (const auto& s : table()) {
        if (!s.same(old_config, new_config)) changed.emplace_back(s.path);
    }
    // A service's protocol: its tracked tasks keep the completion rules of the protocol they were
    // submitted with, so a switch waits for a restart.
    auto protocol_of = [](const daemon_config& c, const std::string& name) {
        auto it = c.services.find(name);
        return it == c.services.end() || !it->second.protocol ? c.cloud.protocol
                                                              : *it->second.protocol;
    };
    std::set<std::string> names;
    for (const auto& [n, _] : old_config.services) names.insert(n);
    for (const auto& [n, _] : new_config.services) names.insert(n);
    for (const auto& n : names) {
        if (protocol_of(old_config, n) != protocol_of(new_config, n) &&
            old_config.cloud.protocol == new_config.cloud.protocol)
            changed.push_back("services." + n + ".protocol");
    }
    return changed;
}

daemon_config apply_reloadable(const daemon_config& old_config, const daemon_config& new_config) {
    daemon_config out = new_config;
    for (const auto& s : table()) s.keep(old_config, out);
    for (auto& [name, svc] : out.services) {  // the protocol each service started with
        auto it = old_config.services.find(name);
        svc.protocol = it == old_config.services.end() ? std::nullopt : it->second.protocol;
    }
    return out;
}

}  // namespace taskpoller::config
