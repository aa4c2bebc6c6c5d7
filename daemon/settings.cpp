#include "daemon/settings.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include "control/access.hpp"

namespace taskpoller::daemon {
namespace {

std::chrono::milliseconds ms(config::duration d) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(d);
}

engine::action_override action_override_of(const config::action_config& a) {
    engine::action_override o;
    o.rate_limit = a.rate_limit;
    o.target = a.target_state;
    if (!a.transitional_states.empty()) o.transitional = a.transitional_states.front();
    if (a.settle_delay) o.settle_delay = ms(*a.settle_delay);
    return o;
}

engine::service_override service_override_of(const std::string& name,
                                             const config::service_config& s) {
    engine::service_override o;
    o.name = name;
    if (s.protocol)
        o.proto =
            *s.protocol == config::protocol_kind::v3 ? engine::protocol::v3 : engine::protocol::v2;
    if (!s.host_prefix.empty()) o.host_prefix = s.host_prefix;
    o.version = s.version;
    o.result_action = s.result_action;
    o.rate_limit = s.rate_limit;
    for (const auto& [action, a] : s.actions) {
        if (a.result_action) o.result_action = a.result_action;
        o.actions[action] = action_override_of(a);
    }
    return o;
}

}  // namespace

http::client_options http_options(const config::daemon_config& c) {
    http::client_options o;
    o.connect_timeout = ms(c.cloud.connect_timeout);
    o.request_timeout = ms(c.cloud.request_timeout);
    o.max_connections_per_host = c.cloud.max_connections_per_host;
    o.ca_file = c.cloud.ca_file;
    o.verify_peer = !c.cloud.insecure_skip_verify;
    for (const auto& rule : c.cloud.connect_to) {
        std::string key = rule.host.empty() ? "*" : rule.host;
        o.connect_to[key] =
            rule.port == 0 ? rule.address : fmt::format("{}:{}", rule.address, rule.port);
    }
    return o;
}

core::result<engine::tracker_config> tracker_settings(const config::daemon_config& c) {
    engine::tracker_config t{
        engine::registry(c.cloud.host_suffix, c.cloud.protocol == config::protocol_kind::v3
                                                  ? engine::protocol::v3
                                                  : engine::protocol::v2),
        {},
        {},
        {},
        {},
        {}};
    switch (c.cloud.endpoint) {
        case config::endpoint_kind::nearest:
            t.services.set_v3_endpoint_style(engine::v3_endpoint::nearest);
            break;
        case config::endpoint_kind::regional:
            t.services.set_v3_endpoint_style(engine::v3_endpoint::regional);
            break;
        case config::endpoint_kind::intl:
            t.services.set_v3_endpoint_style(engine::v3_endpoint::intl);
            break;
    }
    if (auto r = t.services.set_settle_delay(ms(c.polling.settle_delay)); !r) return r.error();
    for (const auto& [name, s] : c.services) {
        if (auto r = t.services.apply(service_override_of(name, s)); !r) {
            return core::error{fmt::format("services.{}: {}", name, r.error().message)};
        }
    }
    t.limits.default_rate = c.rate_limit.default_rate;
    t.limits.burst_seconds = c.rate_limit.burst / c.rate_limit.default_rate;
    t.api.https = c.cloud.scheme == config::url_scheme::https;
    t.api.method = c.cloud.method == config::http_method::post ? qcloud::http_method::post
                                                               : qcloud::http_method::get;
    t.api.signature = c.credentials.signature == config::signature_method::hmac_sha1
                          ? qcloud::signature_method::hmac_sha1
                          : qcloud::signature_method::hmac_sha256;
    t.api.timeout = ms(c.cloud.request_timeout);
    t.default_region = c.cloud.region;
    auto& poll = t.polling.schedule.poll;
    poll.initial_delay = c.polling.initial_delay;
    poll.interval = c.polling.interval;
    poll.multiplier = c.polling.multiplier;
    poll.max_interval = c.polling.max_interval;
    poll.jitter = c.polling.jitter == config::jitter_kind::full ? engine::jitter_mode::full
                                                                : engine::jitter_mode::none;
    poll.timeout = c.polling.timeout;
    t.polling.schedule.min_own_interval = c.polling.min_interval;
    t.polling.retry.not_found_checks = c.polling.not_found_checks;
    t.polling.cvm.not_found_checks = c.polling.not_found_checks;
    t.polling.default_rate = c.rate_limit.default_rate;
    t.polling.max_inflight = std::max<std::size_t>(8, 8 * c.cloud.max_connections_per_host);
    return t;
}

store::store_options store_settings(const config::daemon_config& c) {
    store::store_options o;
    o.retention.ttl = std::chrono::duration_cast<std::chrono::seconds>(c.store.retention);
    o.retention.max_finished_tasks = c.store.max_finished;
    o.retention.max_finished_batches = c.store.max_finished;
    return o;
}

store::journal_options journal_settings(const config::daemon_config& c, bool recover) {
    store::journal_options o;
    o.mode = c.store.durability == config::durability_kind::relaxed ? store::durability::relaxed
                                                                    : store::durability::strict;
    o.compact_at_bytes = c.store.snapshot_size;
    o.recover = recover;
    return o;
}

log_options log_settings(const config::daemon_config& c) {
    log_options o;
    o.level = static_cast<core::log_level>(static_cast<int>(c.logging.level));
    o.format = c.logging.format == config::log_format::json ? log_format::json : log_format::text;
    return o;
}

qcloud::credentials credentials_of(const config::daemon_config& c) {
    return qcloud::credentials(std::string(c.credentials.secret_id.reveal_for_signing()),
                               std::string(c.credentials.secret_key.reveal_for_signing()),
                               std::string(c.credentials.token.reveal_for_signing()));
}

core::result<control::server_options> server_settings(const config::daemon_config& c,
                                                      int listen_fd) {
    control::server_options o;
    o.socket_path = c.control.socket;
    o.listen_fd = listen_fd;
    o.socket_mode = c.control.mode;
    o.socket_group = c.control.group;
    o.max_connections = c.control.max_connections;
    o.max_connections_per_uid = c.control.max_connections_per_uid;
    o.admin_reserved_connections = c.control.admin_reserved_connections;
    o.max_waiters = c.control.max_waiters;
    o.body_limit = c.control.max_body;
    o.header_timeout = ms(c.control.header_timeout);
    o.request_timeout = ms(c.control.request_timeout);
    o.access.daemon_uid = ::geteuid();
    for (auto uid : c.control.admin_uids) o.access.admin_uids.push_back(uid);
    for (const auto& g : c.control.admin_groups) {
        auto gid = control::resolve_group(g);
        if (!gid) return core::error{fmt::format("control.admin_groups: {}", gid.error().message)};
        o.access.admin_gids.push_back(*gid);
    }
    return o;
}

}  // namespace taskpoller::daemon
