#include "daemon/credentials_refresh.hpp"

#include "config/environment.hpp"
#include "config/loader.hpp"

namespace taskpoller::daemon {

std::shared_ptr<const config::daemon_config> reread_credentials(
    const std::filesystem::path& config_path, const config::daemon_config& current,
    std::string_view why, const core::logger& log) {
    auto loaded = config::load_file(config_path, config::process_environment());
    if (!loaded.ok()) {
        log.error("credentials not re-read ({}): {} does not load: {}", why, config_path.string(),
                  loaded.errors.empty() ? std::string("?") : loaded.errors.front().to_string());
        return nullptr;
    }
    const auto& now = loaded.config->credentials;
    const auto& was = current.credentials;
    auto same = [](const config::secret_string& a, const config::secret_string& b) {
        return a.reveal_for_signing() == b.reveal_for_signing();
    };
    if (same(now.secret_id, was.secret_id) && same(now.secret_key, was.secret_key) &&
        same(now.token, was.token)) {
        log.warn(
            "credentials re-read ({}): unchanged in {}; calls refused for their token keep "
            "failing until whatever renews them writes new ones",
            why, now.source_detail);
        return nullptr;
    }
    auto updated = std::make_shared<config::daemon_config>(current);
    updated->credentials = now;
    log.info("credentials re-read ({}): new {} from {}; every call signs with them from now on",
             why,
             same(now.secret_id, was.secret_id) && same(now.secret_key, was.secret_key)
                 ? "token"
                 : "SecretId/SecretKey pair",
             now.source_detail);
    return updated;
}

}  // namespace taskpoller::daemon
