// pg_connection against a real PostgreSQL 15 (support/pg_cluster.hpp): queries, parameters,
// pipelined transactions, SQL errors, notifications, timeouts, and that the event loop never
// blocks on the database.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

#include "ledger/pg_connection.hpp"

#include <gtest/gtest.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>

#include "support/pg_test.hpp"

namespace taskpoller::ledger {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using testing::run_coro;
using steady = std::chrono::steady_clock;

class PgConnection : public testing::pg_test {};

TEST_F(PgConnection, ConnectsAndRunsAQuery) {
    pg_connection c(io_.get_executor(), conninfo());
    EXPECT_FALSE(c.connected());
    ASSERT_TRUE(run_coro(io_, c.async_connect())) << "connect";
    EXPECT_TRUE(c.connected());
    EXPECT_GT(c.backend_pid(), 0);
    auto r = run_coro(io_, c.async_exec("SELECT current_database(), 6 * 7, "
                                        "current_setting('server_version_num')::int / 10000"));
    ASSERT_TRUE(r) << r.error().message;
    ASSERT_EQ(r->rows(), 1);
    ASSERT_EQ(r->columns(), 3);
    EXPECT_EQ(r->get(0, 0), db_);
    EXPECT_EQ(r->get_int(0, 1), 42);
    EXPECT_EQ(r->get_int(0, 2), 15);
}

TEST_F(PgConnection, ParametersAndNulls) {
    pg_connection c(io_.get_executor(), conninfo());
    ASSERT_TRUE(run_coro(io_, c.async_connect()));
    std::vector<pg_param> params{std::string("41"), std::nullopt, std::string("it's \"quoted\"")};
    auto r = run_coro(io_, c.async_exec("SELECT $1::int + 1, $2::text IS NULL, $2::text, $3::text",
                                        std::move(params)));
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->get_int(0, 0), 42);
    EXPECT_EQ(r->get(0, 1), "t");
    EXPECT_TRUE(r->is_null(0, 2));
    EXPECT_FALSE(r->is_null(0, 3));
    EXPECT_EQ(r->get(0, 3), "it's \"quoted\"");
    EXPECT_EQ(r->get_int(0, 3), std::nullopt);

    auto insert = run_coro(io_, c.async_exec_script("CREATE TABLE t (k int PRIMARY KEY, v text); "
                                                    "INSERT INTO t VALUES (1, 'a'), (2, NULL)"));
    ASSERT_TRUE(insert) << insert.error().message;
    EXPECT_EQ(insert->affected_rows(), 2u);
    std::vector<pg_param> key{std::string("2")};
    auto row = run_coro(io_, c.async_exec("SELECT v FROM t WHERE k = $1", std::move(key)));
    ASSERT_TRUE(row);
    ASSERT_EQ(row->rows(), 1);
    EXPECT_TRUE(row->is_null(0, 0));
}

TEST_F(PgConnection, PipelinedTransactionCommitsOrRollsBackAsAWhole) {
    pg_connection c(io_.get_executor(), conninfo());
    ASSERT_TRUE(run_coro(io_, c.async_connect()));
    ASSERT_TRUE(run_coro(io_, c.async_exec("CREATE TABLE t (k int PRIMARY KEY)")));

    std::vector<pg_statement> ok{
        {.sql = "INSERT INTO t VALUES ($1)", .params = {std::string("1")}},
        {.sql = "INSERT INTO t VALUES ($1)", .params = {std::string("2")}},
        {.sql = "SELECT count(*), txid_current_if_assigned() IS NOT NULL FROM t"}};
    auto r = run_coro(io_, c.async_transaction(std::move(ok)));
    ASSERT_TRUE(r) << r.error().message;
    ASSERT_EQ(r->size(), 3u);
    EXPECT_EQ((*r)[0].affected_rows(), 1u);
    EXPECT_EQ((*r)[2].get_int(0, 0), 2);
    EXPECT_EQ((*r)[2].get(0, 1), "t");  // the statements ran inside one transaction
    EXPECT_FALSE(c.in_transaction());

    // The second insert violates the key: the first one must not stay either.
    std::vector<pg_statement> bad{
        {.sql = "INSERT INTO t VALUES ($1)", .params = {std::string("3")}},
        {.sql = "INSERT INTO t VALUES ($1)", .params = {std::string("1")}},
        {.sql = "INSERT INTO t VALUES ($1)", .params = {std::string("4")}}};
    auto failed = run_coro(io_, c.async_transaction(std::move(bad)));
    ASSERT_FALSE(failed);
    EXPECT_EQ(failed.error().sqlstate, "23505");
    EXPECT_FALSE(failed.error().connection_lost);
    EXPECT_FALSE(c.in_transaction());
    auto count = run_coro(io_, c.async_exec("SELECT count(*), max(k) FROM t"));
    ASSERT_TRUE(count) << count.error().message;
    EXPECT_EQ(count->get_int(0, 0), 2);
    EXPECT_EQ(count->get_int(0, 1), 2);
}

