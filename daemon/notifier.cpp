#include "daemon/notifier.hpp"

#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstdlib>

#include "daemon/notify.hpp"

namespace taskpoller::daemon {

namespace asio = boost::asio;

namespace {

std::optional<std::string> env(const char* name) {
    const char* v = std::getenv(name);
    if (v == nullptr) return std::nullopt;
    return std::string(v);
}

const char* c_str_or_null(const std::optional<std::string>& s) {
    return s ? s->c_str() : nullptr;
}

}  // namespace

notify_environment notify_environment::from_process() {
    return {env("NOTIFY_SOCKET"), env("WATCHDOG_USEC"), env("WATCHDOG_PID"),
            static_cast<long>(::getpid())};
}

struct notifier::impl : std::enable_shared_from_this<notifier::impl> {
    impl(asio::io_context& io, core::logger l, std::chrono::milliseconds status_interval)
        : log(std::move(l)), seq(status_interval), watchdog_timer(io), status_timer(io) {}

    core::logger log;
    notify_sequencer seq;
    std::optional<notify_socket> sock;
    std::optional<std::chrono::microseconds> watchdog_every;
    asio::steady_timer watchdog_timer;
    asio::steady_timer status_timer;
    bool status_timer_armed = false;
    bool stopped = false;  // a completion already queued when cancel() ran must not re-arm
    std::optional<std::chrono::steady_clock::time_point> last_error_logged;

    void send(const std::optional<std::string>& datagram) {
        if (!sock || !datagram) return;
        auto r = sock->send(*datagram);
        if (r) return;
        auto now = std::chrono::steady_clock::now();
        if (!last_error_logged || now - *last_error_logged >= std::chrono::minutes(1)) {
            last_error_logged = now;
            log.warn("sd_notify: {}", r.error().message);
        }
    }

    void ping() {
        send(notify_sequencer::watchdog());
        watchdog_timer.expires_after(*watchdog_every);
        watchdog_timer.async_wait([self = shared_from_this()](boost::system::error_code ec) {
            if (!ec && !self->stopped) self->ping();
        });
    }

    void arm_status_timer() {
        auto due = seq.status_due();
        if (!due || status_timer_armed || !sock) return;
        status_timer_armed = true;
        status_timer.expires_at(*due);
        status_timer.async_wait([self = shared_from_this()](boost::system::error_code ec) {
            self->status_timer_armed = false;
            if (ec) return;
            self->send(self->seq.flush_status(std::chrono::steady_clock::now()));
            self->arm_status_timer();
        });
    }
};

notifier::notifier(asio::io_context& io, core::logger log, notify_environment e,
                   std::chrono::milliseconds status_interval)
    : impl_(std::make_shared<impl>(io, std::move(log), status_interval)) {
    if (!e.notify_socket) return;  // not under systemd: everything below stays off
    auto s = notify_socket::open(*e.notify_socket);
    if (!s) {
        impl_->log.warn("sd_notify disabled: {}", s.error().message);
        return;
    }
    impl_->sock.emplace(std::move(*s));
    auto wd = daemon::watchdog_interval(c_str_or_null(e.watchdog_usec),
                                        c_str_or_null(e.watchdog_pid), e.self_pid);
    if (!wd) {
        impl_->log.warn("watchdog disabled: {}", wd.error().message);
    } else if (*wd) {
        impl_->watchdog_every = **wd;
        impl_->log.debug("watchdog: pinging every {}us", (*wd)->count());
        impl_->ping();
    }
}

notifier::~notifier() {
    impl_->stopped = true;
    impl_->watchdog_timer.cancel();
    impl_->status_timer.cancel();
}

bool notifier::enabled() const noexcept {
    return impl_->sock.has_value();
}

std::optional<std::chrono::microseconds> notifier::watchdog_interval() const noexcept {
    return impl_->watchdog_every;
}

void notifier::ready(std::string_view status) {
    impl_->send(impl_->seq.ready(status, std::chrono::steady_clock::now()));
}

void notifier::reloading() {
    impl_->send(impl_->seq.reloading(monotonic_now()));
}

void notifier::reloaded(std::string_view status) {
    impl_->send(impl_->seq.reloaded(status, std::chrono::steady_clock::now()));
}

void notifier::status(std::string_view text) {
    impl_->send(impl_->seq.status(text, std::chrono::steady_clock::now()));
    impl_->arm_status_timer();
}

void notifier::stopping() {
    impl_->send(impl_->seq.stopping());
    impl_->stopped = true;
    impl_->watchdog_timer.cancel();
    impl_->status_timer.cancel();
}

}  // namespace taskpoller::daemon
