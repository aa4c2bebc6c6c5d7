#include "ctl/views.hpp"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

#include "ctl/doctor.hpp"
#include "sample_json.hpp"

namespace taskpoller::ctl {
namespace {
namespace json = boost::json;

bool has(const std::string& text, std::string_view needle) {
    return text.find(needle) != std::string::npos;
}

TEST(Views, BatchHeaderCountsAndEntries) {
    const auto out = render_batch(json::parse(test::running_batch), false);
    EXPECT_TRUE(has(out, "batch b-0001  submitted  cvm/StopInstances  region ap-guangzhou"));
    EXPECT_TRUE(has(out, "counts:     running 2  rejected 1\n"));
    EXPECT_TRUE(has(out, "labels:     team=web\n"));
    EXPECT_TRUE(has(out, "RESOURCE  STATE     REQUEST_ID  CODE  MESSAGE\n"));
    EXPECT_TRUE(has(out, "ins-bad   rejected  -           9003  instance not found\n"));
    EXPECT_TRUE(has(out, "ins-1     running   101         0     -\n"));
    EXPECT_FALSE(has(out, "\x1b"));
}

TEST(Views, TaskFields) {
    const auto out = render_task(json::parse(test::running_task), false);
    EXPECT_TRUE(has(out, "task lb/6356081  running\n"));
    EXPECT_TRUE(has(out, "resources:  lb-xyz\n"));
    EXPECT_TRUE(has(out, "batch:      -\n"));
    EXPECT_TRUE(has(out, "polls:      3\n"));
    EXPECT_EQ(render_document(json::parse(test::running_task), false), out);
    EXPECT_FALSE(has(out, "poll:"));  // no own schedule: no line
}

// Issue 18: a submission's own poll schedule is shown on the batch and on its tasks.
TEST(Views, OwnPollScheduleIsShown) {
    auto task = json::parse(test::running_task);
    task.as_object()["poll"] = json::object{{"interval", "2s"}, {"initial_delay", "1s"}};
    EXPECT_TRUE(has(render_task(task, false),
                    "poll:       initial_delay 1s, interval 2s (own schedule)\n"));
    auto batch = json::parse(test::running_batch);
    batch.as_object()["poll"] = json::object{{"max_interval", "10s"}};
    EXPECT_TRUE(has(render_batch(batch, false), "poll:       max_interval 10s (own schedule)\n"));
}

TEST(Views, ProgressCountsOfBatchesAndTasks) {
    const auto b = progress_counts(json::parse(test::running_batch));
    EXPECT_EQ(b.at("running"), 2);
    EXPECT_EQ(b.at("rejected"), 1);
    const auto t = progress_counts(json::parse(test::running_task));
    EXPECT_EQ(t, (state_counts{{"running", 1}}));
}

TEST(Views, Lists) {
    const auto batches = json::parse(std::string(R"({"batches":[)") + test::done_batch +
                                     R"(],"next_page_token":null})");
    // done_batch was created 2026-11-27T23:15:20.123Z and took one minute; "now" is 2h later.
    const auto now = parse_time_ms("2026-11-28T01:15:20.123Z");
    const auto out = render_list(batches, false, false, now);
    EXPECT_EQ(out,
              "ID      STATE  ACTION             ENTRIES  COUNTS       AGE   DURATION\n"
              "b-0002  done   cvm/StopInstances  2        succeeded 2  2h0m  1m0s\n");
    const auto wide_out = render_list(batches, false, true, now);
    EXPECT_TRUE(has(wide_out, "DURATION  REGION        CREATED                   FINISHED"))
        << wide_out;
    EXPECT_TRUE(has(wide_out, "1m0s      ap-guangzhou  2026-11-27T23:15:20.123Z")) << wide_out;
    const auto tasks = json::parse(std::string(R"({"tasks":[)") + test::running_task + "]}");
    EXPECT_TRUE(has(render_list(tasks, false), "lb/6356081  running  ModifyLoadBalancerBackends"));
    EXPECT_EQ(render_list(json::parse(R"({"tasks":[]})"), false), "no tasks\n");
    // An API 3.0 CVM task covers up to 100 instances: the table shows two and a count.
    const auto wide = json::parse(
        R"({"tasks":[{"service":"cvm","request_id":"R","state":"running","action":"StopInstances",)"
        R"("resources":["ins-1","ins-2","ins-3","ins-4"],"batch_id":"b-1","polls":1,)"
        R"("created_at":"2026-12-06T00:00:00.000Z"}]})");
    EXPECT_TRUE(has(render_list(wide, false), "ins-1,ins-2 (+2)")) << render_list(wide, false);
    EXPECT_FALSE(has(render_list(wide, false), "ins-4"));
    EXPECT_EQ(render_list(json::parse(R"({"batches":[]})"), false), "no batches\n");
    // A live task's DURATION runs to now; wide adds its last status and error.
    const auto live = render_list(tasks, false, true, parse_time_ms("2026-11-27T23:18:32.123Z"));
    EXPECT_TRUE(has(live, "3      3m12s  3m12s     -       2026-11-27T23:15:20.123Z")) << live;
    EXPECT_TRUE(has(live, "LAST_STATUS  ERROR")) << live;
}

TEST(Views, HumanDurationsAndTimes) {
    EXPECT_EQ(human_duration(45'000), "45s");
    EXPECT_EQ(human_duration(192'000), "3m12s");
    EXPECT_EQ(human_duration((2 * 3600 + 5 * 60 + 7) * 1000LL), "2h5m");
    EXPECT_EQ(human_duration((3 * 86400 + 4 * 3600 + 59) * 1000LL), "3d4h");
    EXPECT_EQ(human_duration(-5), "0s");
    EXPECT_EQ(parse_time_ms("1970-01-01T00:00:01.500Z"), 1500);
    EXPECT_EQ(parse_time_ms("2000-03-01T00:00:00Z"), 951868800000LL);
    EXPECT_FALSE(parse_time_ms("yesterday"));
    EXPECT_FALSE(parse_time_ms("2000-03-01T00:00:00+08:00"));
}

// A done batch whose tasks did not all succeed is not a plain (green) "done".
TEST(Views, DoneBatchWithFailuresSaysSo) {
    auto b = json::parse(test::done_batch);
    EXPECT_EQ(batch_state_text(b, false), "done");
    EXPECT_EQ(batch_state_text(b, true), "\x1b[32mdone\x1b[0m");
    auto& counts = b.at("counts").as_object();
    counts["failed"] = 2;
    counts["timed_out"] = 1;
    EXPECT_EQ(batch_state_text(b, false), "done (2 failed, 1 timed_out)");
    EXPECT_EQ(batch_state_text(b, true), "\x1b[31mdone (2 failed, 1 timed_out)\x1b[0m");
    counts["failed"] = 0;
    EXPECT_EQ(batch_state_text(b, true), "\x1b[33mdone (1 timed_out)\x1b[0m");
    EXPECT_TRUE(has(render_batch(b, false), "batch b-0002  done (1 timed_out)  cvm/StopInstances"));
    const auto page = json::value{{"batches", json::array{b}}};
    EXPECT_TRUE(has(render_list(page, false), "b-0002  done (1 timed_out)  cvm/StopInstances"))
        << render_list(page, false);
}

TEST(Views, NamesAreIdsOnePerLine) {
    EXPECT_EQ(render_names(json::parse(test::done_batch)), "b-0002\n");
    EXPECT_EQ(render_names(json::parse(test::running_task)), "lb/6356081\n");
    EXPECT_EQ(render_names(json::parse(std::string(R"({"tasks":[)") + test::running_task +
                                       R"(,{"service":"cvm","request_id":"9"}]})")),
              "lb/6356081\ncvm/9\n");
    EXPECT_EQ(render_names(json::parse(R"({"batches":[]})")), "");
}

TEST(Views, StatusInWords) {
    const auto s = json::parse(R"({"version":"0.1.0","uptime_seconds":7512,
        "journal":{"enabled":true,"path":"/var/lib/taskpoller/journal","durability":"batch",
                   "healthy":false,"durable":true,"error":"compaction: disk full",
                   "compaction_error":"disk full","pending_changes":3,"records":10,"syncs":4,
                   "compactions":2,"compaction_failures":1,"log_bytes":100,"snapshot_bytes":50},
        "polling":{"tracked":3,"inflight":1}})");
    const auto out = render_status(s, false);
    EXPECT_TRUE(has(out, "uptime:     2h5m\n")) << out;
    EXPECT_TRUE(has(out, "journal:    unhealthy, durability batch, /var/lib/taskpoller/journal\n"))
        << out;
    EXPECT_TRUE(has(out, "durability: 3 change(s) not yet durable\n")) << out;
    EXPECT_TRUE(has(out, "compaction: last error: disk full\n")) << out;
    EXPECT_TRUE(has(out, "polling:    3 task(s) tracked, 1 poll(s) in flight\n")) << out;
    const auto failed = json::parse(R"({"journal":{"enabled":true,"durable":false,
        "healthy":false,"durability":"always","path":"j","error":"EIO"}})");
    EXPECT_TRUE(has(render_status(failed, false),
                    "journal:    FAILED: changes are not recorded, mutations are refused, "
                    "durability always, j: EIO\n"))
        << render_status(failed, false);
    EXPECT_TRUE(has(render_status(json::parse(R"({"journal":{"enabled":false}})"), false),
                    "journal:    disabled"));
    // The daemon's probes of its cloud access: a summary, and each refusal with its reason.
    const auto probed = json::parse(R"({"cloud_checks":[
        {"service":"cvm","action":"DescribeInstances","result":"ok","message":"fine"},
        {"service":"clb","action":"DescribeTaskStatus","result":"ok","message":"fine"}]})");
    EXPECT_TRUE(has(render_status(probed, false),
                    "cloud:      credentials accepted by all 2 "
                    "services\n"))
        << render_status(probed, false);
    const auto refused = json::parse(R"({"cloud_checks":[
        {"service":"cvm","action":"DescribeInstances","result":"refused",
         "message":"refused: AuthFailure.SecretIdNotFound: unknown"},
        {"service":"clb","action":"DescribeTaskStatus","result":"ok","message":"fine"}]})");
    const auto r = render_status(refused, false);
    EXPECT_TRUE(has(r, "cloud:      1 of 2 services refused or did not answer\n")) << r;
    EXPECT_TRUE(has(r, "cvm DescribeInstances (refused): refused: AuthFailure.SecretIdNotFound"))
        << r;
}

