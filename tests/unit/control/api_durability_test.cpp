// With a failed journal the API acknowledges nothing (issue 16): a submission whose outcome
// could not be synced, a repeat of it, an adoption, a cancellation all answer 503.
#include <gtest/gtest.h>

#include <cerrno>
#include <filesystem>

#include "api_fixture.hpp"
#include "control/journal_status.hpp"
#include "store/journal.hpp"

namespace taskpoller::control::test {
namespace {

using verb = http::verb;

// A journal on the fixture's store whose syncs succeed `good_syncs` times, then fail (ENOSPC).
struct journaled_env {
    api_env env;
    int syncs = 0;
    int good_syncs = 0;
    std::unique_ptr<store::journal> journal;

    explicit journaled_env(int good, std::uint64_t compact_at = 64u << 20) : good_syncs(good) {
        store::journal_options o;
        o.compact_at_bytes = compact_at;
        o.sync = [this](int) {
            if (++syncs > good_syncs) {
                errno = ENOSPC;
                return -1;
            }
            return 0;
        };
        auto j = store::journal::open(env.dir.path() + "/journal", o);
        if (!j) throw std::runtime_error(j.error().message);
        journal = std::move(*j);
        env.on_io([this] {
            env.ctx.journal_status = [this] { return journal_status_of(*journal, "strict"); };
            return bool(journal->replay(env.st));
        });
    }
    ~journaled_env() {
        env.on_io([this] {
            env.ctx.journal_status = nullptr;
            journal.reset();
            return 0;
        });
    }
};

const std::string submission =
    R"({"service":"lb","action":"DeleteLoadBalancers","params":{"loadBalancerIds":["lb-1"]},)"
    R"("client_token":"tok-1"})";

TEST(ApiDurability, AnOutcomeThatCouldNotBeSyncedIsNotAcknowledged) {
    journaled_env j(1);  // the intent's sync succeeds, the outcome's fails
    auto r = call(j.env.path, verb::post, "/v1/batches", submission);
    EXPECT_EQ(r.status, 503u) << r.body;
    EXPECT_EQ(error_code_of(r), "unavailable");
    auto again = call(j.env.path, verb::post, "/v1/batches", submission);  // the client's retry
    EXPECT_EQ(again.status, 503u) << again.body;
    EXPECT_EQ(j.env.on_io([&] { return j.env.st.batch_count(); }), 1u);  // kept in memory
}

TEST(ApiDurability, AdoptionsAndCancellationsAreNotAcknowledgedOnceTheJournalFailed) {
    journaled_env j(2);
    auto id = j.env.add_batch({"r1", "r2"});  // two syncs: intent and outcome
    auto adopt = call(j.env.path, verb::post, "/v1/tasks",
                      R"({"service":"lb","request_id":"x1","action":"DeleteLoadBalancers"})");
    EXPECT_EQ(adopt.status, 503u) << adopt.body;
    auto cancel = call(j.env.path, verb::delete_, "/v1/tasks/lb/r1");
    EXPECT_EQ(cancel.status, 503u) << cancel.body;
    auto cancel_batch = call(j.env.path, verb::delete_, "/v1/batches/" + id);
    EXPECT_EQ(cancel_batch.status, 503u) << cancel_batch.body;
}

// Issue 16: compaction failing every 2 s while /v1/status said healthy.
TEST(ApiDurability, StatusAndMetricsReportAFailingCompaction) {
    journaled_env j(1000, 1);
    j.env.add_batch({"r1"});
    auto tmp = j.env.dir.path() + "/journal.snapshot.tmp";
    std::filesystem::create_directory(tmp);  // the snapshot cannot be written
    j.env.on_io([&] { return bool(j.journal->compact_if_due()); });
    auto st = call(j.env.path, verb::get, "/v1/status");
    ASSERT_EQ(st.status, 200u) << st.body;
    const auto& o = st.doc.as_object().at("journal").as_object();
    EXPECT_FALSE(o.at("healthy").as_bool()) << st.body;
    EXPECT_TRUE(o.at("durable").as_bool());
    EXPECT_NE(std::string(o.at("error").as_string()).find(tmp), std::string::npos) << st.body;
    EXPECT_FALSE(o.at("compaction_error").is_null());
    EXPECT_EQ(o.at("compaction_failures").as_int64(), 1);
    auto m = call(j.env.path, verb::get, "/metrics").body;
    EXPECT_NE(m.find("taskpoller_journal_healthy 0"), std::string::npos) << m;
    EXPECT_NE(m.find("taskpoller_journal_compaction_ok 0"), std::string::npos);
    EXPECT_NE(m.find("taskpoller_journal_durable 1"), std::string::npos);
    EXPECT_NE(m.find("taskpoller_journal_compaction_failures_total 1"), std::string::npos);
    std::filesystem::remove(tmp);
    j.env.on_io([&] { return bool(j.journal->compact_if_due()); });
    auto again = call(j.env.path, verb::get, "/v1/status");
    EXPECT_TRUE(again.doc.as_object().at("journal").as_object().at("healthy").as_bool());
}

}  // namespace
}  // namespace taskpoller::control::test
