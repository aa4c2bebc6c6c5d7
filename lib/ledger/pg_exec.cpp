// pg_connection: statements, pipelines, transactions and notifications (pg_connection.cpp has
// the socket waits they are built from).
#include "ledger/pg_connection.hpp"

// GCC 12 reports a false -Wmismatched-new-delete for coroutine frames whose promise type has a
// sized operator delete (Asio's awaitable); see GCC bug 109224.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

#include <boost/asio/use_awaitable.hpp>
#include <utility>

#include "ledger/pg_impl.hpp"

namespace taskpoller::ledger {
namespace asio = boost::asio;

namespace {

// The parameters as libpq wants them (text format; nullptr is NULL). Points into `params`.
std::vector<const char*> param_values(const std::vector<pg_param>& params) {
    std::vector<const char*> v;
    v.reserve(params.size());
    for (const auto& p : params) v.push_back(p ? p->c_str() : nullptr);
    return v;
}

bool send_params(PGconn* c, const std::string& sql, const std::vector<pg_param>& params) {
    auto values = param_values(params);
    return PQsendQueryParams(c, sql.c_str(), static_cast<int>(values.size()), nullptr,
                             values.data(), nullptr, nullptr, 0) != 0;
}

// The connection failed after a statement's error (a terminated backend sends its FATAL error
// and closes): that error, which says why, with connection_lost.
pg_error lost_after(std::optional<pg_error> first, pg_error lost) {
    if (!first) return lost;
    first->connection_lost = true;
    first->timed_out = first->timed_out || lost.timed_out;
    return *first;
}

// Reads the results of one sent statement (or script) to its end: the last result, or the
// first error. The connection must not be in pipeline mode.
asio::awaitable<pg_outcome<pg_result>> read_results(pg_connection::impl& s,
                                                    steady_clock::time_point deadline) {
    bool timed_out = false;
    bool failed = false;
    pg_error err;
    std::optional<pg_error> first_error;
    pg_result last;
    for (;;) {
        auto r = co_await s.next_result(deadline, timed_out, failed, err);
        if (failed) co_return lost_after(std::move(first_error), std::move(err));
        if (r.raw() == nullptr) break;
        if (auto e = result_error(r.raw(), s.conn)) {
            if (!first_error) first_error = std::move(e);
        } else {
            last = std::move(r);
        }
    }
    s.take_notifications();
    if (first_error) {
        first_error->timed_out = timed_out;
        co_return *first_error;
    }
    co_return last;
}

}  // namespace

asio::awaitable<pg_outcome<pg_result>> pg_connection::async_exec(
    std::string_view sql, std::vector<pg_param> params, std::chrono::milliseconds timeout) {
    auto& s = *impl_;
    if (auto e = s.begin_operation()) co_return *e;
    busy_guard guard(s);
    auto deadline = steady_clock::now() + timeout;
    if (!send_params(s.conn, std::string(sql), params)) co_return s.connection_error("sending");
    pg_error err;
    if (!co_await s.flush(deadline, err)) co_return err;
    co_return co_await read_results(s, deadline);
}

asio::awaitable<pg_outcome<pg_result>> pg_connection::async_exec_script(
    std::string_view sql, std::chrono::milliseconds timeout) {
    auto& s = *impl_;
    if (auto e = s.begin_operation()) co_return *e;
    busy_guard guard(s);
    auto deadline = steady_clock::now() + timeout;
    if (PQsendQuery(s.conn, std::string(sql).c_str()) == 0) {
        co_return s.connection_error("sending");
    }
    pg_error err;
    if (!co_await s.flush(deadline, err)) co_return err;
    co_return co_await read_results(s, deadline);
}

asio::awaitable<pg_outcome<std::vector<pg_result>>> pg_connection::async_pipeline(
    std::vector<pg_statement> statements, std::chrono::milliseconds timeout) {
    auto& s = *impl_;
    if (auto e = s.begin_operation()) co_return *e;
    busy_guard guard(s);
    auto deadline = steady_clock::now() + timeout;
    if (PQenterPipelineMode(s.conn) == 0) co_return s.connection_error("pipeline mode");
    for (const auto& st : statements) {
        if (!send_params(s.conn, st.sql, st.params)) {
            // Only a broken connection refuses to queue: nothing of the pipeline can be trusted.
            auto e = s.connection_error("sending");
            s.close();
            e.connection_lost = true;
            co_return e;
        }
    }
    if (PQpipelineSync(s.conn) == 0) {
        auto e = s.connection_error("pipeline sync");
        s.close();
        e.connection_lost = true;
        co_return e;
    }
    pg_error err;
    if (!co_await s.flush(deadline, err)) co_return err;

    bool timed_out = false;
    bool failed = false;
    std::optional<pg_error> first_error;
    std::vector<pg_result> results(statements.size());
    // Each statement's results end with an empty one; then comes the sync's.
    for (std::size_t i = 0; i <= statements.size();) {
        auto r = co_await s.next_result(deadline, timed_out, failed, err);
        if (failed) co_return lost_after(std::move(first_error), std::move(err));
        if (r.raw() == nullptr) {
            ++i;
            continue;
        }
        auto status = PQresultStatus(r.raw());
        if (status == PGRES_PIPELINE_SYNC) break;
        if (status == PGRES_PIPELINE_ABORTED) continue;  // after an earlier error
        if (auto e = result_error(r.raw(), s.conn)) {
            if (!first_error) first_error = std::move(e);
        } else if (i < results.size()) {
            results[i] = std::move(r);
        }
    }
    if (PQexitPipelineMode(s.conn) == 0) {
        auto e = s.connection_error("leaving pipeline mode");
        s.close();
        e.connection_lost = true;
        co_return e;
    }
    s.take_notifications();
    if (first_error) {
        first_error->timed_out = timed_out;
        co_return *first_error;
    }
    co_return results;
}

asio::awaitable<pg_outcome<std::vector<pg_result>>> pg_connection::async_transaction(
    std::vector<pg_statement> statements, std::chrono::milliseconds timeout) {
    statements.insert(statements.begin(), pg_statement{.sql = "BEGIN"});
    statements.push_back(pg_statement{.sql = "COMMIT"});
    auto r = co_await async_pipeline(std::move(statements), timeout);
    if (!r) {
        // A failed statement leaves the explicit transaction open and aborted (the pipeline's
        // sync does not end it): roll it back so the connection is usable again.
        if (in_transaction()) {
            auto rb = co_await async_exec("ROLLBACK", {}, std::chrono::seconds(5));
            if (!rb) close();
        }
        co_return r.error();
    }
    auto& all = r.value();
    std::vector<pg_result> out;
    out.reserve(all.size() - 2);
    for (std::size_t i = 1; i + 1 < all.size(); ++i) out.push_back(std::move(all[i]));
    co_return out;
}

void pg_connection::impl::take_notifications() {
    if (conn == nullptr) return;
    while (PGnotify* n = PQnotifies(conn)) {
        notifications.push_back(pg_notification{.channel = n->relname != nullptr ? n->relname : "",
                                                .payload = n->extra != nullptr ? n->extra : "",
                                                .sender_pid = n->be_pid});
        PQfreemem(n);
    }
}

asio::awaitable<pg_outcome<pg_notification>> pg_connection::async_wait_notification(
    std::chrono::milliseconds timeout) {
    auto& s = *impl_;
    if (s.busy) co_return pg_error{.message = "another operation is in progress"};
    s.take_notifications();
    if (s.notifications.empty()) {
        if (auto e = s.begin_operation()) co_return *e;
        busy_guard guard(s);
        auto deadline = steady_clock::now() + timeout;
        while (s.notifications.empty()) {
            auto ready = co_await s.wait(true, false, deadline);
            if (ready.closed) {
                co_return pg_error{.message = "connection closed", .connection_lost = true};
            }
            if (ready.timed_out)
                co_return pg_error{.message = "no notification", .timed_out = true};
            if (PQconsumeInput(s.conn) == 0) co_return s.connection_error("receiving");
            s.take_notifications();
            s.sync_socket();
        }
    }
    auto n = std::move(s.notifications.front());
    s.notifications.pop_front();
    co_return n;
}

}  // namespace taskpoller::ledger