TEST(Views, Events) {
    const auto task_ev =
        json::parse(std::string(R"({"seq":42,"type":"task","task":)") + test::running_task + "}");
    EXPECT_EQ(render_event(task_ev, false),
              "#42 task  lb/6356081  running  ModifyLoadBalancerBackends");
    const auto batch_ev =
        json::parse(std::string(R"({"seq":43,"type":"batch","batch":)") + test::done_batch + "}");
    EXPECT_EQ(render_event(batch_ev, false),
              "#43 batch b-0002  done  cvm/StopInstances  succeeded 2");
    // A replayed event shows the state it recorded, not the object's state now.
    const auto replayed =
        json::parse(std::string(R"({"seq":40,"type":"batch","state":"submitting",)") +
                    R"("batch":)" + test::done_batch + "}");
    EXPECT_EQ(render_event(replayed, false),
              "#40 batch b-0002  submitting  cvm/StopInstances  succeeded 2");
    EXPECT_EQ(render_event(json::parse(R"({"type":"gap","from":3,"to":9})"), false),
              "-- gap: events 3 to 9 are no longer retained; use `taskpollerctl list` to resync");
    EXPECT_EQ(render_event(json::parse(R"({"type":"new","x":1})"), false),
              R"({"type":"new","x":1})");
}

