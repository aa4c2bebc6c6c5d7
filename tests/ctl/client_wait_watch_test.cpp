// wait and watch against a fake daemon: long polls, progress output, exit codes, event streams.
#include <gtest/gtest.h>

#include <atomic>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <chrono>
#include <memory>

#include "fake_daemon.hpp"
#include "sample_json.hpp"

namespace taskpoller::ctl::test {
namespace {
namespace json = boost::json;

bool has(const std::string& text, std::string_view needle) {
    return text.find(needle) != std::string::npos;
}

std::size_t occurrences(const std::string& text, std::string_view needle) {
    std::size_t n = 0;
    for (auto p = text.find(needle); p != std::string::npos; p = text.find(needle, p + 1)) ++n;
    return n;
}

// A batch document with the given state and counts (others zero), one entry per count.
std::string batch_with(std::string_view state,
                       std::initializer_list<std::pair<const char*, int>> counts) {
    json::object c;
    for (const char* k : {"pending", "running", "succeeded", "failed", "timed_out", "not_found",
                          "cancelled", "rejected", "unknown"}) {
        c[k] = 0;
    }
    json::array entries;
    int i = 0;
    for (const auto& [k, n] : counts) {
        c[k] = n;
        for (int j = 0; j < n; ++j) {
            entries.push_back(json::object{{"resource_id", "ins-" + std::to_string(++i)},
                                           {"code", 0},
                                           {"message", ""},
                                           {"request_id", std::to_string(i)},
                                           {"state", k}});
        }
    }
    return json::serialize(json::object{{"id", "b-1"},
                                        {"state", state},
                                        {"service", "cvm"},
                                        {"action", "StopInstances"},
                                        {"counts", c},
                                        {"entries", entries}});
}

// Answers GET /v1/batches/b-1... with `sequence` in order, repeating the last one.
fake_daemon::handler sequence(std::vector<std::string> docs) {
    auto n = std::make_shared<std::atomic<std::size_t>>(0);
    return [docs = std::move(docs), n](const recorded_request& r) {
        if (!r.target.starts_with("/v1/batches/b-1")) {
            return error_response(404, "not_found", "no such id");
        }
        const auto i = std::min(n->fetch_add(1), docs.size() - 1);
        canned_response c;
        c.body = docs[i];
        return c;
    };
}

std::vector<std::string> with_socket(const fake_daemon& d, std::vector<std::string> args) {
    args.insert(args.begin(), {"-s", d.socket_path()});
    return args;
}

TEST(CtlWait, LongPollsUntilDoneAndExitsZero) {
    fake_daemon d(sequence({batch_with("submitted", {{"running", 2}}),
                            batch_with("submitted", {{"running", 1}, {"succeeded", 1}}),
                            batch_with("done", {{"succeeded", 2}})}));
    const auto r = run_ctl(with_socket(d, {"wait", "b-1", "--interval", "100ms"}));
    EXPECT_EQ(r.exit_code, 0) << r.err;
    // Not a terminal: one progress line per change, then the final table.
    EXPECT_TRUE(has(r.out, "0/2 entries finished  running 2\n")) << r.out;
    EXPECT_TRUE(has(r.out, "1/2 entries finished  running 1  succeeded 1\n")) << r.out;
    EXPECT_TRUE(has(r.out, "[##############################] 2/2 entries finished  succeeded 2\n"));
    EXPECT_TRUE(has(r.out, "batch b-1  done")) << r.out;
    EXPECT_FALSE(has(r.out, "\r"));
    const auto reqs = d.requests();
    ASSERT_EQ(reqs.size(), 3u);
    EXPECT_EQ(reqs[0].target, "/v1/batches/b-1");
    EXPECT_EQ(reqs[1].target, "/v1/batches/b-1?wait=100ms");
}

TEST(CtlWait, UnchangedProgressIsNotRepeatedOffATerminal) {
    fake_daemon d(sequence(
        {batch_with("submitted", {{"running", 2}}), batch_with("submitted", {{"running", 2}}),
         batch_with("submitted", {{"running", 2}}), batch_with("done", {{"succeeded", 2}})}));
    const auto r = run_ctl(with_socket(d, {"wait", "b-1", "--interval", "50ms"}));
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(occurrences(r.out, "running 2"), 1u) << r.out;
}

TEST(CtlWait, ProgressIsRedrawnInPlaceOnATerminal) {
    fake_daemon d(sequence(
        {batch_with("submitted", {{"running", 2}}), batch_with("done", {{"succeeded", 2}})}));
    const auto r = run_ctl(with_socket(d, {"wait", "b-1", "--interval", "50ms"}), {}, true);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_TRUE(has(r.out, "\r\x1b[K[")) << r.out;
    EXPECT_TRUE(has(r.out, "\x1b[32m")) << r.out;  // colour on a terminal
}

struct outcome_case {
    std::string doc;
    int code;
};

TEST(CtlWait, ExitCodesFollowTheContract) {
    const std::vector<outcome_case> cases{
        {batch_with("done", {{"succeeded", 3}}), 0},
        {batch_with("done", {{"succeeded", 2}, {"failed", 1}}), 1},
        {batch_with("done", {{"succeeded", 2}, {"not_found", 1}}), 1},
        {batch_with("done", {{"succeeded", 2}, {"cancelled", 1}}), 1},
        {batch_with("done", {{"succeeded", 2}, {"rejected", 1}}), 1},
        {batch_with("done", {{"succeeded", 2}, {"timed_out", 1}}), 2},
        {batch_with("done", {{"failed", 2}, {"timed_out", 1}}), 2},
        {batch_with("rejected", {}), 1},
        {batch_with("unknown", {}), 2},
    };
    for (const auto& c : cases) {
        fake_daemon d(sequence({c.doc}));
        const auto r = run_ctl(with_socket(d, {"wait", "b-1"}));
        EXPECT_EQ(r.exit_code, c.code) << c.doc << "\n" << r.err;
    }
}

TEST(CtlWait, ClientTimeoutExitsTwo) {
    fake_daemon d(sequence({batch_with("submitted", {{"running", 1}})}));
    const auto r =
        run_ctl(with_socket(d, {"wait", "b-1", "--timeout", "400ms", "--interval", "100ms"}));
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_TRUE(has(r.err, "gave up waiting after 400ms: 1 of 1 not finished")) << r.err;
    EXPECT_TRUE(has(r.out, "batch b-1  submitted")) << r.out;
}

TEST(CtlWait, UnknownIdExitsTwo) {
    fake_daemon d(sequence({batch_with("done", {})}));
    const auto r = run_ctl(with_socket(d, {"wait", "b-nope"}));
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_TRUE(has(r.err, "no such id (not_found, HTTP 404)")) << r.err;
    // --json: still one line per id, the daemon's error for the unknown one.
    const auto j = run_ctl(with_socket(d, {"--json", "wait", "b-1", "b-nope"}));
    EXPECT_EQ(j.exit_code, 2);
    const auto nl = j.out.find('\n');
    ASSERT_NE(nl, std::string::npos) << j.out;
    EXPECT_EQ(json::parse(j.out.substr(0, nl)).at("state"), "done");
    EXPECT_EQ(json::parse(j.out.substr(nl + 1)).at("error").at("code"), "not_found");
}

TEST(CtlWait, SeveralIdsAndTasksCombine) {
    const std::string failed_task = R"({"service":"lb","request_id":"7","state":"failed"})";
    auto batch_n = std::make_shared<std::atomic<int>>(0);
    fake_daemon d([&](const recorded_request& r) {
        canned_response c;
        if (r.target.starts_with("/v1/tasks/lb/7")) {
            c.body = failed_task;
        } else if (r.target.starts_with("/v1/batches/b-1")) {
            c.body = batch_n->fetch_add(1) == 0 ? batch_with("submitted", {{"running", 1}})
                                                : batch_with("done", {{"succeeded", 1}});
        } else {
            return error_response(404, "not_found", "no");
        }
        return c;
    });
    const auto r = run_ctl(with_socket(d, {"--json", "wait", "b-1", "lb/7", "--interval", "50ms"}));
    EXPECT_EQ(r.exit_code, 1) << r.err;
    // --json: no progress, one document per id, in order.
    const auto nl = r.out.find('\n');
    ASSERT_NE(nl, std::string::npos);
    EXPECT_EQ(json::parse(r.out.substr(0, nl)).at("state"), "done");
    EXPECT_EQ(r.out.substr(nl + 1), failed_task + "\n");
}

TEST(CtlWait, SubmitWaitWaitsOnTheNewBatch) {
    auto polls = std::make_shared<std::atomic<int>>(0);
    fake_daemon d([polls](const recorded_request& r) {
        canned_response c;
        if (r.method == "POST") {
            c.status = 202;
            c.body = batch_with("submitted", {{"running", 2}});
        } else {
            c.body = polls->fetch_add(1) == 0
                         ? batch_with("submitted", {{"running", 2}})
                         : batch_with("done", {{"succeeded", 1}, {"failed", 1}});
        }
        return c;
    });
    const auto r =
        run_ctl(with_socket(d, {"submit", "cvm", "StopInstances", "--param", "instanceIds.0=ins-1",
                                "--wait", "--wait-interval", "50ms"}));
    EXPECT_EQ(r.exit_code, 1) << r.err;
    EXPECT_TRUE(has(r.out, "submitted batch b-1 (2 entries)\n")) << r.out;
    EXPECT_TRUE(has(r.out, "2/2 entries finished  succeeded 1  failed 1")) << r.out;
}

canned_response stream_of(std::vector<std::string> chunks, bool broken = false) {
    canned_response c;
    c.content_type = "application/x-ndjson";
    c.chunks = std::move(chunks);
    c.how = broken ? canned_response::mode::chunked_broken : canned_response::mode::chunked;
    return c;
}

// NDJSON lines must be single-line JSON: compact the multi-line samples.
std::string compact(const std::string& text) {
    return json::serialize(json::parse(text));
}
const std::string task_event =
    compact(std::string(R"({"seq":42,"type":"task","task":)") + running_task + "}") + "\n";
const std::string batch_event =
    compact(std::string(R"({"seq":43,"type":"batch","batch":)") + done_batch + "}") + "\n";

TEST(CtlWatch, ReadableLinesGapAndSlowReader) {
    // Lines split across chunks on purpose: the client must reassemble them.
    const std::string gap = R"({"type":"gap","from":10,"to":41})"
                            "\n";
    const std::string slow =
        R"({"error":{"code":"slow_reader","message":"the client read too slowly"}})"
        "\n";
    const std::string all = gap + task_event + batch_event + slow;
    fake_daemon d([&](const recorded_request&) {
        return stream_of({all.substr(0, 7), all.substr(7, 100), all.substr(107)});
    });
    const auto r = run_ctl(with_socket(d, {"watch", "--since", "9"}));
    EXPECT_EQ(r.exit_code, 1) << r.err;
    EXPECT_EQ(d.requests().at(0).target, "/v1/events?since=9");
    EXPECT_EQ(r.out,
              "-- gap: events 10 to 41 are no longer retained; use `taskpollerctl list` to resync\n"
              "#42 task  lb/6356081  running  ModifyLoadBalancerBackends\n"
              "#43 batch b-0002  done  cvm/StopInstances  succeeded 2\n");
    EXPECT_EQ(r.err,
              "taskpollerctl: the daemon ended the stream: the client read too slowly "
              "(slow_reader); resume with --since 43\n");
}

TEST(CtlWatch, ShuttingDownIsACleanEndWithTheResumePoint) {
    const std::string bye =
        R"({"error":{"code":"shutting_down","message":"the daemon is shutting down"}})"
        "\n";
    fake_daemon d([&](const recorded_request&) { return stream_of({task_event + bye}); });
    const auto r = run_ctl(with_socket(d, {"watch"}));
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.err,
              "taskpollerctl: the daemon ended the stream: the daemon is shutting down "
              "(shutting_down); resume with --since 42\n");
}

TEST(CtlWatch, JsonPassesLinesThroughAndCleanEndExitsZero) {
    fake_daemon d([&](const recorded_request&) { return stream_of({task_event, batch_event}); });
    const auto r = run_ctl(with_socket(d, {"--json", "watch"}));
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(d.requests().at(0).target, "/v1/events");
    EXPECT_EQ(r.out, task_event + batch_event);
    EXPECT_TRUE(has(r.err, "closed the event stream"));
}

TEST(CtlWatch, MaxEventsStopsEarly) {
    fake_daemon d([&](const recorded_request&) { return stream_of({task_event + batch_event}); });
    const auto r = run_ctl(with_socket(d, {"watch", "--max-events", "1"}));
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out, "#42 task  lb/6356081  running  ModifyLoadBalancerBackends\n");
}

