#pragma once
// Internal to the loader: one reader per top-level section. Each claims its keys, fills `out`
// with what is valid, leaves defaults for what is absent, and reports everything else.

#include <optional>

#include "config/yaml_reader.hpp"

namespace taskpoller::config::detail {

/// `file_mode`: the configuration file's permission bits, when it is a file (inline secrets in
/// a group- or world-readable file get a critical warning).
void read_credentials(map_reader& root, credentials_config& out, std::optional<unsigned> file_mode);
void read_cloud(map_reader& root, cloud_config& out);
void read_services(map_reader& root, std::map<std::string, service_config>& out,
                   protocol_kind default_protocol);
void read_polling(map_reader& root, polling_config& out);
void read_rate_limit(map_reader& root, rate_limit_config& out);
void read_control(map_reader& root, control_config& out);
void read_store(map_reader& root, store_config& out);
void read_logging(map_reader& root, logging_config& out);

/// The sub-mapping under `key` of `parent` (empty when absent).
map_reader section(map_reader& parent, std::string_view key, bool hide_unknown_names = false);

/// The first directory of a systemd directory variable ($RUNTIME_DIRECTORY may list several,
/// colon-separated), or nullopt when unset, empty or not absolute.
std::optional<std::string> systemd_directory(const environment& env, std::string_view name);

}  // namespace taskpoller::config::detail
