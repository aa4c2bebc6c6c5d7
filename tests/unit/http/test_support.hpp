#pragma once
// Shared helpers for the HTTP client tests: a coroutine test runner, log capture, and assertion
// macros usable inside coroutines (gtest's ASSERT_* use `return`, which a coroutine cannot).

#include <gtest/gtest.h>

// GCC 12 reports a false -Wmismatched-new-delete when it inlines an Asio awaitable frame of a
// coroutine lambda (the frame's operator new/delete pair is Asio's own); silence it in tests.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/logger.hpp"
#include "http/client.hpp"

namespace taskpoller::http::test {

/// Runs `body` on a fresh io_context. Fails the test if the body throws, does not finish within
/// `limit`, or leaves work pending once it has finished (a leaked connection, timer or session).
void run_async(std::function<boost::asio::awaitable<void>(boost::asio::io_context&)> body,
               std::chrono::seconds limit = std::chrono::seconds(30));

/// Waits `d` on the current coroutine's executor.
boost::asio::awaitable<void> sleep_for(std::chrono::milliseconds d);

/// Collects log lines ("LEVEL message") for assertions.
class log_capture {
  public:
    core::logger logger(core::log_level min = core::log_level::debug) const;
    bool contains(const std::string& needle) const;
    std::vector<std::string> lines() const { return *lines_; }

  private:
    std::shared_ptr<std::vector<std::string>> lines_ = std::make_shared<std::vector<std::string>>();
};

/// "ok <status>" or "<class> at <stage>: <message>", for failure output.
std::string describe(const send_result& r);

/// Client options for loopback tests: short timeouts so a hang fails fast.
client_options loopback_options();

/// A plain GET of `target` from 127.0.0.1:`port`.
request get_request(std::uint16_t port, std::string target = "/");

}  // namespace taskpoller::http::test

/// Like ASSERT_TRUE, inside a coroutine returning awaitable<void>.
#define CO_ASSERT(cond)                                     \
    do {                                                    \
        if (!(cond)) {                                      \
            ADD_FAILURE() << "assertion failed: " << #cond; \
            co_return;                                      \
        }                                                   \
    } while (0)

/// Asserts a send succeeded (evaluating `expr` once), printing the error otherwise.
#define CO_ASSERT_OK(expr)                                                                         \
    do {                                                                                           \
        const auto& co_result_ = (expr);                                                           \
        if (!co_result_.has_value()) {                                                             \
            ADD_FAILURE() << "request failed: " << ::taskpoller::http::test::describe(co_result_); \
            co_return;                                                                             \
        }                                                                                          \
    } while (0)

namespace taskpoller::http::test {

/// Sends all requests concurrently and returns their results in order.
boost::asio::awaitable<std::vector<send_result>> send_all(client& c, std::vector<request> reqs);

}  // namespace taskpoller::http::test
