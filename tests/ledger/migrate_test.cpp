// The migration runner against a real PostgreSQL 15: concurrent runners apply each version
// once, a rerun applies nothing, a failing version leaves nothing behind, a database migrated by
// a newer release is refused. The migrations here are the test's own, not the schema's.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

#include "ledger/migrate.hpp"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <chrono>
#include <memory>

#include "support/pg_test.hpp"

namespace taskpoller::ledger {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using testing::run_coro;

// Each version logs itself in mig_log, so a version run twice shows as two rows; version 2 sleeps
// while holding the lock so that the concurrent runners really wait for each other.
std::vector<migration_script> test_migrations() {
    return {
        {1, "log and items",
         "CREATE TABLE mig_log (version int NOT NULL, at timestamptz DEFAULT clock_timestamp());"
         "CREATE TABLE items (k int PRIMARY KEY);"
         "INSERT INTO mig_log (version) VALUES (1)"},
        {2, "items gain a name",
         "ALTER TABLE items ADD COLUMN name text; SELECT pg_sleep(0.3);"
         "INSERT INTO mig_log (version) VALUES (2)"},
        {3, "an index",
         "CREATE INDEX items_name ON items (name);"
         "INSERT INTO mig_log (version) VALUES (3)"},
    };
}

class Migrate : public testing::pg_test {};

TEST_F(Migrate, ConcurrentRunnersApplyEachVersionExactlyOnce) {
    auto known = test_migrations();
    std::vector<std::unique_ptr<pg_connection>> conns;
    std::vector<std::optional<pg_outcome<migrate_report>>> reports(3);
    for (int i = 0; i < 3; ++i) {
        conns.push_back(std::make_unique<pg_connection>(io_.get_executor(), conninfo()));
        ASSERT_TRUE(run_coro(io_, conns.back()->async_connect()));
    }
    for (int i = 0; i < 3; ++i) {
        asio::co_spawn(
            io_,
            [&, i]() -> asio::awaitable<void> {
                reports[i] = co_await async_migrate(*conns[i], known);
            },
            asio::detached);
    }
    io_.restart();
    io_.run();

    std::vector<std::int32_t> applied_by_all;
    for (auto& r : reports) {
        ASSERT_TRUE(r.has_value());
        ASSERT_TRUE(*r) << r->error().message;
        EXPECT_EQ((*r)->to_version, 3);
        applied_by_all.insert(applied_by_all.end(), (*r)->applied.begin(), (*r)->applied.end());
    }
    std::sort(applied_by_all.begin(), applied_by_all.end());
    EXPECT_EQ(applied_by_all, (std::vector<std::int32_t>{1, 2, 3}));
    EXPECT_EQ(cluster().psql(db_,
                             "SELECT string_agg(version::text, ',' ORDER BY version) "
                             "FROM mig_log"),
              "1,2,3");
    EXPECT_EQ(cluster().psql(db_,
                             "SELECT string_agg(version::text || ':' || description, ',' "
                             "ORDER BY version) FROM tp_schema_version"),
              "1:log and items,2:items gain a name,3:an index");
    for (auto& c : conns) EXPECT_FALSE(c->in_transaction());
}

TEST_F(Migrate, ARerunAppliesNothingAndALaterVersionIsAdded) {
    auto known = test_migrations();
    pg_connection c(io_.get_executor(), conninfo());
    ASSERT_TRUE(run_coro(io_, c.async_connect()));
    std::vector<migration_script> first(known.begin(), known.begin() + 2);
    auto r1 = run_coro(io_, async_migrate(c, first));
    ASSERT_TRUE(r1) << r1.error().message;
    EXPECT_EQ(r1->from_version, 0);
    EXPECT_EQ(r1->applied, (std::vector<std::int32_t>{1, 2}));

    auto again = run_coro(io_, async_migrate(c, first));
    ASSERT_TRUE(again) << again.error().message;
    EXPECT_TRUE(again->applied.empty());
    EXPECT_EQ(again->from_version, 2);
    EXPECT_EQ(again->to_version, 2);

    auto all = run_coro(io_, async_migrate(c, known));
    ASSERT_TRUE(all) << all.error().message;
    EXPECT_EQ(all->applied, (std::vector<std::int32_t>{3}));
    EXPECT_EQ(cluster().psql(db_, "SELECT count(*) FROM mig_log"), "3");
}

TEST_F(Migrate, AFailingVersionLeavesNothingBehind) {
    auto known = test_migrations();
    known[1].sql = "ALTER TABLE items ADD COLUMN name no_such_type";
    pg_connection c(io_.get_executor(), conninfo());
    ASSERT_TRUE(run_coro(io_, c.async_connect()));
    auto r = run_coro(io_, async_migrate(c, known));
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().sqlstate, "42704");  // undefined_object
    EXPECT_NE(r.error().message.find("schema version 2"), std::string::npos) << r.error().message;
    EXPECT_FALSE(c.in_transaction());
    // Version 1 ran in the same transaction: rolled back with it, as is the version table.
    EXPECT_EQ(cluster().psql(db_,
                             "SELECT to_regclass('mig_log') IS NULL, "
                             "to_regclass('tp_schema_version') IS NULL"),
              "t|t");
    EXPECT_TRUE(run_coro(io_, c.async_exec("SELECT 1")));
}