TEST(Views, Status) {
    const auto s = json::parse(R"({"version":"0.1.0","api_version":1,"started_at":"t",
        "uptime_seconds":12,"tasks":{"running":2,"succeeded":5},"batches":{"done":1},
        "rate_limits":[{"service":"cvm","action":"StopInstances","rate":5,"configured_rate":10}],
        "journal":{"enabled":false},"events":{"seq":7,"subscribers":1}})");
    const auto out = render_status(s, false);
    EXPECT_TRUE(has(out, "version:    0.1.0\n"));
    EXPECT_TRUE(has(out, "tasks:      running 2  succeeded 5\n"));
    EXPECT_TRUE(has(out, "events:     seq 7, 1 subscriber(s)\n"));
    EXPECT_TRUE(has(out, "cvm/StopInstances  5     10\n"));
    EXPECT_FALSE(has(out, "clock:")) << out;  // not measured: no line
    const auto measured = json::parse(
        R"({"clock":{"skew_ms":-90000,"uncertainty_ms":510,"service":"cvm","level":"warn"}})");
    EXPECT_TRUE(has(render_status(measured, false),
                    "clock:      90.0 s ahead of the cloud (±0.5 s, via cvm)\n"))
        << render_status(measured, false);
}

TEST(Views, MissingAndMistypedFieldsNeverCrash) {
    for (const char* text :
         {"{}", "[]", "null", R"({"entries":5,"counts":[]})", R"({"entries":[1,null,{"state":7}]})",
          R"({"tasks":{}})", R"({"type":"task"})", R"({"type":"batch","batch":3})",
          R"({"labels":{"a":1},"resources":[1,"x"]})"}) {
        const auto v = json::parse(text);
        (void)render_document(v, true);
        (void)render_list(v, true);
        (void)render_status(v, true);
        (void)render_event(v, true);
        (void)progress_counts(v);
    }
    EXPECT_EQ(field(json::parse("{}"), "x"), "-");
    EXPECT_EQ(field(json::parse(R"({"x":null})"), "x"), "-");
    EXPECT_EQ(field(json::parse(R"({"x":5})"), "x"), "5");
}

}  // namespace
}  // namespace taskpoller::ctl

