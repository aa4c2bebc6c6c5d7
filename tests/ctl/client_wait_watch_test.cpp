// wait and watch against a fake daemon: long polls, progress output, exit codes, event streams.
#include <gtest/gtest.h>

#include <atomic>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <chrono>
#include <ctime>
#include <filesystem>
#include <future>
#include <memory>
#include <thread>

#include "fake_daemon.hpp"
#include "sample_json.hpp"

namespace taskpoller::ctl::test {
namespace {
namespace json = boost::json;

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

// RFC 3339 UTC with milliseconds, `from_now` from now.
std::string time_from_now(std::chrono::milliseconds from_now) {
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                        std::chrono::system_clock::now().time_since_epoch() + from_now)
                        .count();
    const std::time_t secs = ms / 1000;
    std::tm tm{};
    ::gmtime_r(&secs, &tm);
    char buf[40];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
    return std::string(buf) + "." + std::to_string(1000 + ms % 1000).substr(1) + "Z";
}

// `doc` (a batch_with document) with "expected_finish_at" set to `at` (null when empty).
std::string with_expected(const std::string& doc, const std::string& at) {
    auto v = json::parse(doc);
    if (at.empty()) {
        v.as_object()["expected_finish_at"] = nullptr;
    } else {
        v.as_object()["expected_finish_at"] = at;
    }
    return json::serialize(v);
}

// Display columns of terminal output: code points, escape sequences (CSI) not counted.
std::size_t columns_of(std::string_view s) {
    std::size_t n = 0;
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '\x1b' && i + 1 < s.size() && s[i + 1] == '[') {
            for (i += 2; i < s.size() && !(s[i] >= 0x40 && s[i] <= 0x7E); ++i) {
            }
            continue;
        }
        if ((static_cast<unsigned char>(s[i]) & 0xC0) != 0x80) ++n;
    }
    return n;
}

// The progress lines drawn in place: the text after each "\r\x1b[K" up to the next one or
// the end of the line.
std::vector<std::string> drawn_lines(const std::string& out) {
    std::vector<std::string> lines;
    const std::string mark = "\r\x1b[K";
    for (auto p = out.find(mark); p != std::string::npos;) {
        const auto start = p + mark.size();
        const auto next = out.find(mark, start);
        const auto nl = out.find('\n', start);
        const auto end = std::min(next, nl);
        lines.push_back(
            out.substr(start, end == std::string::npos ? std::string::npos : end - start));
        p = next;
    }
    return lines;
}

// A temporary directory, removed however the test ends.
struct temp_dir {
    std::string path;
    temp_dir() {
        char tmpl[] = "/tmp/ctl-restart-XXXXXX";
        if (::mkdtemp(tmpl) == nullptr) throw std::runtime_error("mkdtemp failed");
        path = tmpl;
    }
    ~temp_dir() {
        std::error_code ec;
        std::filesystem::remove_all(path, ec);
    }
};