TEST_F(PgConnection, PipelineRunsStatementsInOrderWithoutATransaction) {
    pg_connection c(io_.get_executor(), conninfo());
    ASSERT_TRUE(run_coro(io_, c.async_connect()));
    std::vector<pg_statement> statements;
    for (int i = 0; i < 20; ++i) {
        statements.push_back({.sql = "SELECT $1::int * 2", .params = {std::to_string(i)}});
    }
    auto r = run_coro(io_, c.async_pipeline(std::move(statements)));
    ASSERT_TRUE(r) << r.error().message;
    ASSERT_EQ(r->size(), 20u);
    for (int i = 0; i < 20; ++i) EXPECT_EQ((*r)[i].get_int(0, 0), 2 * i);
}

TEST_F(PgConnection, SqlErrorReportsSqlstateAndTheConnectionStaysUsable) {
    pg_connection c(io_.get_executor(), conninfo());
    ASSERT_TRUE(run_coro(io_, c.async_connect()));
    auto div = run_coro(io_, c.async_exec("SELECT 1 / 0"));
    ASSERT_FALSE(div);
    EXPECT_EQ(div.error().sqlstate, "22012");
    EXPECT_NE(div.error().message.find("division by zero"), std::string::npos)
        << div.error().message;
    EXPECT_FALSE(div.error().connection_lost);
    EXPECT_FALSE(div.error().timed_out);

    auto syntax = run_coro(io_, c.async_exec("SELEC 1"));
    ASSERT_FALSE(syntax);
    EXPECT_EQ(syntax.error().sqlstate, "42601");

    auto missing = run_coro(io_, c.async_exec_script("SELECT 1; SELECT * FROM no_such_table"));
    ASSERT_FALSE(missing);
    EXPECT_EQ(missing.error().sqlstate, "42P01");

    EXPECT_TRUE(c.connected());
    auto one = run_coro(io_, c.async_exec("SELECT 1"));
    ASSERT_TRUE(one) << one.error().message;
    EXPECT_EQ(one->get_int(0, 0), 1);
}

TEST_F(PgConnection, ConnectFailureIsReportedWithoutThePassword) {
    pg_connection c(io_.get_executor(), "host=" + cluster().dir() +
                                            "/nowhere port=5432 user=postgres password=sekrit99");
    auto r = run_coro(io_, c.async_connect(5s));
    ASSERT_FALSE(r);
    EXPECT_TRUE(r.error().connection_lost);
    EXPECT_FALSE(r.error().message.empty());
    EXPECT_EQ(r.error().message.find("sekrit99"), std::string::npos) << r.error().message;
    EXPECT_FALSE(c.connected());
    auto q = run_coro(io_, c.async_exec("SELECT 1"));
    ASSERT_FALSE(q);
    EXPECT_TRUE(q.error().connection_lost);

    pg_connection nodb(io_.get_executor(), cluster().conninfo("no_such_database"));
    auto d = run_coro(io_, nodb.async_connect(5s));
    ASSERT_FALSE(d);
    EXPECT_NE(d.error().message.find("no_such_database"), std::string::npos) << d.error().message;
}