TEST(CtlViews, DoublesPrintAsPeopleWriteThem) {
    auto doc = boost::json::parse(R"({"rate":20.0,"half":0.5,"n":3})");
    EXPECT_EQ(taskpoller::ctl::field(doc, "rate"), "20");
    EXPECT_EQ(taskpoller::ctl::field(doc, "half"), "0.5");
    EXPECT_EQ(taskpoller::ctl::field(doc, "n"), "3");
}

// taskpollerctl doctor (issue 18): a line per check, FAIL on refused credentials or a failed
// journal, warn on what merely deserves a look.
TEST(Doctor, ReportsEachCheckAndFailsOnRefusedCredentials) {
    const auto config = boost::json::parse(R"J({
        "cloud":{"region":"ap-guangzhou","protocol":"v3","endpoint":"nearest","scheme":"https",
                 "connect_to":{}},
        "credentials":{"source":"credentials_directory",
                       "source_detail":"systemd credentials (/run/credentials/x/secret_id, ...)"
}
})J");
    const auto healthy = boost::json::parse(R"({"version":"0.1.0","uptime_seconds":12,
        "journal":{"enabled":true,"healthy":true,"durable":true,"path":"/var/lib/taskpoller/j"},
        "cloud_checks":[{"service":"cvm","action":"DescribeInstances","result":"ok",
                         "message":"a signed DescribeInstances was answered"}]})");
    auto r =
        taskpoller::ctl::build_doctor("/run/taskpoller/taskpoller.sock", healthy, config, false);
    EXPECT_FALSE(r.failed) << r.text;
    EXPECT_NE(r.text.find("ok   socket /run/taskpoller/taskpoller.sock: the daemon answers"),
              std::string::npos)
        << r.text;
    EXPECT_NE(r.text.find("ok   cloud: region ap-guangzhou, API 3.0 (endpoint nearest), https"),
              std::string::npos)
        << r.text;
    EXPECT_NE(r.text.find("ok   credentials from systemd credentials"), std::string::npos)
        << r.text;
    EXPECT_NE(r.text.find("ok   cloud access cvm (DescribeInstances)"), std::string::npos)
        << r.text;
    EXPECT_NE(r.text.find("ok   journal: healthy, /var/lib/taskpoller/j"), std::string::npos)
        << r.text;

    const auto refused = boost::json::parse(R"({"version":"0.1.0","uptime_seconds":12,
        "journal":{"enabled":false},
        "cloud_checks":[{"service":"cvm","action":"DescribeInstances","result":"refused",
                         "message":"refused: AuthFailure.SecretIdNotFound"}]})");
    r = taskpoller::ctl::build_doctor("s", refused, config, false);
    EXPECT_TRUE(r.failed);
    EXPECT_NE(r.text.find("FAIL cloud access cvm (DescribeInstances): refused: "
                          "AuthFailure.SecretIdNotFound"),
              std::string::npos)
        << r.text;
    EXPECT_NE(r.text.find("warn journal: disabled"), std::string::npos) << r.text;
    const auto unchecked = boost::json::parse(R"({"journal":{"enabled":true,"durable":false,
        "healthy":false,"error":"EIO"}})");
    r = taskpoller::ctl::build_doctor("s", unchecked, config, false);
    EXPECT_TRUE(r.failed);
    EXPECT_NE(r.text.find("warn cloud access: not checked yet"), std::string::npos) << r.text;
    EXPECT_NE(r.text.find("FAIL journal: failed, mutations are refused: EIO"), std::string::npos)
        << r.text;
}

