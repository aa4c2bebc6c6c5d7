// GCC 12 reports a false -Wmismatched-new-delete when it inlines an Asio awaitable frame (the
// use_awaitable operations awaited in attempt()); the frame's operator new/delete pair is Asio's
// own (GCC bug 109224).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

#include "http/client.hpp"

#include <algorithm>
#include <boost/asio/error.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/system/system_error.hpp>
#include <optional>
#include <stdexcept>

#include "http/connect_to.hpp"
#include "http/connection.hpp"
#include "http/message.hpp"
#include "http/pool.hpp"
#include "http/tls_context.hpp"

namespace taskpoller::http {
namespace asio = boost::asio;
namespace beast = boost::beast;
using boost::system::error_code;
using detail::steady_clock;

namespace {

client_options checked(client_options options) {
    if (auto ok = validate_options(options); !ok) throw std::invalid_argument(ok.error().message);
    return options;
}

std::uint16_t effective_port(const request& req) {
    if (req.port != 0) return req.port;
    return req.scheme == scheme::https ? 443 : 80;
}

long long ms_between(steady_clock::time_point from, steady_clock::time_point to) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(to - from).count();
}

bool is_name_resolution_error(const error_code& ec) {
    return ec.category() == asio::error::get_netdb_category() ||
           ec.category() == asio::error::get_addrinfo_category();
}

bool is_informational(unsigned status) {
    return status >= 100 && status < 200 && status != 101;
}

// How far a request got; decides the failure class when an exception cuts it short.
struct progress {
    failure_stage stage = failure_stage::invalid_request;
    bool write_started = false;
    std::size_t bytes_written = 0;
    /// Failed on a reused connection before any byte of a response arrived, not by a timeout or
    /// cancellation: the server had most likely closed the idle connection.
    bool stale = false;
};

}  // namespace

class client::impl {
  public:
    impl(asio::any_io_executor executor, core::logger log, client_options options)
        : executor_(executor),
          log_(std::move(log)),
          options_(checked(std::move(options))),
          connect_to_(connect_to_table::parse(options_.connect_to).value()),
          tls_(detail::make_tls_context(options_)),
          pool_(executor_, options_, tls_.get(), log_, counters_) {
        if (!options_.verify_peer)
            log_.warn(
                "http: TLS CERTIFICATE VERIFICATION IS DISABLED (verify_peer=false): any server "
                "can impersonate the API and read the credentials' signatures; tests only");
    }

    static asio::awaitable<send_result> send(std::shared_ptr<impl> self, request req);
    void shutdown() { pool_.shutdown(); }
    client_stats stats() const {
        client_stats out = counters_;
        out.hosts = pool_.stats();
        return out;
    }

  private:
    asio::awaitable<send_result> attempt(const request& req, const detail::outgoing& msg,
                                         steady_clock::time_point deadline, bool allow_reuse,
                                         progress& p);
    asio::awaitable<std::optional<error>> open(detail::connection& conn,
                                               steady_clock::time_point deadline);
    error failure(failure_class kind, failure_stage stage, const error_code& ec, bool timed_out,
                  std::string what) const;
    void count(const send_result& r, const request& req);

    asio::any_io_executor executor_;
    core::logger log_;
    client_options options_;
    connect_to_table connect_to_;
    std::unique_ptr<asio::ssl::context> tls_;
    client_stats counters_;
    detail::pool pool_;
};

asio::awaitable<send_result> client::impl::send(std::shared_ptr<impl> self, request req) {
    ++self->counters_.requests;
    progress p;
    send_result result = error{};
    try {
        auto msg = detail::build_message(req, self->options_);
        if (!msg) {
            result = msg.error();
        } else {
            const auto deadline =
                steady_clock::now() + req.timeout.value_or(self->options_.request_timeout);
            result = co_await self->attempt(req, *msg, deadline, req.reuse_connection, p);
            if (!result && p.stale && req.retry_if_stale && !self->pool_.is_shut_down()) {
                ++self->counters_.stale_retried;
                self->log_.debug("http: {} {}://{}: {}; sending it again on a fresh connection",
                                 to_string(req.method), to_string(req.scheme), req.host,
                                 result.error().message);
                p = progress{};
                result = co_await self->attempt(req, *msg, deadline, false, p);
            }
        }
    } catch (const boost::system::system_error& e) {
        // Asio throws at a co_await once the caller's coroutine has been cancelled; the lease
        // (and with it the connection) was released while unwinding.
        bool sent = p.write_started && p.bytes_written > 0;
        result = error{sent ? failure_class::outcome_unknown : failure_class::not_sent,
                       p.stage,
                       false,
                       true,
                       e.code(),
                       "cancelled: " + e.code().message()};
    }
    self->count(result, req);
    co_return result;
}