TEST_F(Migrate, ADatabaseOfANewerReleaseIsRefused) {
    auto known = test_migrations();
    pg_connection c(io_.get_executor(), conninfo());
    ASSERT_TRUE(run_coro(io_, c.async_connect()));
    ASSERT_TRUE(run_coro(io_, async_migrate(c, known)));
    std::vector<migration_script> older(known.begin(), known.begin() + 1);
    auto r = run_coro(io_, async_migrate(c, older));
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find("version 3 is newer than this taskpoller knows (1)"),
              std::string::npos)
        << r.error().message;
    EXPECT_FALSE(c.in_transaction());
    EXPECT_EQ(cluster().psql(db_, "SELECT count(*) FROM tp_schema_version"), "3");
}

// The ledger's real schema (ledger/schema.hpp) migrates a fresh database to its latest version,
// a second run applies nothing, and the lease statements work on it: the first node is granted
// epoch 1, a second node is refused while the lease runs.
TEST_F(Migrate, TheLedgerSchemaAppliesAndItsLeaseStatementsWork) {
    const auto scripts = schema_scripts();
    ASSERT_EQ(scripts.back().version, latest_schema_version());
    pg_connection c(io_.get_executor(), conninfo());
    ASSERT_TRUE(run_coro(io_, c.async_connect()));
    auto first = run_coro(io_, async_migrate(c, scripts));
    ASSERT_TRUE(first) << first.error().message;
    EXPECT_EQ(first->to_version, latest_schema_version());
    EXPECT_EQ(first->applied.size(), scripts.size());
    auto again = run_coro(io_, async_migrate(c, scripts));
    ASSERT_TRUE(again) << again.error().message;
    EXPECT_TRUE(again->applied.empty());

    ASSERT_TRUE(run_coro(io_, c.async_exec(lease_sql::ensure_row, {pg_param{"acct-1"}})));
    std::vector<pg_param> a{"acct-1", "node-a", "10 seconds"};
    auto granted = run_coro(io_, c.async_exec(lease_sql::acquire, std::move(a)));
    ASSERT_TRUE(granted) << granted.error().message;
    ASSERT_EQ(granted->rows(), 1);
    EXPECT_EQ(granted->get_int(0, 0), 1);  // epoch 1
    std::vector<pg_param> b{"acct-1", "node-b", "10 seconds"};
    auto refused = run_coro(io_, c.async_exec(lease_sql::acquire, std::move(b)));
    ASSERT_TRUE(refused) << refused.error().message;
    EXPECT_EQ(refused->rows(), 0);
}

}  // namespace
}  // namespace taskpoller::ledger
