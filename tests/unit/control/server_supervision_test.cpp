// Supervision of the accept loop (docs/design.md "Faults"): a fault injected into it is logged
// at critical and the loop restarted, so the socket keeps answering; a fault that keeps coming
// back ends the daemon through on_fault instead of spinning.
#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <stdexcept>

#include "server_fixture.hpp"
#include "test_routes.hpp"

namespace taskpoller::control::test {
namespace {

// The connection meets the injected fault: closed without an answer. The server may close it
// before the request is even written (EPIPE) or while it is read (a reset): both are as good
// as a close here; only an answer would be wrong.
void connect_and_expect_no_answer(const std::string& path) {
    std::string answer;
    try {
        client c(path);
        c.send_raw("GET /ping HTTP/1.1\r\nHost: x\r\n\r\n");
        answer = c.read_to_eof();
    } catch (const std::exception&) {
    }
    EXPECT_EQ(answer, "");
}

TEST(ServerSupervision, a_fault_in_the_accept_loop_is_logged_and_the_loop_restarted) {
    std::atomic<int> accepts{0};
    std::atomic<int> faults{0};
    server_options o;
    o.after_accept = [&] {
        if (++accepts == 1) throw std::runtime_error("injected accept fault");
    };
    o.on_fault = [&](const std::string&) { ++faults; };
    test_server s(make_test_routes(), o);
    connect_and_expect_no_answer(s.path);
    client c(s.path);
    auto r = c.request(http::verb::get, "/ping");
    EXPECT_EQ(r.result_int(), 200);
    EXPECT_TRUE(
        s.logs.contains("control: the accept loop failed: injected accept fault; restarting it"));
    EXPECT_EQ(faults.load(), 0);
    EXPECT_EQ(accepts.load(), 2);
}

TEST(ServerSupervision, a_fault_that_keeps_coming_back_ends_the_daemon) {
    std::atomic<int> faults{0};
    std::string reason;
    server_options o;
    o.accept_restarts = 1;
    o.after_accept = [] { throw std::runtime_error("injected again"); };
    o.on_fault = [&](const std::string& why) {
        reason = why;
        ++faults;
    };
    test_server s(make_test_routes(), o);
    // Once the accept loop has ended for good nothing else keeps this io_context busy (in the
    // daemon, on_fault starts the shutdown): keep its thread running until the test is done.
    auto keep_running = asio::make_work_guard(s.ioc);
    connect_and_expect_no_answer(s.path);  // restarted once
    connect_and_expect_no_answer(s.path);  // beyond the budget: on_fault
    for (int i = 0; i < 200 && faults.load() == 0; ++i) std::this_thread::sleep_for(10ms);
    ASSERT_EQ(faults.load(), 1);
    EXPECT_EQ(reason, "the control socket's accept loop: injected again");  // written before ++
    EXPECT_TRUE(s.logs.contains("failed 2 times within 10 s, last: injected again"));
    EXPECT_TRUE(s.stop(2s));
    keep_running.reset();
}

}  // namespace
}  // namespace taskpoller::control::test
