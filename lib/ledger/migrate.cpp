#include "ledger/migrate.hpp"

// GCC 12 reports a false -Wmismatched-new-delete for coroutine frames whose promise type has a
// sized operator delete (Asio's awaitable); see GCC bug 109224.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

#include <fmt/format.h>

#include <algorithm>
#include <boost/asio/use_awaitable.hpp>

namespace taskpoller::ledger {
namespace asio = boost::asio;

core::result<std::vector<std::size_t>> plan_migrations(std::span<const migration_script> known,
                                                       std::span<const std::int32_t> applied) {
    std::int32_t previous = 0;
    for (const auto& m : known) {
        if (m.version <= previous) {
            return core::error{
                fmt::format("schema migrations: version {} after {}: versions must increase from 1",
                            m.version, previous)};
        }
        previous = m.version;
    }
    const std::int32_t newest_known = previous;
    const auto newest_applied = std::max_element(applied.begin(), applied.end());
    if (newest_applied != applied.end() && *newest_applied > newest_known) {
        return core::error{fmt::format(
            "the database's schema version {} is newer than this taskpoller knows ({}): "
            "it was migrated by a newer release; run that release or newer",
            *newest_applied, newest_known)};
    }
    for (auto v : applied) {
        auto is_v = [v](const migration_script& m) { return m.version == v; };
        if (std::none_of(known.begin(), known.end(), is_v)) {
            return core::error{fmt::format(
                "the database records schema version {}, which this taskpoller does not know", v)};
        }
    }
    std::vector<std::size_t> todo;
    for (std::size_t i = 0; i < known.size(); ++i) {
        if (std::find(applied.begin(), applied.end(), known[i].version) == applied.end()) {
            todo.push_back(i);
        }
    }
    return todo;
}

std::vector<migration_script> schema_scripts() {
    std::vector<migration_script> out;
    for (const auto& m : migrations()) {
        migration_script s{m.version, std::string(m.description), {}};
        for (const auto& statement : m.statements) {
            if (!s.sql.empty()) s.sql += ";\n";
            s.sql += statement;
        }
        out.push_back(std::move(s));
    }
    return out;
}

namespace {

pg_error context(pg_error e, std::string_view what) {
    e.message = std::string(what) + ": " + e.message;
    return e;
}

// The steps inside the transaction; the caller commits or rolls back.
asio::awaitable<pg_outcome<migrate_report>> migrate_in_transaction(
    pg_connection& c, std::span<const migration_script> known, std::chrono::milliseconds timeout) {
    // (Parameter vectors are built before co_await: GCC 12 cannot compile a braced list
    // inside a co_await expression.)
    std::vector<pg_param> key{std::to_string(schema_lock_key)};
    auto lock = co_await c.async_exec("SELECT pg_advisory_xact_lock($1)", std::move(key), timeout);
    if (!lock) co_return context(lock.error(), "migration lock");
    auto table = co_await c.async_exec(bootstrap_statement, {}, timeout);
    if (!table) co_return context(table.error(), "migration table");
    auto select = fmt::format("SELECT version FROM {} ORDER BY version", migrations_table);
    auto rows = co_await c.async_exec(select, {}, timeout);
    if (!rows) co_return context(rows.error(), "migration table");
    std::vector<std::int32_t> applied;
    for (int i = 0; i < rows->rows(); ++i) {
        applied.push_back(static_cast<std::int32_t>(rows->get_int(i, 0).value_or(0)));
    }
    auto plan = plan_migrations(known, applied);
    if (!plan) co_return pg_error{.message = plan.error().message};
    migrate_report report;
    report.from_version = applied.empty() ? 0 : applied.back();
    report.to_version = report.from_version;
    for (auto i : *plan) {
        const auto& m = known[i];
        auto what = fmt::format("schema version {} ({})", m.version, m.description);
        auto run = co_await c.async_exec_script(m.sql, timeout);
        if (!run) co_return context(run.error(), what);
        std::vector<pg_param> row{std::to_string(m.version), m.description};
        auto record = co_await c.async_exec(record_version_statement, std::move(row), timeout);
        if (!record) co_return context(record.error(), what);
        report.applied.push_back(m.version);
        report.to_version = std::max(report.to_version, m.version);
    }
    co_return report;
}

}  // namespace

asio::awaitable<pg_outcome<migrate_report>> async_migrate(pg_connection& c,
                                                          std::span<const migration_script> known,
                                                          std::chrono::milliseconds timeout) {
    auto begin = co_await c.async_exec("BEGIN", {}, timeout);
    if (!begin) co_return context(begin.error(), "migration");
    auto r = co_await migrate_in_transaction(c, known, timeout);
    if (r) {
        auto commit = co_await c.async_exec("COMMIT", {}, timeout);
        if (commit) co_return r;
        r = context(commit.error(), "migration commit");
    }
    if (c.in_transaction()) {
        auto rollback = co_await c.async_exec("ROLLBACK", {}, std::chrono::seconds(5));
        if (!rollback) c.close();
    }
    co_return r;
}

}  // namespace taskpoller::ledger
