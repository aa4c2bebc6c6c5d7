#pragma once
// Test support: a GoogleTest fixture with its own database in the executable's shared cluster,
// and a helper that runs one coroutine to completion on the fixture's io_context.

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <exception>
#include <optional>
#include <string>
#include <utility>

#include "support/pg_cluster.hpp"

namespace taskpoller::testing {

/// Runs `a` on `io` (single-threaded, this thread) until it and everything else queued end;
/// rethrows its exception.
template <class T>
T run_coro(boost::asio::io_context& io, boost::asio::awaitable<T> a) {
    std::optional<T> out;
    std::exception_ptr error;
    boost::asio::co_spawn(io, std::move(a), [&](std::exception_ptr e, T v) {
        error = e;
        if (!e) out.emplace(std::move(v));
    });
    io.restart();
    io.run();
    if (error) std::rethrow_exception(error);
    return std::move(*out);
}

/// Each test gets a database of its own (CREATE DATABASE in the shared cluster).
class pg_test : public ::testing::Test {
  protected:
    void SetUp() override {
        db_ = cluster().create_database(
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    }
    static pg_cluster& cluster() { return shared_pg_cluster(); }
    std::string conninfo() const { return cluster().conninfo(db_); }

    boost::asio::io_context io_;
    std::string db_;
};

}  // namespace taskpoller::testing