// The doctor's clock line (issue 18), from /v1/status "clock": ok, warn beyond 60 s, FAIL beyond
// the cloud's 300 s signature window, warn when no Date was read yet.
namespace {

taskpoller::ctl::doctor_report doctor_with_clock(const std::string& clock) {
    const auto config = boost::json::parse(
        R"J({"cloud":{"region":"ap-guangzhou"},"credentials":{"source":"environment",
             "source_detail":"environment"}})J");
    const auto status = boost::json::parse(
        R"J({"journal":{"enabled":true,"healthy":true,"durable":true,"path":"j"},)J"
        R"J("cloud_checks":[{"service":"cvm","action":"DescribeInstances","result":"ok",)J"
        R"J("message":"m"}],"clock":)J" +
        clock + "}");
    return taskpoller::ctl::build_doctor("s", status, config, false);
}

}  // namespace

TEST(Doctor, ClockInStepIsOk) {
    auto r = doctor_with_clock(
        R"({"skew_ms":300,"uncertainty_ms":100,"rtt_ms":-1,"age_seconds":12,"service":"cvm"})");
    EXPECT_FALSE(r.failed) << r.text;
    EXPECT_NE(
        r.text.find("ok   clock: 0.3 s behind the cloud (±0.1 s, measured 12 s ago via cvm)\n"),
        std::string::npos)
        << r.text;
}

TEST(Doctor, ClockAMinuteOffWarns) {
    auto r = doctor_with_clock(
        R"({"skew_ms":-90000,"uncertainty_ms":520,"age_seconds":3,"service":"clb"})");
    EXPECT_FALSE(r.failed) << r.text;
    EXPECT_NE(r.text.find("warn clock: 90.0 s ahead of the cloud (±0.5 s, measured 3 s ago via "
                          "clb): more than 60 s off"),
              std::string::npos)
        << r.text;
    // 60.4 s off, but the reading cannot tell it from 59.9 s: not a warning.
    r = doctor_with_clock(
        R"({"skew_ms":60400,"uncertainty_ms":500,"age_seconds":3,"service":"cvm"})");
    EXPECT_NE(r.text.find("ok   clock: 60.4 s behind"), std::string::npos) << r.text;
}

TEST(Doctor, ClockBeyondTheSignatureWindowFails) {
    auto r = doctor_with_clock(
        R"({"skew_ms":-600200,"uncertainty_ms":510,"age_seconds":0,"service":"cvm"})");
    EXPECT_TRUE(r.failed) << r.text;
    EXPECT_NE(r.text.find("FAIL clock: 600.2 s ahead of the cloud (±0.5 s, measured 0 s ago via "
                          "cvm): beyond the cloud's 300 s signature window"),
              std::string::npos)
        << r.text;
}

TEST(Doctor, ClockNotMeasuredWarns) {
    for (const char* clock : {R"({"skew_ms":null,"uncertainty_ms":null,"service":null})", "null"}) {
        auto r = doctor_with_clock(clock);
        EXPECT_FALSE(r.failed) << r.text;
        EXPECT_NE(r.text.find("warn clock: not measured"), std::string::npos) << r.text;
    }
}