asio::awaitable<send_result> client::impl::attempt(const request& req, const detail::outgoing& msg,
                                                   steady_clock::time_point deadline,
                                                   bool allow_reuse, progress& p) {
    detail::origin where{req.scheme, req.host, effective_port(req)};
    p.stage = failure_stage::pool_wait;
    detail::lease lease;
    if (auto ready = pool_.try_acquire(where, allow_reuse, req.retry_if_stale)) {
        lease = std::move(*ready);
    } else {
        auto acquired =
            co_await pool_.async_acquire(where, allow_reuse, req.retry_if_stale, deadline);
        if (!acquired) co_return acquired.error();
        lease = std::move(*acquired);
    }
    detail::connection& conn = lease.conn();
    if (!lease.reused()) {
        p.stage = failure_stage::connect;
        if (auto failed = co_await open(conn, deadline)) co_return *failed;
    }

    // The exchange, in this coroutine (one frame fewer per request).
    p.write_started = true;
    p.stage = failure_stage::write;
    auto [write_ec, written] = co_await conn.async_write(msg.wire, deadline);
    p.bytes_written = written;
    p.stage = failure_stage::read;
    if (write_ec) {
        p.stale = lease.reused() && write_ec != beast::error::timeout &&
                  write_ec != asio::error::operation_aborted;
        // Zero bytes accepted means no part of the request left this process (for TLS: not one
        // complete record), so the server cannot have acted on it.
        auto kind = written == 0 ? failure_class::not_sent : failure_class::outcome_unknown;
        co_return failure(kind, failure_stage::write, write_ec, write_ec == beast::error::timeout,
                          "writing the request failed after " + std::to_string(written) +
                              " bytes: " + write_ec.message());
    }
    std::optional<detail::beast_parser> parser;
    bool answered = false;  // a response (an informational one) came before
    do {
        parser.emplace();
        parser->body_limit(options_.body_limit);
        parser->header_limit(static_cast<std::uint32_t>(options_.header_limit));
        parser->skip(msg.head);
        auto [ec, ignored] = co_await conn.async_read(*parser);
        if (ec) {
            p.stale = lease.reused() && !answered && !parser->got_some() &&
                      (ec == beast::http::error::end_of_stream ||
                       ec == asio::error::connection_reset || ec == asio::error::eof);
            co_return failure(failure_class::outcome_unknown, failure_stage::read, ec,
                              ec == beast::error::timeout,
                              detail::describe_read_failure(ec, options_));
        }
        answered = true;
    } while (is_informational(parser->get().result_int()));
    conn.read_done();
    bool keep_alive = parser->get().keep_alive() && !parser->need_eof();
    response out = detail::take_response(*parser, lease.reused());
    if (keep_alive) lease.keep();
    co_return out;
}

asio::awaitable<std::optional<error>> client::impl::open(detail::connection& conn,
                                                         steady_clock::time_point deadline) {
    const detail::origin& where = conn.where();
    const endpoint_name target = connect_to_.lookup(where.host, where.port);
    const std::string via = target.host + ":" + std::to_string(target.port);
    auto start = steady_clock::now();
    auto connect_deadline = std::min(start + options_.connect_timeout, deadline);
    bool timed_out = false;
    error_code ec = co_await conn.async_connect(target, connect_deadline, timed_out);
    if (ec) {
        auto stage = is_name_resolution_error(ec) ? failure_stage::resolve : failure_stage::connect;
        co_return failure(failure_class::not_sent, stage, ec, timed_out,
                          timed_out
                              ? "connecting to " + via + " timed out after " +
                                    std::to_string(ms_between(start, connect_deadline)) + " ms"
                              : "connecting to " + via + " failed: " + ec.message());
    }
    ++counters_.connections_opened;
    log_.debug("http: opened connection #{} to {} via {}", conn.id(), where.key(), via);
    if (where.scheme == scheme::http) co_return std::nullopt;
    start = steady_clock::now();
    auto handshake_deadline = std::min(start + options_.tls_handshake_timeout, deadline);
    ec = co_await conn.async_handshake(options_.verify_peer, handshake_deadline);
    if (!ec) co_return std::nullopt;
    timed_out = ec == beast::error::timeout;
    std::string why = conn.verify_failure();
    why = timed_out
              ? "timed out after " + std::to_string(ms_between(start, handshake_deadline)) + " ms"
          : why.empty() ? ec.message()
                        : "certificate verification failed: " + why;
    co_return failure(failure_class::not_sent, failure_stage::tls_handshake, ec, timed_out,
                      "TLS handshake with " + where.host + " (via " + via + ") failed: " + why);
}

error client::impl::failure(failure_class kind, failure_stage stage, const error_code& ec,
                            bool timed_out, std::string what) const {
    bool cancelled = !timed_out && ec == asio::error::operation_aborted;
    if (pool_.is_shut_down()) {
        cancelled = true;
        what += " (the HTTP client is shut down)";
    }
    return error{kind, stage, timed_out, cancelled, ec, std::move(what)};
}

void client::impl::count(const send_result& r, const request& req) {
    if (r) return;
    if (r.error().not_sent())
        ++counters_.failed_not_sent;
    else
        ++counters_.failed_outcome_unknown;
    log_.debug("http: {} {}://{}: {} at {}: {}", to_string(req.method), to_string(req.scheme),
               req.host, to_string(r.error().kind), to_string(r.error().stage), r.error().message);
}

client::client(asio::any_io_executor executor, core::logger log, client_options options)
    : impl_(std::make_shared<impl>(std::move(executor), std::move(log), std::move(options))) {}

client::~client() {
    impl_->shutdown();
}

asio::awaitable<send_result> client::async_send(request req) {
    return impl::send(impl_, std::move(req));
}

void client::shutdown() {
    impl_->shutdown();
}

client_stats client::stats() const {
    return impl_->stats();
}

}  // namespace taskpoller::http
