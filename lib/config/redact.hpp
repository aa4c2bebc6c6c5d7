#pragma once
// Internal to the loader: no diagnostic (error, warning, info) may show a value from the
// credentials section or the credentials files, whatever path it took to reach the message (a
// YAML alias `*k` of the secret used in another key, the secret written as a key, ...).

#include <yaml-cpp/yaml.h>

#include <vector>

#include "config/config.hpp"
#include "config/loader.hpp"

namespace taskpoller::config::detail {

/// The values to hide: every scalar (at any depth) of the document's `credentials` section
/// except the names of its known keys and the values of secret_id_file, secret_key_file and
/// signature_method (unknown key names are hidden: they may be a secret), plus the secrets the
/// loader resolved (`c`: from files, the environment or inline).
std::vector<secret_string> sensitive_values(const YAML::Node& doc, const credentials_config& c);

/// Replaces each sensitive value in every diagnostic's path and message by "<redacted>".
void redact(std::vector<diagnostic>& diagnostics, const std::vector<secret_string>& values);

}  // namespace taskpoller::config::detail
