#include "daemon/reload_sequence.hpp"

#include <fmt/format.h>

#include "config/reload.hpp"

namespace taskpoller::daemon {

std::optional<std::string> reload_sequence::begin() {
    if (stopping_) return std::string("shutting down");
    if (running_) return std::string("a reload is already running");
    running_ = true;
    return std::nullopt;
}

reload_report reload_sequence::conclude(const config::daemon_config& running,
                                        const config::daemon_config* loaded,
                                        std::vector<std::string> errors) {
    running_ = false;
    reload_report r;
    r.errors = std::move(errors);
    if (loaded == nullptr || !r.errors.empty()) return r;
    r.restart_required = config::diff_requires_restart(running, *loaded);
    r.applied = true;
    return r;
}

std::vector<std::pair<core::log_level, std::string>> reload_sequence::log_lines(
    const reload_report& r, std::string_view path) {
    std::vector<std::pair<core::log_level, std::string>> out;
    if (r.applied) {
        out.emplace_back(core::log_level::info,
                         fmt::format("configuration reloaded from {}", path));
        for (const auto& k : r.restart_required) {
            out.emplace_back(core::log_level::warn,
                             fmt::format("reload: {} changed; it takes effect after a restart", k));
        }
        return out;
    }
    out.emplace_back(core::log_level::error,
                     "reload refused, the previous configuration stays in force:");
    for (const auto& e : r.errors) out.emplace_back(core::log_level::error, "  " + e);
    return out;
}

}  // namespace taskpoller::daemon