// The stream stays open, as the daemon's does: events must be printed as they arrive, not when
// a 16 KiB buffer has filled (they were read with a whole-buffer read, issue 18).
TEST(CtlWatch, EventsArePrintedAsTheyArriveOnAnOpenStream) {
    fake_daemon d([&](const recorded_request&) {
        auto c = stream_of({task_event, batch_event});
        c.how = canned_response::mode::chunked_open;
        return c;
    });
    const auto started = std::chrono::steady_clock::now();
    const auto r = run_ctl(with_socket(d, {"watch", "--since", "41", "--max-events", "2"}));
    const auto took = std::chrono::steady_clock::now() - started;
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_TRUE(has(r.out, "#42 task")) << r.out;
    EXPECT_TRUE(has(r.out, "#43 batch")) << r.out;
    EXPECT_LT(took, std::chrono::seconds(5));
}

TEST(CtlWatch, BrokenStreamIsAConnectionErrorWithResumeHint) {
    fake_daemon d([&](const recorded_request&) { return stream_of({task_event}, true); });
    const auto r = run_ctl(with_socket(d, {"watch"}));
    EXPECT_EQ(r.exit_code, 3);
    EXPECT_TRUE(has(r.out, "#42 task")) << r.out;
    EXPECT_TRUE(
        has(r.err, "closed the connection while reading the stream (resume with --since 42)"))
        << r.err;
}

