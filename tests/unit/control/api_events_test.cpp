// GET /v1/events: replay from `since`, live changes, gaps, expiry lines, slow readers; read
// with real `curl --unix-socket`.
#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <sstream>

#include "api_fixture.hpp"

namespace taskpoller::control::test {
namespace {

using verb = http::verb;

// Reads the events stream with curl for `seconds`; returns the parsed lines.
std::vector<json::object> read_events(const std::string& socket, const std::string& query,
                                      double seconds) {
    const std::string out =
        run_command("curl -sN --max-time " + std::to_string(seconds) + " --unix-socket " + socket +
                    " 'http://localhost/v1/events" + query + "'");
    std::vector<json::object> lines;
    std::istringstream in(out);
    std::string line;
    while (std::getline(in, line)) {
        if (line.empty()) continue;
        boost::system::error_code ec;
        auto v = json::parse(line, ec);
        EXPECT_FALSE(ec) << "not JSON: " << line;
        if (!ec && v.is_object()) lines.push_back(v.as_object());
    }
    return lines;
}

std::vector<std::uint64_t> seqs_of(const std::vector<json::object>& lines) {
    std::vector<std::uint64_t> out;
    for (const auto& l : lines)
        if (const auto* s = l.if_contains("seq")) out.push_back(s->to_number<std::uint64_t>());
    return out;
}

void expect_contiguous(const std::vector<std::uint64_t>& seqs, std::uint64_t first,
                       std::uint64_t last) {
    ASSERT_EQ(seqs.size(), last - first + 1);
    for (std::size_t i = 0; i < seqs.size(); ++i) EXPECT_EQ(seqs[i], first + i);
}

TEST(ApiEvents, ReplaysFromSinceWithoutGapsOrDuplicates) {
    api_env env;
    auto id = env.add_batch({"r1", "r2"});
    env.set_state("lb", "r1", core::task_state::succeeded);
    const auto last = env.on_io([&] { return env.st.seq(); });
    ASSERT_GE(last, 4u);

    auto all = read_events(env.path, "?since=0", 1.0);
    expect_contiguous(seqs_of(all), 1, last);
    EXPECT_EQ(all.front().at("type").as_string(), "batch");
    EXPECT_EQ(all.front().at("change").as_string(), "created");
    EXPECT_EQ(all.front().at("batch").as_object().at("id").as_string(), id);
    bool saw_task = false;
    for (const auto& l : all) {
        if (l.at("type") != "task") continue;
        saw_task = true;
        EXPECT_TRUE(l.at("task").as_object().contains("state"));
        EXPECT_TRUE(l.at("key").as_string().starts_with("lb/"));
        // The rest of the task's identity (requestIds can be shared: core/task_key.hpp).
        EXPECT_EQ(l.at("region").as_string(), "ap-guangzhou");
        EXPECT_EQ(l.at("batch_id").as_string(), id);
    }
    EXPECT_TRUE(saw_task);

    auto rest = read_events(env.path, "?since=2", 1.0);
    expect_contiguous(seqs_of(rest), 3, last);
    EXPECT_TRUE(read_events(env.path, "?since=" + std::to_string(last), 0.5).empty());
}

TEST(ApiEvents, WithoutSinceStreamsOnlyLiveChanges) {
    api_env env;
    env.add_batch({"r1"});
    const auto before = env.on_io([&] { return env.st.seq(); });
    std::vector<json::object> lines;
    std::thread reader([&] { lines = read_events(env.path, "", 2.5); });
    // Wait for the stream to subscribe, then change things.
    for (int i = 0; i < 200 && env.on_io([&] { return env.ctx.events_subscribers; }) == 0; ++i)
        std::this_thread::sleep_for(10ms);
    EXPECT_EQ(env.on_io([&] { return env.ctx.events_subscribers; }), 1u);
    env.set_state("lb", "r1", core::task_state::failed);
    env.add_batch({"r2"});
    const auto after = env.on_io([&] { return env.st.seq(); });
    reader.join();
    expect_contiguous(seqs_of(lines), before + 1, after);
    ASSERT_FALSE(lines.empty());
    EXPECT_EQ(lines.front().at("task").as_object().at("state").as_string(), "failed");
    for (int i = 0; i < 200 && env.on_io([&] { return env.ctx.events_subscribers; }) != 0; ++i)
        std::this_thread::sleep_for(10ms);
    EXPECT_EQ(env.on_io([&] { return env.ctx.events_subscribers; }), 0u);
}

TEST(ApiEvents, ReportsAGapWhenChangesAreNoLongerRetained) {
    api_env_options o;
    o.change_log_capacity = 4;
    api_env env(o);
    env.add_batch({"r1", "r2", "r3"});  // 1 created + 3 tasks + 1 outcome change > 4
    const auto last = env.on_io([&] { return env.st.seq(); });
    ASSERT_GT(last, 4u);
    auto lines = read_events(env.path, "?since=0", 1.0);
    ASSERT_FALSE(lines.empty());
    EXPECT_EQ(lines.front().at("type").as_string(), "gap");
    EXPECT_EQ(lines.front().at("from").as_int64(), 1);
    const auto to = lines.front().at("to").to_number<std::uint64_t>();
    EXPECT_EQ(to, last - 4);
    expect_contiguous(seqs_of(lines), to + 1, last);
}

TEST(ApiEvents, ExpiredObjectsGetAnExpiryLine) {
    api_env env;
    auto id = env.add_batch({"r1"});
    env.set_state("lb", "r1", core::task_state::succeeded);
    const auto before = env.on_io([&] { return env.st.seq(); });
    env.on_io([&] {
        env.st.set_retention({std::chrono::seconds(0), 1'000'000, 100'000});
        return env.st.expire(env.clock.system_now() + std::chrono::seconds(1));
    });
    auto lines = read_events(env.path, "?since=" + std::to_string(before), 1.0);
    ASSERT_FALSE(lines.empty());
    bool batch_expired = false, task_expired = false;
    for (const auto& l : lines) {
        EXPECT_EQ(l.at("change").as_string(), "expired");
        EXPECT_FALSE(l.contains("task"));
        EXPECT_FALSE(l.contains("batch"));
        if (l.at("type") == "batch" && l.at("key").as_string() == id) batch_expired = true;
        if (l.at("type") == "task" && l.at("key").as_string() == "lb/r1") {
            task_expired = true;
            EXPECT_EQ(l.at("batch_id").as_string(), id);  // an expired task is still named fully
        }
    }
    EXPECT_TRUE(batch_expired);
    EXPECT_TRUE(task_expired);
}

TEST(ApiEvents, RejectsBadSince) {
    api_env env;
    auto bad = call(env.path, verb::get, "/v1/events?since=abc");
    EXPECT_EQ(bad.status, 400u);
    EXPECT_NE(error_message_of(bad).find("since"), std::string::npos);
    auto ahead = call(env.path, verb::get, "/v1/events?since=99");
    EXPECT_EQ(ahead.status, 400u);
    EXPECT_EQ(call(env.path, verb::get, "/v1/events?from=1").status, 400u);
}

TEST(ApiEvents, StreamsCountAgainstTheWaiterLimit) {
    api_env_options o;
    o.max_waiters = 1;
    api_env env(o);
    std::thread reader([&] { read_events(env.path, "", 1.5); });
    for (int i = 0; i < 200 && env.on_io([&] { return env.ctx.events_subscribers; }) == 0; ++i)
        std::this_thread::sleep_for(10ms);
    auto second = call(env.path, verb::get, "/v1/events");
    EXPECT_EQ(second.status, 429u);
    reader.join();
}

TEST(ApiEvents, SlowReaderIsCutOffWithAFinalLine) {
    api_env_options o;
    o.stream_max_lines = 50;
    api_env env(o);
    client c(env.path);
    c.send_raw("GET /v1/events HTTP/1.1\r\nHost: localhost\r\n\r\n");
    for (int i = 0; i < 200 && env.on_io([&] { return env.ctx.events_subscribers; }) == 0; ++i)
        std::this_thread::sleep_for(10ms);
    // Far more than the socket buffers hold, while the client reads nothing.
    std::vector<std::string> ids;
    for (int i = 0; i < 3000; ++i) ids.push_back("q" + std::to_string(i));
    env.add_batch(ids);
    const std::string all = c.read_to_eof();
    EXPECT_NE(all.find("\"slow_reader\""), std::string::npos) << all.substr(0, 300);
    for (int i = 0; i < 200 && env.on_io([&] { return env.ctx.events_subscribers; }) != 0; ++i)
        std::this_thread::sleep_for(10ms);
    EXPECT_EQ(env.on_io([&] { return env.ctx.events_subscribers; }), 0u);
}

}  // namespace
}  // namespace taskpoller::control::test