// Waits up to 5 s for `d` to have received `n` requests.
bool requests_reach(const fake_daemon& d, std::size_t n) {
    for (int i = 0; i < 500; ++i) {
        if (d.requests().size() >= n) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return false;
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

// Issue 18: the ETA comes from the latest expected_finish_at of the live items.
TEST(CtlWait, TheProgressLineShowsTheEtaOrOverdue) {
    const auto running = batch_with("submitted", {{"running", 2}});
    const auto done = batch_with("done", {{"succeeded", 2}});
    auto run = [&](const std::string& at, bool tty) {
        fake_daemon d(sequence({with_expected(running, at), with_expected(done, "")}));
        auto r = run_ctl(with_socket(d, {"wait", "b-1", "--interval", "50ms"}), {}, tty);
        EXPECT_EQ(r.exit_code, 0) << r.err;
        return r.out;
    };
    const auto ahead = run(time_from_now(std::chrono::seconds(90)), true);
    EXPECT_TRUE(has(ahead, "ETA 1m")) << ahead;  // 1m30s, or 1m29s on a slow machine
    const auto late = run(time_from_now(-std::chrono::seconds(30)), true);
    EXPECT_TRUE(has(late, "overdue ")) << late;
    EXPECT_FALSE(has(late, "ETA")) << late;
    const auto unknown = run("", true);
    EXPECT_FALSE(has(unknown, "ETA")) << unknown;
    EXPECT_FALSE(has(unknown, "overdue")) << unknown;
    // Off a terminal, the lines printed per change carry no ETA.
    const auto piped = run(time_from_now(std::chrono::seconds(90)), false);
    EXPECT_FALSE(has(piped, "ETA")) << piped;
}

// Issue 18: the line drawn in place fits the terminal ($COLUMNS when the terminal does not say).
TEST(CtlWait, TheProgressLineFitsTheTerminalWidth) {
    const auto busy = with_expected(batch_with("submitted", {{"pending", 3},
                                                             {"running", 12},
                                                             {"succeeded", 20},
                                                             {"failed", 4},
                                                             {"timed_out", 2},
                                                             {"cancelled", 1}}),
                                    time_from_now(std::chrono::minutes(3)));
    const auto done = batch_with("done", {{"succeeded", 42}});
    for (const int cols : {50, 200}) {
        fake_daemon d(sequence({busy, busy, done}));
        const auto r = run_ctl(with_socket(d, {"wait", "b-1", "--interval", "50ms"}),
                               {"COLUMNS=" + std::to_string(cols)}, true);
        EXPECT_EQ(r.exit_code, 0) << r.err;
        const auto lines = drawn_lines(r.out);
        ASSERT_GE(lines.size(), 2u) << r.out;
        for (const auto& l : lines) {
            EXPECT_LE(columns_of(l), static_cast<std::size_t>(cols - 1)) << cols << ": " << l;
            EXPECT_TRUE(has(l, "finished")) << l;
        }
        // 200 columns hold the per-state counts; 50 do not, but keep the ETA.
        EXPECT_EQ(has(lines.front(), "timed_out 2"), cols == 200) << lines.front();
        EXPECT_TRUE(has(lines.front(), "ETA ")) << lines.front();
    }
}

// Issue 18: a daemon restart during wait (the long poll's connection drops, then nothing
// listens on the socket for a while) is waited out; the wait then finishes as usual.
TEST(CtlWait, ReconnectsAcrossADaemonRestart) {
    temp_dir dir;
    const std::string path = dir.path + "/d.sock";
    auto calls = std::make_shared<std::atomic<int>>(0);
    auto first = std::make_unique<fake_daemon>(
        [calls](const recorded_request&) {
            canned_response c;
            if (calls->fetch_add(1) == 0) {
                c.body = batch_with("submitted", {{"running", 2}});
            } else {
                c.how = canned_response::mode::hang;  // a long poll in progress
            }
            return c;
        },
        path);
    auto waiting = std::async(std::launch::async, [&] {
        return run_ctl({"-s", path, "wait", "b-1", "--interval", "2s"});
    });
    ASSERT_TRUE(requests_reach(*first, 2));
    first.reset();  // stopped: the long poll's connection closes, the socket is removed
    std::this_thread::sleep_for(std::chrono::milliseconds(800));
    fake_daemon second(sequence({batch_with("done", {{"succeeded", 2}})}), path);
    const auto r = waiting.get();
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(occurrences(r.err, "taskpollerctl: lost the daemon ("), 1u) << r.err;
    EXPECT_TRUE(has(r.err, "); reconnecting\n")) << r.err;
    EXPECT_TRUE(has(r.out, "batch b-1  done")) << r.out;
    EXPECT_GE(second.requests().size(), 1u);
}

// With --timeout, a daemon that does not come back ends the wait as a timeout does (exit 2),
// with the last state seen.
TEST(CtlWait, ADaemonThatStaysAwayEndsTheWaitAtItsTimeout) {
    temp_dir dir;
    const std::string path = dir.path + "/d.sock";
    auto first =
        std::make_unique<fake_daemon>(sequence({batch_with("submitted", {{"running", 1}})}), path);
    auto waiting = std::async(std::launch::async, [&] {
        return run_ctl({"-s", path, "wait", "b-1", "--interval", "100ms", "--timeout", "1500ms"});
    });
    ASSERT_TRUE(requests_reach(*first, 1));
    first.reset();
    const auto started = std::chrono::steady_clock::now();
    const auto r = waiting.get();
    EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(5));
    EXPECT_EQ(r.exit_code, 2) << r.err;
    EXPECT_TRUE(has(r.err, "lost the daemon (")) << r.err;
    EXPECT_TRUE(has(r.err, "gave up waiting after 1500ms: 1 of 1 not finished")) << r.err;
    EXPECT_TRUE(has(r.out, "batch b-1  submitted")) << r.out;
}

// A daemon going down answers "shutting_down" (503) to new requests: lost, not an error. A 4xx
// is the daemon's answer, never a lost daemon; nor is a socket that never answered this wait.
TEST(CtlWait, OnlyAGoneDaemonIsWaitedFor) {
    {
        fake_daemon d([n = std::make_shared<std::atomic<int>>(0)](const recorded_request&) {
            const int i = n->fetch_add(1);
            if (i == 1) return error_response(503, "shutting_down", "the daemon is shutting down");
            canned_response c;
            c.body = i == 0 ? batch_with("submitted", {{"running", 1}})
                            : batch_with("done", {{"succeeded", 1}});
            return c;
        });
        const auto r = run_ctl(with_socket(d, {"wait", "b-1", "--interval", "50ms"}));
        EXPECT_EQ(r.exit_code, 0) << r.err;
        EXPECT_TRUE(has(r.err, "lost the daemon (the daemon is shutting down); reconnecting"))
            << r.err;
    }
    {
        fake_daemon d([n = std::make_shared<std::atomic<int>>(0)](const recorded_request&) {
            if (n->fetch_add(1) > 0) return error_response(404, "not_found", "no such id");
            canned_response c;
            c.body = batch_with("submitted", {{"running", 1}});
            return c;
        });
        const auto r = run_ctl(with_socket(d, {"wait", "b-1", "--interval", "50ms"}));
        EXPECT_EQ(r.exit_code, 2) << r.err;
        EXPECT_TRUE(has(r.err, "no such id (not_found, HTTP 404)")) << r.err;
        EXPECT_FALSE(has(r.err, "reconnecting")) << r.err;
    }
    temp_dir dir;
    const auto started = std::chrono::steady_clock::now();
    const auto r = run_ctl({"-s", dir.path + "/none.sock", "wait", "b-1"});
    EXPECT_EQ(r.exit_code, 3) << r.err;
    EXPECT_TRUE(has(r.err, "cannot connect to")) << r.err;
    EXPECT_FALSE(has(r.err, "reconnecting")) << r.err;
    EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(5));
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