TEST(CtlWatch, MalformedLinesAreSkippedWithAWarning) {
    fake_daemon d([&](const recorded_request&) { return stream_of({"not json\n" + task_event}); });
    const auto r = run_ctl(with_socket(d, {"watch"}));
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_TRUE(has(r.err, "ignoring a malformed event line: not json")) << r.err;
    EXPECT_TRUE(has(r.out, "#42 task")) << r.out;
}

TEST(CtlWatch, ErrorStatusIsReported) {
    fake_daemon d([](const recorded_request&) {
        return error_response(429, "too_many_requests", "too many subscribers");
    });
    const auto r = run_ctl(with_socket(d, {"watch"}));
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_EQ(r.err, "taskpollerctl: too many subscribers (too_many_requests, HTTP 429)\n");
}

// -o name and -o yaml (issue 18): ids or YAML documents, and no progress lines.
TEST(CtlWait, MachineFormatsPrintNoProgress) {
    fake_daemon d(sequence(
        {batch_with("submitted", {{"running", 2}}), batch_with("done", {{"succeeded", 2}})}));
    auto r = run_ctl(with_socket(d, {"wait", "b-1", "--interval", "100ms", "-o", "name"}));
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out, "b-1\n");
    r = run_ctl(with_socket(d, {"wait", "b-1", "--interval", "100ms", "-o", "yaml"}));
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_TRUE(r.out.starts_with("id: b-1\nstate: done\n")) << r.out;
    EXPECT_FALSE(has(r.out, "finished")) << r.out;
}

TEST(CtlWatch, NameAndYamlFormats) {
    fake_daemon d([&](const recorded_request&) { return stream_of({task_event, batch_event}); });
    auto r = run_ctl(with_socket(d, {"watch", "-o", "name"}));
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out, "lb/6356081\nb-0002\n");
    r = run_ctl(with_socket(d, {"watch", "-o", "yaml"}));
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_TRUE(r.out.starts_with("---\nseq: 42\ntype: task\ntask:\n  service: lb\n")) << r.out;
    EXPECT_TRUE(has(r.out, "---\nseq: 43\ntype: batch\n")) << r.out;
}

}  // namespace
}  // namespace taskpoller::ctl::test
