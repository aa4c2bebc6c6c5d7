#pragma once
// The effective configuration as JSON, for `GET /v1/config` and `--check-config` output.

#include <boost/json/value.hpp>

#include "config/config.hpp"

namespace taskpoller::config {

/// Every section with every effective value (defaults included), keyed as in the YAML file.
/// Durations and sizes are strings in the file's syntax ("1m30s", "8MiB"). Secrets are never
/// included: `credentials.secret_id` and `credentials.secret_key` read "<redacted>" (or null
/// when absent), and `credentials.source`/`source_detail` say where they came from.
boost::json::value to_json(const daemon_config& config);

}  // namespace taskpoller::config
