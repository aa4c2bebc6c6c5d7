#include "daemon/signals.hpp"

#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <csignal>
#include <cstring>

namespace taskpoller::daemon {

namespace asio = boost::asio;

struct signal_handler::impl : std::enable_shared_from_this<signal_handler::impl> {
    impl(asio::io_context& io, signal_callbacks c, core::logger l)
        : set(io, SIGHUP, SIGTERM, SIGINT), cb(std::move(c)), log(std::move(l)) {}

    asio::signal_set set;
    signal_callbacks cb;
    core::logger log;
    bool shutting_down = false;
    bool cancelled = false;

    void wait() {
        set.async_wait([self = shared_from_this()](boost::system::error_code ec, int signo) {
            if (ec || self->cancelled) return;
            self->on_signal(signo);
            if (!self->cancelled) self->wait();
        });
    }

    void on_signal(int signo) {
        if (signo == SIGHUP) {
            if (shutting_down) {
                log.info("SIGHUP ignored: shutting down");
            } else if (cb.reload) {
                log.info("SIGHUP: reloading configuration");
                cb.reload();
            }
            return;
        }
        if (shutting_down) {
            // Async-signal-safety does not matter here (we are on the event loop), but nothing
            // may block: the previous shutdown is what hangs.
            log.error("SIG{} again: exiting immediately", sigabbrev_np(signo));
            ::_exit(forced_exit_status(signo));
        }
        shutting_down = true;
        log.info("SIG{}: shutting down (send it again to exit immediately)", sigabbrev_np(signo));
        if (cb.shutdown) cb.shutdown(signo);
    }
};

signal_handler::signal_handler(asio::io_context& io, signal_callbacks cb, core::logger log)
    : impl_(std::make_shared<impl>(io, std::move(cb), std::move(log))) {
    std::signal(SIGPIPE, SIG_IGN);
    impl_->wait();
}

signal_handler::~signal_handler() {
    cancel();
}

void signal_handler::cancel() {
    if (impl_->cancelled) return;
    impl_->cancelled = true;
    boost::system::error_code ignored;
    impl_->set.cancel(ignored);
    impl_->set.clear(ignored);
}

bool signal_handler::shutting_down() const noexcept {
    return impl_->shutting_down;
}

}  // namespace taskpoller::daemon
