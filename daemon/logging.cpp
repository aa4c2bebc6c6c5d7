#include "daemon/logging.hpp"

#include <fmt/format.h>
#include <spdlog/details/null_mutex.h>
#include <spdlog/sinks/base_sink.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstdlib>
#include <ctime>

#include "daemon/log_escape.hpp"

namespace taskpoller::daemon {

namespace {

spdlog::level::level_enum to_spd(core::log_level l) {
    switch (l) {
        case core::log_level::trace:
            return spdlog::level::trace;
        case core::log_level::debug:
            return spdlog::level::debug;
        case core::log_level::info:
            return spdlog::level::info;
        case core::log_level::warn:
            return spdlog::level::warn;
        case core::log_level::error:
            return spdlog::level::err;
        case core::log_level::critical:
            return spdlog::level::critical;
    }
    return spdlog::level::info;
}

core::log_level from_spd(spdlog::level::level_enum l) {
    switch (l) {
        case spdlog::level::trace:
            return core::log_level::trace;
        case spdlog::level::debug:
            return core::log_level::debug;
        case spdlog::level::info:
            return core::log_level::info;
        case spdlog::level::warn:
            return core::log_level::warn;
        case spdlog::level::critical:
            return core::log_level::critical;
        default:
            return core::log_level::error;
    }
}

std::string iso8601_utc(long long unix_ms) {
    std::time_t secs = static_cast<std::time_t>(unix_ms / 1000);
    std::tm tm{};
    ::gmtime_r(&secs, &tm);
    return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", tm.tm_year + 1900,
                       tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, unix_ms % 1000);
}

void write_all(int fd, std::string_view s) {
    while (!s.empty()) {
        ssize_t n = ::write(fd, s.data(), s.size());
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return;  // nowhere left to report a logging failure
        s.remove_prefix(static_cast<std::size_t>(n));
    }
}

}  // namespace

namespace detail {
struct log_state {
    log_options options;
    bool journal = false;
    int fd = 2;
};
}  // namespace detail

namespace {

class fd_sink final : public spdlog::sinks::base_sink<spdlog::details::null_mutex> {
  public:
    explicit fd_sink(std::shared_ptr<const detail::log_state> s) : state_(std::move(s)) {}

  protected:
    void sink_it_(const spdlog::details::log_msg& m) override {
        auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(m.time.time_since_epoch())
                      .count();
        std::string line =
            format_log_line(state_->options, state_->journal, from_spd(m.level),
                            std::string_view(m.payload.data(), m.payload.size()), ms);
        line += '\n';
        write_all(state_->fd, line);
    }
    void flush_() override {}

  private:
    std::shared_ptr<const detail::log_state> state_;
};

}  // namespace

std::optional<core::log_level> parse_log_level(std::string_view s) {
    if (s == "trace") return core::log_level::trace;
    if (s == "debug") return core::log_level::debug;
    if (s == "info") return core::log_level::info;
    if (s == "warn" || s == "warning") return core::log_level::warn;
    if (s == "error") return core::log_level::error;
    return std::nullopt;
}

std::optional<log_format> parse_log_format(std::string_view s) {
    if (s == "text") return log_format::text;
    if (s == "json") return log_format::json;
    return std::nullopt;
}

std::string_view to_string(core::log_level l) noexcept {
    switch (l) {
        case core::log_level::trace:
            return "trace";
        case core::log_level::debug:
            return "debug";
        case core::log_level::info:
            return "info";
        case core::log_level::warn:
            return "warn";
        case core::log_level::error:
            return "error";
        case core::log_level::critical:
            return "critical";
    }
    return "info";
}

int syslog_priority(core::log_level l) noexcept {
    switch (l) {
        case core::log_level::critical:
            return 2;
        case core::log_level::error:
            return 3;
        case core::log_level::warn:
            return 4;
        case core::log_level::info:
            return 6;
        default:
            return 7;
    }
}

bool journal_stream_matches(std::string_view journal_stream, int fd) {
    auto colon = journal_stream.find(':');
    if (colon == std::string_view::npos) return false;
    unsigned long long dev = 0, ino = 0;
    auto parse = [](std::string_view s, unsigned long long& v) {
        auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
        return ec == std::errc() && p == s.data() + s.size() && !s.empty();
    };
    if (!parse(journal_stream.substr(0, colon), dev) ||
        !parse(journal_stream.substr(colon + 1), ino)) {
        return false;
    }
    struct stat st {};
    if (::fstat(fd, &st) != 0) return false;
    return st.st_dev == dev && st.st_ino == ino;
}

std::string format_log_line(const log_options& o, bool journal, core::log_level l,
                            std::string_view msg, long long unix_ms) {
    std::string out;
    if (journal) out = fmt::format("<{}>", syslog_priority(l));
    if (o.format == log_format::json) {
        out += R"({"ts":")" + iso8601_utc(unix_ms) + R"(","level":")";
        out += to_string(l);
        out += R"(","msg":")" + json_escape(msg) + '"';
        for (const auto& [k, v] : o.fields) {
            if (k == "ts" || k == "level" || k == "msg") continue;  // never shadow the schema
            out += ",\"" + json_escape(k) + "\":\"" + json_escape(v) + '"';
        }
        out += '}';
        return out;
    }
    if (!journal) out += fmt::format("{} {:<5} ", iso8601_utc(unix_ms), to_string(l));
    out += text_escape(msg);
    return out;
}

logging::logging(log_options o, int fd, std::optional<bool> journal) {
    if (!journal) {
        const char* js = std::getenv("JOURNAL_STREAM");
        journal = js != nullptr && journal_stream_matches(js, fd);
    }
    journal_ = *journal;
    state_ = std::make_shared<detail::log_state>(detail::log_state{std::move(o), journal_, fd});
    logger_ = std::make_shared<spdlog::logger>("taskpollerd", std::make_shared<fd_sink>(state_));
    logger_->set_level(to_spd(state_->options.level));
}

logging::~logging() = default;

core::logger logging::get() const {
    // The returned logger lets everything through; the spdlog level decides, so apply() reaches
    // loggers already copied into library objects.
    return core::logger(
        [l = logger_](core::log_level lvl, std::string_view msg) {
            l->log(to_spd(lvl), spdlog::string_view_t(msg.data(), msg.size()));
        },
        core::log_level::trace);
}

void logging::apply(log_options o) {
    state_->options = std::move(o);
    logger_->set_level(to_spd(state_->options.level));
}

void logging::install_as_default() const {
    spdlog::set_default_logger(logger_);
}

const log_options& logging::options() const noexcept {
    return state_->options;
}

}  // namespace taskpoller::daemon
