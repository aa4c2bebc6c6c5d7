#include "unit/http/test_support.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <exception>
#include <optional>

namespace taskpoller::http::test {
namespace asio = boost::asio;

void run_async(std::function<asio::awaitable<void>(asio::io_context&)> body,
               std::chrono::seconds limit) {
    asio::io_context ioc;
    bool finished = false;
    std::exception_ptr failure;
    asio::co_spawn(ioc, body(ioc), [&](std::exception_ptr e) {
        finished = true;
        failure = e;
    });
    ioc.run_for(limit);
    if (failure) {
        try {
            std::rethrow_exception(failure);
        } catch (const std::exception& e) {
            ADD_FAILURE() << "test coroutine threw: " << e.what();
        }
    }
    EXPECT_TRUE(finished) << "test coroutine did not finish within " << limit.count() << " s";
    EXPECT_TRUE(ioc.stopped()) << "work still pending after the test finished (leak)";
}

asio::awaitable<void> sleep_for(std::chrono::milliseconds d) {
    asio::steady_timer t(co_await asio::this_coro::executor, d);
    co_await t.async_wait(asio::use_awaitable);
}

core::logger log_capture::logger(core::log_level min) const {
    auto lines = lines_;
    return core::logger(
        [lines](core::log_level l, std::string_view msg) {
            static constexpr const char* names[] = {"TRACE", "DEBUG", "INFO", "WARN", "ERROR"};
            lines->push_back(std::string(names[static_cast<int>(l)]) + " " + std::string(msg));
        },
        min);
}

bool log_capture::contains(const std::string& needle) const {
    for (const auto& l : *lines_)
        if (l.find(needle) != std::string::npos) return true;
    return false;
}

std::string describe(const send_result& r) {
    if (r) return "ok " + std::to_string(r->status);
    return std::string(to_string(r.error().kind)) + " at " +
           std::string(to_string(r.error().stage)) + ": " + r.error().message;
}

client_options loopback_options() {
    using namespace std::chrono_literals;
    client_options o;
    o.connect_timeout = 3s;
    o.tls_handshake_timeout = 3s;
    o.request_timeout = 5s;
    o.idle_timeout = 10s;
    return o;
}

request get_request(std::uint16_t port, std::string target) {
    request r;
    r.scheme = scheme::http;
    r.host = "127.0.0.1";
    r.port = port;
    r.target = std::move(target);
    return r;
}

}  // namespace taskpoller::http::test

namespace taskpoller::http::test {

asio::awaitable<std::vector<send_result>> send_all(client& c, std::vector<request> reqs) {
    auto ex = co_await asio::this_coro::executor;
    std::vector<std::optional<send_result>> results(reqs.size());
    std::size_t done = 0;
    asio::steady_timer all_done(ex, std::chrono::steady_clock::time_point::max());
    for (std::size_t i = 0; i < reqs.size(); ++i) {
        asio::co_spawn(
            ex,
            [&, i]() -> asio::awaitable<void> {
                results[i] = co_await c.async_send(reqs[i]);
                if (++done == reqs.size()) all_done.cancel();
            },
            asio::detached);
    }
    while (done < reqs.size()) co_await all_done.async_wait(asio::as_tuple(asio::use_awaitable));
    std::vector<send_result> out;
    for (auto& r : results) out.push_back(std::move(*r));
    co_return out;
}

}  // namespace taskpoller::http::test
