#pragma once
// The process environment as the configuration loader sees it, injected so tests control it.

#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace taskpoller::config {

/// Read-only view of environment variables. The loader reads $CREDENTIALS_DIRECTORY,
/// $RUNTIME_DIRECTORY, $STATE_DIRECTORY, TASKPOLLER_SECRET_ID and TASKPOLLER_SECRET_KEY.
class environment {
  public:
    virtual ~environment() = default;
    /// The variable's value, or nullopt when it is unset. An empty value is returned as "".
    virtual std::optional<std::string> get(std::string_view name) const = 0;
};

/// An environment backed by a map (tests, or a daemon that captured its environment).
class map_environment final : public environment {
  public:
    map_environment() = default;
    explicit map_environment(std::map<std::string, std::string, std::less<>> vars)
        : vars_(std::move(vars)) {}

    void set(std::string name, std::string value) { vars_[std::move(name)] = std::move(value); }
    void unset(std::string_view name);
    std::optional<std::string> get(std::string_view name) const override;

  private:
    std::map<std::string, std::string, std::less<>> vars_;
};

/// The real process environment (getenv). The returned object lives for the whole program.
const environment& process_environment();

}  // namespace taskpoller::config
