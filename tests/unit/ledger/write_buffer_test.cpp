// The leader's write buffer (ledger/write_buffer.hpp): what one transaction carries, and who is
// told a change is durable, when. The statements themselves run against PostgreSQL in
// tests/ledger/node_test.cpp.
#include "ledger/write_buffer.hpp"

#include <gtest/gtest.h>

#include "ledger/node.hpp"
#include "store/journal_record.hpp"

namespace taskpoller::ledger {
namespace {

core::batch make_batch(std::string id, std::uint64_t seq, core::batch_state s) {
    core::batch b;
    b.id = std::move(id);
    b.service = "cvm";
    b.action = "StopInstances";
    b.region = "ap-guangzhou";
    b.state = s;
    b.created_seq = 1;
    b.updated_seq = seq;
    return b;
}

core::task make_task(std::string rid, std::uint64_t seq, core::task_state s) {
    core::task t;
    t.service = "lb";
    t.request_id = std::move(rid);
    t.region = "ap-guangzhou";
    t.batch_id = "b-1";
    t.action = "ModifyBackends";
    t.state = s;
    t.created_seq = 2;
    t.updated_seq = seq;
    return t;
}

store::change chg(std::uint64_t seq, store::change_kind k, std::string subject) {
    return store::change{seq, k, std::move(subject), "x"};
}

TEST(PgArrays, TextArraysQuoteEverythingThatMatters) {
    EXPECT_EQ(pg_text_array({}), "{}");
    EXPECT_EQ(pg_text_array({"a", "", "b c", "q\"uote", "back\\slash", "NULL", "{,}"}),
              R"({"a","","b c","q\"uote","back\\slash","NULL","{,}"})");
    EXPECT_EQ(pg_int_array({1, -2, 3000000000}), "{1,-2,3000000000}");
}

TEST(PgArrays, HexRoundTripsEveryByte) {
    std::string all;
    for (int i = 0; i < 256; ++i) all += static_cast<char>(i);
    auto hex = to_hex(all);
    EXPECT_EQ(hex.size(), 512u);
    EXPECT_EQ(hex.substr(0, 6), "000102");
    EXPECT_EQ(from_hex(hex), all);
    EXPECT_EQ(from_hex("0A0b"), std::string("\x0a\x0b"));
    EXPECT_FALSE(from_hex("abc"));
    EXPECT_FALSE(from_hex("zz"));
}

TEST(PgTimestamp, ParsesIsoWithOffsetsAndFractions) {
    using namespace std::chrono;
    auto base = sys_days(year(2026) / 12 / 7) + hours(3) + minutes(40) + seconds(12);
    EXPECT_EQ(parse_pg_timestamp("2026-12-07 03:40:12+00"), base);
    EXPECT_EQ(parse_pg_timestamp("2026-12-07 03:40:12.5+00"), base + milliseconds(500));
    EXPECT_EQ(parse_pg_timestamp("2026-12-07 03:40:12.123456+00"), base + microseconds(123456));
    EXPECT_EQ(parse_pg_timestamp("2026-12-07 11:40:12+08"), base);
    EXPECT_EQ(parse_pg_timestamp("2026-12-06 22:10:12-05:30"), base);
    EXPECT_EQ(parse_pg_timestamp("infinity"), core::sys_time::max());
    EXPECT_EQ(parse_pg_timestamp("-infinity"), core::sys_time::min());
    EXPECT_FALSE(parse_pg_timestamp("2026-12-07 03:40:12"));  // no offset: ambiguous
    EXPECT_FALSE(parse_pg_timestamp("2026-13-07 03:40:12+00"));
    EXPECT_FALSE(parse_pg_timestamp("2026-12-07 03:40:12.+00"));
    EXPECT_FALSE(parse_pg_timestamp(""));
}

TEST(WriteBuffer, NothingPendingMeansNoTransaction) {
    write_buffer w;
    auto t = w.next_transaction("l", "n", 1, 100);
    EXPECT_TRUE(t.statements.empty());
    EXPECT_EQ(t.changes, 0u);
}

TEST(WriteBuffer, ATransactionIsFencedFirstAndCarriesEachObjectsLastState) {
    write_buffer w;
    w.add_batch(chg(1, store::change_kind::batch_created, "b-1"),
                make_batch("b-1", 1, core::batch_state::submitting));
    w.add_batch(chg(2, store::change_kind::batch_changed, "b-1"),
                make_batch("b-1", 2, core::batch_state::submitted));
    w.add_task(chg(3, store::change_kind::task_created, "lb/r1"),
               make_task("r1", 3, core::task_state::pending));
    w.add_task(chg(4, store::change_kind::task_created, "lb/r2"),
               make_task("r2", 4, core::task_state::pending));
    w.add_task(chg(5, store::change_kind::task_expired, "lb/r2"),
               make_task("r2", 5, core::task_state::succeeded));
    auto t = w.next_transaction("acct", "host-a", 7, 100);
    EXPECT_EQ(t.changes, 5u);
    EXPECT_EQ(t.through_seq, 5u);
    ASSERT_GE(t.statements.size(), 6u);
    EXPECT_NE(t.statements[0].sql.find("tp_fence"), std::string::npos);
    EXPECT_EQ(t.statements[0].params, (std::vector<pg_param>{"acct", "host-a", "7"}));
    // The change rows: all five, in order.
    EXPECT_NE(t.statements[1].sql.find("INSERT INTO tp_changes"), std::string::npos);
    EXPECT_EQ(t.statements[1].params[2], pg_param("{1,2,3,4,5}"));
    // The task expired in this transaction is deleted, not upserted; the batch is upserted once
    // with its last state; r1 upserted.
    auto find_stmt = [&](std::string_view what) -> const pg_statement* {
        for (const auto& s : t.statements)
            if (s.sql.find(what) != std::string::npos) return &s;
        return nullptr;
    };
    auto* del = find_stmt("DELETE FROM tp_tasks");
    ASSERT_NE(del, nullptr);
    EXPECT_EQ(del->params[2], pg_param(R"({"r2"})"));
    auto* ub = find_stmt("INSERT INTO tp_batches");
    ASSERT_NE(ub, nullptr);
    EXPECT_EQ(ub->params[1], pg_param(R"({"b-1"})"));
    EXPECT_EQ(ub->params[2], pg_param(R"({"submitted"})"));
    EXPECT_EQ(ub->params[5], pg_param("{2}"));  // updated_seq
    auto* ut = find_stmt("INSERT INTO tp_tasks");
    ASSERT_NE(ut, nullptr);
    EXPECT_EQ(ut->params[2], pg_param(R"({"r1"})"));
    EXPECT_EQ(find_stmt("DELETE FROM tp_batches"), nullptr);
    EXPECT_NE(t.statements.back().sql.find("pg_notify"), std::string::npos);
    // The last-seq update precedes the NOTIFY.
    EXPECT_NE(t.statements[t.statements.size() - 2].sql.find("tp_ledger_state"), std::string::npos);
    EXPECT_EQ(t.statements[t.statements.size() - 2].params[1], pg_param("5"));
}

TEST(WriteBuffer, RecordsAreTheJournalsOwn) {
    write_buffer w;
    auto b = make_batch("b-1", 1, core::batch_state::submitting);
    w.add_batch(chg(1, store::change_kind::batch_created, "b-1"), b);
    auto t = w.next_transaction("l", "n", 1, 100);
    const std::string hex = *t.statements[1].params[6];
    ASSERT_GE(hex.size(), 4u);
    auto bytes = from_hex(hex.substr(2, hex.size() - 4));  // {"..."}
    ASSERT_TRUE(bytes);
    auto f = store::read_journal_frame(*bytes, 0);
    ASSERT_EQ(f.status, store::frame_status::ok);
    ASSERT_EQ(f.type, store::journal_record_type::batch);
    auto back = store::decode_batch_record(f.payload);
    ASSERT_TRUE(back);
    EXPECT_EQ(*back, b);
}

TEST(WriteBuffer, APrefixIsBoundedAndCommitsTellTheirWaitersInOrder) {
    write_buffer w;
    for (std::uint64_t s = 1; s <= 10; ++s) {
        w.add_task(chg(s, store::change_kind::task_created, "lb/r"),
                   make_task("r" + std::to_string(s), s, core::task_state::pending));
    }
    std::vector<std::uint64_t> told;
    for (std::uint64_t s : {7u, 3u, 10u}) {
        w.when_durable(s, [&told, s](core::result<void> r) {
            ASSERT_TRUE(r);
            told.push_back(s);
        });
    }
    auto t = w.next_transaction("l", "n", 1, 4);
    EXPECT_EQ(t.changes, 4u);
    EXPECT_EQ(t.through_seq, 4u);
    EXPECT_TRUE(told.empty());
    // A failed attempt changes nothing: the same prefix again (idempotent statements).
    auto again = w.next_transaction("l", "n", 1, 4);
    EXPECT_EQ(again.through_seq, 4u);
    w.committed(t);
    EXPECT_EQ(told, (std::vector<std::uint64_t>{3}));
    EXPECT_EQ(w.pending(), 6u);
    auto rest = w.next_transaction("l", "n", 1, 100);
    EXPECT_EQ(rest.through_seq, 10u);
    w.committed(rest);
    EXPECT_EQ(told, (std::vector<std::uint64_t>{3, 7, 10}));
    EXPECT_EQ(w.waiters(), 0u);
    // Already durable: at once.
    bool now = false;
    w.when_durable(9, [&now](core::result<void> r) { now = bool(r); });
    EXPECT_TRUE(now);
}

TEST(WriteBuffer, ALostLeaseFailsEveryWaiterAndLaterOnes) {
    write_buffer w;
    w.add_task(chg(1, store::change_kind::task_created, "lb/r"),
               make_task("r", 1, core::task_state::pending));
    std::optional<core::result<void>> first, later;
    w.when_durable(1, [&first](core::result<void> r) { first = std::move(r); });
    w.fail("lease lost");
    ASSERT_TRUE(first);
    ASSERT_FALSE(*first);
    EXPECT_EQ(first->error().kind, core::error_kind::unavailable);
    EXPECT_EQ(w.pending(), 0u);
    w.when_durable(1, [&later](core::result<void> r) { later = std::move(r); });
    ASSERT_TRUE(later);
    EXPECT_FALSE(*later);
    // Nothing more is buffered after a failure.
    w.add_task(chg(2, store::change_kind::task_changed, "lb/r"),
               make_task("r", 2, core::task_state::running));
    EXPECT_EQ(w.pending(), 0u);
}

}  // namespace
}  // namespace taskpoller::ledger

