#pragma once
// The logging interface library code is given. spdlog is wired at the edge (daemon/, sim/);
// library code never includes spdlog. A default-constructed logger discards everything.

#include <fmt/format.h>

#include <functional>
#include <string_view>
#include <utility>

namespace taskpoller::core {

/// `critical`: a fault in the daemon itself (a bug caught by supervision), never the cloud's.
enum class log_level { trace, debug, info, warn, error, critical };

class logger {
  public:
    using sink = std::function<void(log_level, std::string_view)>;

    logger() = default;
    /// `min` is the lowest level that reaches the sink; formatting is skipped below it.
    explicit logger(sink s, log_level min = log_level::info) : sink_(std::move(s)), min_(min) {}

    bool enabled(log_level l) const noexcept { return sink_ && l >= min_; }
    void set_level(log_level l) noexcept { min_ = l; }

    template <class... Args>
    void log(log_level l, fmt::format_string<Args...> f, Args&&... args) const {
        if (enabled(l)) sink_(l, fmt::format(f, std::forward<Args>(args)...));
    }
    template <class... Args>
    void debug(fmt::format_string<Args...> f, Args&&... args) const {
        log(log_level::debug, f, std::forward<Args>(args)...);
    }
    template <class... Args>
    void info(fmt::format_string<Args...> f, Args&&... args) const {
        log(log_level::info, f, std::forward<Args>(args)...);
    }
    template <class... Args>
    void warn(fmt::format_string<Args...> f, Args&&... args) const {
        log(log_level::warn, f, std::forward<Args>(args)...);
    }
    template <class... Args>
    void error(fmt::format_string<Args...> f, Args&&... args) const {
        log(log_level::error, f, std::forward<Args>(args)...);
    }
    template <class... Args>
    void critical(fmt::format_string<Args...> f, Args&&... args) const {
        log(log_level::critical, f, std::forward<Args>(args)...);
    }

  private:
    sink sink_;
    log_level min_ = log_level::info;
};

}  // namespace taskpoller::core
