#pragma once
// Re-reading the credentials without a reload (docs/configuration.md "Temporary credentials"):
// when a credentials file changes or a call is answered AuthFailure.TokenFailure
// (config/credential_watch.hpp decides when), the configuration file is read again for its
// credentials only — nothing else in it is applied, that is what a reload is for.

#include <filesystem>
#include <memory>
#include <string_view>

#include "config/config.hpp"
#include "core/logger.hpp"

namespace taskpoller::daemon {

/// The configuration with the credentials as their sources hold them now, or nullptr when they
/// are unchanged or cannot be read (both logged, never a secret). `why`: what triggered it.
std::shared_ptr<const config::daemon_config> reread_credentials(
    const std::filesystem::path& config_path, const config::daemon_config& current,
    std::string_view why, const core::logger& log);

}  // namespace taskpoller::daemon