TEST_F(PgConnection, ListenNotifyIsDelivered) {
    pg_connection listener(io_.get_executor(), conninfo());
    pg_connection sender(io_.get_executor(), conninfo());
    ASSERT_TRUE(run_coro(io_, listener.async_connect()));
    ASSERT_TRUE(run_coro(io_, sender.async_connect()));
    ASSERT_TRUE(run_coro(io_, listener.async_exec("LISTEN tp_changes")));

    auto none = run_coro(io_, listener.async_wait_notification(100ms));
    ASSERT_FALSE(none);
    EXPECT_TRUE(none.error().timed_out);
    EXPECT_FALSE(none.error().connection_lost);

    // The listener waits first; the sender notifies 100 ms later on the same io_context.
    std::optional<pg_outcome<pg_notification>> got;
    asio::co_spawn(
        io_,
        [&]() -> asio::awaitable<void> { got = co_await listener.async_wait_notification(10s); },
        asio::detached);
    auto sent = run_coro(io_, [&]() -> asio::awaitable<pg_outcome<pg_result>> {
        asio::steady_timer t(io_, 100ms);
        co_await t.async_wait(asio::use_awaitable);
        std::vector<pg_param> p{std::string("tp_changes"), std::string("seq=17")};
        co_return co_await sender.async_exec("SELECT pg_notify($1, $2)", std::move(p));
    }());
    ASSERT_TRUE(sent) << sent.error().message;
    ASSERT_TRUE(got.has_value());
    ASSERT_TRUE(*got) << got->error().message;
    EXPECT_EQ((*got)->channel, "tp_changes");
    EXPECT_EQ((*got)->payload, "seq=17");
    EXPECT_EQ((*got)->sender_pid, sender.backend_pid());

    // Notifications that arrive while the listener runs a statement are kept for the next wait.
    ASSERT_TRUE(run_coro(io_, sender.async_exec("NOTIFY tp_changes, 'a'; ")));
    ASSERT_TRUE(run_coro(io_, sender.async_exec("NOTIFY tp_changes, 'b'")));
    ASSERT_TRUE(run_coro(io_, listener.async_exec("SELECT pg_sleep(0.2)")));
    auto a = run_coro(io_, listener.async_wait_notification(5s));
    auto b = run_coro(io_, listener.async_wait_notification(5s));
    ASSERT_TRUE(a && b);
    EXPECT_EQ(a->payload, "a");
    EXPECT_EQ(b->payload, "b");
}

TEST_F(PgConnection, TimeoutCancelsTheStatement) {
    pg_connection c(io_.get_executor(), conninfo());
    ASSERT_TRUE(run_coro(io_, c.async_connect()));
    auto start = steady::now();
    auto r = run_coro(io_, c.async_exec("SELECT pg_sleep(10)", {}, 300ms));
    auto took = steady::now() - start;
    ASSERT_FALSE(r);
    EXPECT_TRUE(r.error().timed_out);
    EXPECT_EQ(r.error().sqlstate, "57014") << r.error().message;  // query_canceled
    EXPECT_FALSE(r.error().connection_lost);
    EXPECT_GE(took, 300ms);
    EXPECT_LT(took, 3s);
    auto one = run_coro(io_, c.async_exec("SELECT 1"));
    ASSERT_TRUE(one) << one.error().message;
    EXPECT_EQ(one->get_int(0, 0), 1);
}

TEST_F(PgConnection, TheEventLoopKeepsRunningDuringAQuery) {
    pg_connection c(io_.get_executor(), conninfo());
    ASSERT_TRUE(run_coro(io_, c.async_connect()));
    // A 10 ms ticker on the same single-threaded io_context as a 1 s query: a blocking libpq
    // call would stop it for the whole second.
    bool done = false;
    int ticks = 0;
    steady::duration longest_gap{};
    asio::co_spawn(
        io_,
        [&]() -> asio::awaitable<void> {
            asio::steady_timer t(io_);
            auto last = steady::now();
            while (!done) {
                t.expires_after(10ms);
                co_await t.async_wait(asio::use_awaitable);
                auto now = steady::now();
                longest_gap = std::max(longest_gap, now - last);
                last = now;
                ++ticks;
            }
        },
        asio::detached);
    auto r = run_coro(io_, [&]() -> asio::awaitable<pg_outcome<pg_result>> {
        auto q = co_await c.async_exec("SELECT pg_sleep(1)");
        done = true;
        co_return q;
    }());
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_GE(ticks, 40) << "the ticker stalled while the query ran";
    EXPECT_LT(longest_gap, 300ms);
}

TEST_F(PgConnection, OneOperationAtATime) {
    pg_connection c(io_.get_executor(), conninfo());
    ASSERT_TRUE(run_coro(io_, c.async_connect()));
    std::optional<pg_outcome<pg_result>> first;
    asio::co_spawn(
        io_,
        [&]() -> asio::awaitable<void> { first = co_await c.async_exec("SELECT pg_sleep(0.2)"); },
        asio::detached);
    auto second = run_coro(io_, [&]() -> asio::awaitable<pg_outcome<pg_result>> {
        asio::steady_timer t(io_, 20ms);
        co_await t.async_wait(asio::use_awaitable);
        co_return co_await c.async_exec("SELECT 2");
    }());
    ASSERT_FALSE(second);
    EXPECT_NE(second.error().message.find("in progress"), std::string::npos);
    ASSERT_TRUE(first.has_value());
    EXPECT_TRUE(*first);
    EXPECT_TRUE(run_coro(io_, c.async_exec("SELECT 3")));
}

}  // namespace
}  // namespace taskpoller::ledger
