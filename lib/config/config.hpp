#pragma once
// The daemon's configuration: plain structs, built once by the loader (loader.hpp), then shared
// read-only as shared_ptr<const daemon_config>. docs/configuration.md documents every key.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "config/secret.hpp"
#include "config/units.hpp"
#include "core/polling_defaults.hpp"

namespace taskpoller::config {

enum class signature_method { hmac_sha256, hmac_sha1 };
enum class credential_source { none, config_file, credentials_directory, environment };

struct credentials_config {
    secret_string secret_id;
    secret_string secret_key;
    /// API 3.0 temporary credentials (STS): the session token sent as X-TC-Token; empty: none.
    /// From the same source as the pair (`token`/`token_file`, $CREDENTIALS_DIRECTORY/token,
    /// TASKPOLLER_SECRET_TOKEN); rotated with the pair by a reload.
    secret_string token;
    signature_method signature = signature_method::hmac_sha256;
    /// Where the pair came from, and a description safe to log (paths, variable names; never
    /// a secret), e.g. "files /etc/taskpoller/secret_id, /etc/taskpoller/secret_key".
    credential_source source = credential_source::none;
    std::string source_detail;
    /// The files the secrets were read from (none for inline values and the environment): the
    /// daemon re-reads the credentials when one of them changes (config/credential_watch.hpp).
    std::vector<std::string> files{};
};

enum class url_scheme { https, http };
/// The Tencent Cloud API generation: 2.0 (`*.api.qcloud.com`) or 3.0 (`*.tencentcloudapi.com`).
enum class protocol_kind { v2, v3 };
/// Where API 3.0 calls go: `<svc>.tencentcloudapi.com`, `<svc>.<region>.tencentcloudapi.com`
/// or `<svc>.intl.tencentcloudapi.com`.
enum class endpoint_kind { nearest, regional, intl };
enum class http_method { post, get };

/// Connect to `address:port` instead of what DNS says for `host` (like curl --connect-to);
/// the Host header and the signature keep the real host name. An empty `host` matches every
/// host that has no rule of its own.
struct connect_to_rule {
    std::string host;
    std::string address;
    std::uint16_t port = 0;
};

struct cloud_config {
    std::string region;
    protocol_kind protocol = protocol_kind::v2;       ///< services.<name>.protocol overrides it
    endpoint_kind endpoint = endpoint_kind::nearest;  ///< API 3.0 only
    std::string host_suffix = "api.qcloud.com";
    url_scheme scheme = url_scheme::https;
    std::vector<connect_to_rule> connect_to;
    std::string ca_file;  ///< empty: the system trust store
    bool insecure_skip_verify = false;
    http_method method = http_method::post;
    duration connect_timeout = std::chrono::seconds(5);
    duration request_timeout = std::chrono::seconds(30);
    unsigned max_connections_per_host = 8;
};

enum class resolver_kind { task_result, instance_state };

/// Overrides for one action's completion rule and limits; unset fields inherit.
struct action_config {
    std::optional<double> rate_limit;          ///< requests per second
    std::optional<resolver_kind> resolver;     ///< default: the service's
    std::optional<std::string> result_action;  ///< task-result API, default: the service's
    std::optional<int> target_state;           ///< instance_state: the status that means done
    std::vector<int> transitional_states;      ///< instance_state: statuses seen on the way
    std::optional<duration> settle_delay;
    std::optional<duration> timeout;  ///< per-task deadline, default polling.timeout
};

struct service_config {
    bool builtin = false;                   ///< a service the engine has a profile for
    std::string host_prefix;                ///< host = host_prefix + "." + cloud.host_suffix
    std::optional<protocol_kind> protocol;  ///< default: cloud.protocol
    std::optional<std::string> version;     ///< API 3.0 X-TC-Version, e.g. "2017-03-12"
    std::optional<double> rate_limit;
    std::optional<resolver_kind> resolver;
    std::optional<std::string> result_action;
    std::map<std::string, action_config> actions;
};

enum class jitter_kind { full, none };

struct polling_config {
    duration initial_delay = core::polling_defaults::initial_delay;
    duration interval = core::polling_defaults::interval;
    double multiplier = core::polling_defaults::multiplier;
    duration max_interval = core::polling_defaults::max_interval;
    jitter_kind jitter = jitter_kind::full;
    duration timeout = core::polling_defaults::timeout;
    unsigned not_found_checks = core::polling_defaults::not_found_checks;
    duration settle_delay = core::polling_defaults::settle_delay;
    duration min_interval = core::polling_defaults::min_interval;  ///< floor of own settings
};

struct rate_limit_config {
    double default_rate = 20.0;  ///< the key `default`: requests per second per action
    double burst = 20.0;         ///< bucket size, in requests
};

struct control_config {
    std::string socket;  ///< default: $RUNTIME_DIRECTORY/taskpoller.sock
    unsigned mode = 0660;
    std::string group;  ///< empty: leave the socket's group alone
    std::vector<std::uint32_t> admin_uids;
    std::vector<std::string> admin_groups;
    /// Open connections at most; at the limit the longest-idle keep-alive one is closed.
    unsigned max_connections = 1024;
    /// Per non-admin uid; when the key is absent, a quarter of max_connections (at least 1).
    unsigned max_connections_per_uid = 256;
    unsigned admin_reserved_connections = 4;  ///< of max_connections, kept for admin peers
    unsigned max_waiters = 256;  ///< long-polls (`?wait=`) and event streams at once; beyond: 429
    std::uint64_t max_body = 1 << 20;
    duration header_timeout = std::chrono::seconds(5);  ///< request line + headers
    duration request_timeout = std::chrono::seconds(10);
    duration max_wait = std::chrono::minutes(10);
};

enum class durability_kind { strict, relaxed };

/// Where the state is kept: a local journal, or a PostgreSQL ledger shared by several daemons
/// (issue 19, docs/ha.md).
enum class store_backend { journal, postgres };

/// store.postgres: used only with `backend: postgres` (the loader reads and checks the keys
/// either way; with backend journal they are simply unused).
struct postgres_store_config {
    /// The file holding the libpq connection string (it may hold the password). The loader only
    /// checks the path's form; the daemon reads the file at start (ledger/pg_conninfo.hpp).
    std::string conninfo_file{};
    /// This daemon's name in the ledger and in status; unique per daemon. With backend postgres
    /// the loader fills in the host name when the key is absent; 1-63 of [A-Za-z0-9._-].
    std::string node{};
    /// The ledger (one per account) in the database, so several accounts can share one.
    std::string ledger = "default";
    duration lease_ttl = std::chrono::seconds(10);  ///< 1s-5min; margin ttl/10 + 250 ms
};

struct store_config {
    store_backend backend = store_backend::journal;
    postgres_store_config postgres{};
    duration retention = std::chrono::hours(24);
    std::uint64_t max_finished = 100'000;
    /// empty: memory only; default $STATE_DIRECTORY/taskpoller.journal; always empty with
    /// backend postgres (setting it then is an error).
    std::string journal;
    durability_kind durability = durability_kind::strict;
    std::uint64_t snapshot_size = 64ULL << 20;
};

enum class log_level { trace, debug, info, warn, error };
enum class log_format { text, json };

struct logging_config {
    log_level level = log_level::info;
    log_format format = log_format::text;
};

struct daemon_config {
    std::string source_name;  ///< the file it was loaded from (or the name given)
    credentials_config credentials;
    cloud_config cloud;
    std::map<std::string, service_config> services;
    polling_config polling;
    rate_limit_config rate_limit;
    control_config control;
    store_config store;
    logging_config logging;
};

/// The names the YAML file uses for these enumerators ("HmacSHA256", "https", "POST",
/// "task_result", "full", "strict", "info", "text", "config_file", ...).
std::string_view to_string(signature_method v) noexcept;
std::string_view to_string(credential_source v) noexcept;
std::string_view to_string(url_scheme v) noexcept;
std::string_view to_string(protocol_kind v) noexcept;
std::string_view to_string(endpoint_kind v) noexcept;
std::string_view to_string(http_method v) noexcept;
std::string_view to_string(resolver_kind v) noexcept;
std::string_view to_string(jitter_kind v) noexcept;
std::string_view to_string(durability_kind v) noexcept;
std::string_view to_string(store_backend v) noexcept;
std::string_view to_string(log_level v) noexcept;
std::string_view to_string(log_format v) noexcept;

}  // namespace taskpoller::config