namespace taskpoller::ledger {
namespace {

TEST(WriteBuffer, ATransactionIsBoundedInBytesButCarriesAtLeastOneChange) {
    write_buffer w;
    for (std::uint64_t s = 1; s <= 4; ++s) {
        auto t = make_task("r" + std::to_string(s), s, core::task_state::pending);
        t.last_error = std::string(1000, 'x');  // ~1 KB records
        w.add_task(chg(s, store::change_kind::task_created, "lb/r"), t);
    }
    EXPECT_EQ(w.next_transaction("l", "n", 1, 100, 2500).changes, 2u);
    EXPECT_EQ(w.next_transaction("l", "n", 1, 100, 10).changes, 1u);
    EXPECT_EQ(w.next_transaction("l", "n", 1, 100).changes, 4u);
}

TEST(WriteBuffer, StatementsRideTheNextTransactionAndACreatedBatchTakesItsIntent) {
    write_buffer w;
    w.add_statement({"UPDATE tp_intents SET state = 'refused'", {"l"}});
    auto only = w.next_transaction("l", "n", 3, 100);
    ASSERT_EQ(only.statements.size(), 2u);  // the fence, the statement
    EXPECT_EQ(only.extras, 1u);
    EXPECT_EQ(w.pending(), 1u);
    auto b = make_batch("b-1", 1, core::batch_state::submitting);
    b.client_token = "tok";
    w.add_batch(chg(1, store::change_kind::batch_created, "b-1"), b);
    auto t = w.next_transaction("l", "n", 3, 100);
    EXPECT_EQ(t.extras, 1u);
    const pg_statement* take = nullptr;
    for (const auto& s : t.statements)
        if (s.sql.find("UPDATE tp_intents i SET state = 'done'") != std::string::npos) take = &s;
    ASSERT_NE(take, nullptr);
    EXPECT_EQ(take->params[1], pg_param(R"({"tok"})"));
    EXPECT_EQ(take->params[2], pg_param(R"({"b-1"})"));
    w.committed(t);
    EXPECT_EQ(w.pending(), 0u);
}

}  // namespace
}  // namespace taskpoller::ledger
