#include "config/environment.hpp"

#include <cstdlib>

namespace taskpoller::config {

void map_environment::unset(std::string_view name) {
    if (auto it = vars_.find(name); it != vars_.end()) vars_.erase(it);
}

std::optional<std::string> map_environment::get(std::string_view name) const {
    if (auto it = vars_.find(name); it != vars_.end()) return it->second;
    return std::nullopt;
}

namespace {

class system_environment final : public environment {
  public:
    std::optional<std::string> get(std::string_view name) const override {
        const std::string key(name);
        // getenv is safe here: the daemon does not modify its environment after start-up.
        if (const char* v = std::getenv(key.c_str())) return std::string(v);
        return std::nullopt;
    }
};

}  // namespace

const environment& process_environment() {
    static const system_environment env;
    return env;
}

}  // namespace taskpoller::config
