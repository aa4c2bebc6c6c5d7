// pg_connection: the socket waits and connecting (pg_exec.cpp: statements, pipelines,
// notifications; pg_result.cpp: results and errors).
#include "ledger/pg_connection.hpp"

// GCC 12 reports a false -Wmismatched-new-delete for coroutine frames whose promise type has a
// sized operator delete (Asio's awaitable); see GCC bug 109224.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <memory>
#include <thread>

#include "ledger/pg_impl.hpp"

namespace taskpoller::ledger {
namespace asio = boost::asio;
using boost::system::error_code;

pg_error pg_connection::impl::connection_error(std::string_view context) {
    pg_error e;
    std::string msg = conn != nullptr ? trimmed_message(PQerrorMessage(conn)) : "";
    if (msg.empty()) msg = "not connected";
    e.message = context.empty() ? msg : std::string(context) + ": " + msg;
    e.connection_lost = !ok();
    sync_socket();
    return e;
}

pg_error pg_connection::impl::lost_error() {
    // A backend that is terminated says why (FATAL, with an SQLSTATE such as 57P01) before it
    // closes: libpq keeps that in the running statement's error result. Only fetched once the
    // socket is gone, when PQgetResult cannot wait for anything.
    if (conn != nullptr && PQsocket(conn) < 0) {
        pg_result r(PQgetResult(conn));
        if (r.raw() != nullptr) {
            if (auto e = result_error(r.raw(), conn)) {
                e->connection_lost = true;
                sync_socket();
                return *e;
            }
        }
    }
    return connection_error("receiving");
}

std::optional<pg_error> pg_connection::impl::begin_operation() {
    if (busy) return pg_error{.message = "another operation is in progress on this connection"};
    if (!ok()) {
        auto e = connection_error();
        e.connection_lost = true;
        return e;
    }
    return std::nullopt;
}

// --- the socket --------------------------------------------------------------------------------

void pg_connection::impl::close() noexcept {
    if (socket) {
        error_code ignored;
        socket->cancel(ignored);
        socket->release();
        socket.reset();
    }
    socket_fd = -1;
    if (conn != nullptr) PQfinish(conn);
    conn = nullptr;
}

void pg_connection::impl::rewatch() {
    if (socket) {
        socket->release();
        socket.reset();
    }
    socket_fd = conn != nullptr ? PQsocket(conn) : -1;
    if (socket_fd >= 0) socket.emplace(executor, socket_fd);
}

void pg_connection::impl::sync_socket() noexcept {
    if (!socket) return;
    if (conn == nullptr || PQstatus(conn) == CONNECTION_BAD || PQsocket(conn) != socket_fd) {
        socket->release();
        socket.reset();
        socket_fd = -1;
    }
}

namespace {

// One wait's outcome, shared with its handlers: a handler that runs after the wait ended (a
// cancelled one) touches only this.
struct wait_state {
    explicit wait_state(const asio::any_io_executor& ex) : wake(ex) {}
    asio::steady_timer wake;
    pg_ready ready{};
};

}  // namespace

asio::awaitable<pg_ready> pg_connection::impl::wait(bool want_read, bool want_write,
                                                    steady_clock::time_point deadline) {
    if (!socket) co_return pg_ready{.closed = true};
    auto st = std::make_shared<wait_state>(executor);
    st->wake.expires_at(deadline);
    auto on_ready = [st](bool read) {
        return [st, read](error_code ec) {
            if (!ec) (read ? st->ready.readable : st->ready.writable) = true;
            st->wake.cancel();
        };
    };
    using asio::posix::descriptor_base;
    if (want_read) socket->async_wait(descriptor_base::wait_read, on_ready(true));
    if (want_write) socket->async_wait(descriptor_base::wait_write, on_ready(false));
    co_await st->wake.async_wait(asio::as_tuple(asio::use_awaitable));
    pg_ready r = st->ready;
    if (!socket) {
        r.closed = true;
    } else {
        error_code ignored;
        socket->cancel(ignored);
    }
    r.timed_out = !r.readable && !r.writable && !r.closed;
    co_return r;
}

asio::awaitable<bool> pg_connection::impl::flush(steady_clock::time_point deadline, pg_error& err) {
    for (;;) {
        int r = conn != nullptr ? PQflush(conn) : -1;
        if (r == 0) co_return true;
        if (r < 0) {
            err = connection_error("sending");
            co_return false;
        }
        auto ready = co_await wait(true, true, deadline);
        if (ready.closed || ready.timed_out) {
            // Half a message cannot be taken back: the connection goes.
            err = pg_error{.message = ready.closed ? "connection closed" : "timed out sending",
                           .connection_lost = true,
                           .timed_out = ready.timed_out};
            close();
            co_return false;
        }
        if (ready.readable && PQconsumeInput(conn) == 0) {
            err = connection_error("receiving");
            co_return false;
        }
    }
}

void pg_connection::impl::send_cancel() noexcept {
    PGcancel* c = conn != nullptr ? PQgetCancel(conn) : nullptr;
    if (c == nullptr) return;
    // PQcancel connects to the server and waits for it: a helper thread owns the PGcancel (it
    // does not need the PGconn, which may be finished meanwhile).
    try {
        std::thread([c] {
            char buf[256];
            PQcancel(c, buf, sizeof buf);
            PQfreeCancel(c);
        }).detach();
    } catch (...) {
        PQfreeCancel(c);
    }
}

asio::awaitable<pg_result> pg_connection::impl::next_result(steady_clock::time_point& deadline,
                                                            bool& timed_out, bool& failed,
                                                            pg_error& err) {
    while (conn != nullptr && PQisBusy(conn) != 0) {
        auto ready = co_await wait(true, false, deadline);
        if (ready.closed) {
            err = pg_error{
                .message = "connection closed", .connection_lost = true, .timed_out = timed_out};
            failed = true;
            co_return pg_result{};
        }
        if (ready.timed_out) {
            if (!timed_out) {
                timed_out = true;
                send_cancel();
                deadline = steady_clock::now() + std::chrono::seconds(2);
                continue;
            }
            err = pg_error{.message = "timed out; the server did not answer the cancel request",
                           .connection_lost = true,
                           .timed_out = true};
            close();
            failed = true;
            co_return pg_result{};
        }
        if (PQconsumeInput(conn) == 0) {
            err = lost_error();
            err.timed_out = timed_out;
            failed = true;
            co_return pg_result{};
        }
    }
    if (conn == nullptr) {
        err = pg_error{.message = "connection closed", .connection_lost = true};
        failed = true;
        co_return pg_result{};
    }
    pg_result r(PQgetResult(conn));
    sync_socket();
    co_return r;
}

// --- pg_connection -----------------------------------------------------------------------------

pg_connection::pg_connection(asio::any_io_executor executor, std::string conninfo)
    : impl_(std::make_unique<impl>(std::move(executor), std::move(conninfo))) {}

pg_connection::~pg_connection() = default;

void pg_connection::close() noexcept {
    impl_->close();
}
bool pg_connection::connected() const noexcept {
    return impl_->ok();
}
int pg_connection::backend_pid() const noexcept {
    return impl_->ok() ? PQbackendPID(impl_->conn) : 0;
}
bool pg_connection::in_transaction() const noexcept {
    if (!impl_->ok()) return false;
    auto s = PQtransactionStatus(impl_->conn);
    return s == PQTRANS_INTRANS || s == PQTRANS_INERROR || s == PQTRANS_ACTIVE;
}

namespace {
void ignore_notice(void*, const char*) {}
}  // namespace

asio::awaitable<std::optional<pg_error>> pg_connection::impl::poll_connect(
    steady_clock::time_point deadline) {
    // PQconnectPoll's contract: start as if it had asked to wait for writing.
    auto poll = PGRES_POLLING_WRITING;
    while (poll != PGRES_POLLING_OK) {
        if (poll == PGRES_POLLING_FAILED) co_return connection_error("connecting");
        rewatch();  // the socket may be a new one at each step
        auto ready =
            co_await wait(poll == PGRES_POLLING_READING, poll == PGRES_POLLING_WRITING, deadline);
        if (ready.timed_out || ready.closed) {
            co_return pg_error{.message = ready.timed_out ? "timed out connecting" : "closed",
                               .connection_lost = true,
                               .timed_out = ready.timed_out};
        }
        poll = PQconnectPoll(conn);
    }
    if (PQsetnonblocking(conn, 1) != 0) co_return connection_error("non-blocking mode");
    PQsetNoticeProcessor(conn, ignore_notice, nullptr);
    rewatch();
    co_return std::nullopt;
}

asio::awaitable<pg_outcome<void>> pg_connection::async_connect(std::chrono::milliseconds timeout) {
    auto& s = *impl_;
    if (s.busy) co_return pg_error{.message = "another operation is in progress"};
    busy_guard guard(s);
    s.close();
    s.notifications.clear();
    auto deadline = steady_clock::now() + timeout;
    // The conninfo as the dbname value: libpq expands it (keyword=value pairs or a URI).
    const char* keywords[] = {"dbname", nullptr};
    const char* values[] = {s.conninfo.c_str(), nullptr};
    s.conn = PQconnectStartParams(keywords, values, 1);
    if (s.conn == nullptr) co_return pg_error{.message = "out of memory", .connection_lost = true};
    std::optional<pg_error> failed;
    if (PQstatus(s.conn) == CONNECTION_BAD) {
        failed = s.connection_error("connecting");
    } else {
        failed = co_await s.poll_connect(deadline);
    }
    if (failed) {
        s.close();
        failed->connection_lost = true;
        co_return *failed;
    }
    co_return pg_outcome<void>{};
}

asio::awaitable<pg_outcome<void>> pg_connection::async_connect_with_backoff(
    std::chrono::milliseconds give_up_after, std::chrono::milliseconds first_delay,
    std::chrono::milliseconds max_delay) {
    auto give_up = steady_clock::now() + give_up_after;
    auto delay = first_delay;
    asio::steady_timer timer(impl_->executor);
    for (;;) {
        auto left =
            std::chrono::duration_cast<std::chrono::milliseconds>(give_up - steady_clock::now());
        auto r = co_await async_connect(
            std::clamp(left, std::chrono::milliseconds(1), std::chrono::milliseconds(10000)));
        if (r || steady_clock::now() + delay >= give_up) co_return r;
        timer.expires_after(delay);
        co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
        delay = std::min(delay * 2, max_delay);
    }
}

}  // namespace taskpoller::ledger
