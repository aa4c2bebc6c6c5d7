#pragma once
// Daemon logging: spdlog behind the core::logger interface that library code receives.
//
// Output, one line per message, to a file descriptor (stderr by default):
// - journald (stderr is the stream named by $JOURNAL_STREAM): "<N>message", N the syslog
//   priority (sd-daemon.h: error 3, warn 4, info 6, debug/trace 7); journald adds the time.
// - text: "2026-11-27T23:29:22.123Z info  message" (UTC, ISO 8601, milliseconds).
// - json: {"ts":"...","level":"info","msg":"...",<fields>} (also "<N>"-prefixed under journald).
// Newlines and other control characters in messages are escaped, so one message is one line and
// a message cannot forge another log line.
//
// Secrets: nothing here filters them. They are kept out of messages at the source (credentials
// types have no formatter); never pass a secret to a logger.

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "core/logger.hpp"

namespace spdlog {
class logger;
}

namespace taskpoller::daemon {

namespace detail {
struct log_state;
}

enum class log_format { text, json };

struct log_options {
    core::log_level level = core::log_level::info;
    log_format format = log_format::text;
    /// Constant fields added to every JSON line (for example {"instance": "acct1"}).
    std::map<std::string, std::string> fields;
};

/// "trace", "debug", "info", "warn"/"warning", "error"; nullopt otherwise.
std::optional<core::log_level> parse_log_level(std::string_view s);
/// "text" or "json"; nullopt otherwise.
std::optional<log_format> parse_log_format(std::string_view s);
std::string_view to_string(core::log_level l) noexcept;

/// Syslog priority for a level (error 3, warn 4, info 6, debug and trace 7).
int syslog_priority(core::log_level l) noexcept;

/// True when `journal_stream` ("<dev>:<inode>", as systemd sets $JOURNAL_STREAM) names the
/// file open on `fd`. False on any mismatch, parse failure or fstat error.
bool journal_stream_matches(std::string_view journal_stream, int fd);

/// Formats one record; exposed for tests. `journal` selects the "<N>" prefix (and, for text,
/// no timestamp). `unix_ms`: wall-clock time in milliseconds since the epoch.
std::string format_log_line(const log_options& o, bool journal, core::log_level l,
                            std::string_view msg, long long unix_ms);

/// Owns the spdlog logger. Must outlive every core::logger it hands out. Single-threaded use
/// (the daemon's one thread); writes are one write(2) per line, so lines from a forked child
/// or another writer are not interleaved mid-line.
class logging {
  public:
    /// `journal`: nullopt = detect with journal_stream_matches($JOURNAL_STREAM, fd).
    /// `fd` is not owned.
    explicit logging(log_options o, int fd = 2, std::optional<bool> journal = std::nullopt);
    ~logging();
    logging(const logging&) = delete;
    logging& operator=(const logging&) = delete;

    /// A logger for library code. It forwards every level; the threshold lives here, so
    /// apply() changes it for loggers already handed out.
    core::logger get() const;
    /// Changes level, format and fields at run time (configuration reload).
    void apply(log_options o);
    /// Makes this the spdlog default logger (spdlog::info(...) in daemon code).
    void install_as_default() const;

    bool journal() const noexcept { return journal_; }
    const log_options& options() const noexcept;
    std::shared_ptr<spdlog::logger> spd() const { return logger_; }

  private:
    std::shared_ptr<detail::log_state> state_;
    std::shared_ptr<spdlog::logger> logger_;
    bool journal_;
};

}  // namespace taskpoller::daemon
