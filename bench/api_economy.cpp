// API economy (issue 8, benchmark 3): how many cloud API calls the daemon spends per task, and how
// late it notices that a task finished, against a baseline poller that asks about each resource
// every 5 s on its own (what tccli's waiter and per-resource SDK loops do).
//
// Two simulators with the same seed and configuration (faults off, the poll actions limited to
// --cloud-rate-limit requests/s each as the real API limits them, operation durations spread
// uniformly over realistic ranges):
//   - the real daemon (build/daemon/taskpollerd, a child process) polls simulator A. Its
//     configuration is config/taskpoller.yaml as shipped, with only what a test bench must
//     change: credentials, plain HTTP to the simulator, a temporary socket, no journal, log level;
//   - the baseline poller built in here polls simulator B, signing with lib/qcloud through the
//     engine's api_client and lib/http client: for CVM one DescribeInstances(instanceIds.0 = the
//     instance) per instance every interval, for CLB one DescribeLoadBalancersTaskResult per
//     requestId every interval, the first poll one interval after the submission.
// Both get the same workload on the same schedule: StopInstances for N instances in calls of up
// to 100, and one RegisterInstancesWithLoadBalancer per load balancer, `--submit-rate` calls/s.
//
// --protocol v3: the same run over API 3.0 (TC3-HMAC-SHA256, JSON). The daemon's configuration
// gets `cloud.protocol: v3`; the workload is StopInstances {InstanceIds} (cvm 2017-03-12) and
// one RegisterTargets {LoadBalancerId, ListenerId, Targets} per load balancer (clb 2018-03-17);
// the baseline signs its own 3.0 requests (qcloud::tc3::authorization, X-TC-* headers, the real
// Host) and sends them through the engine's api_client: per instance DescribeInstances
// {InstanceIds: [it], Limit: 1} every interval until its LatestOperationRequestId is the call's
// RequestId and LatestOperationState is SUCCESS or FAILED; per CLB task DescribeTaskStatus
// {TaskId} every interval. A 3.0 StopInstances call is ONE task (one RequestId for all its
// instances, done when the last one is): the baseline's task ends when its last instance's
// waiter does, and the simulator's `done_at_ms` is the last instance's end. So v3 has
// ceil(N / --cvm-batch) CVM tasks where v2 has N; calls/task and the delays are per task, and
// the calls ratio (baseline calls / daemon calls) is what compares with 2.0. The cloud limit
// (--cloud-rate-limit) applies to DescribeInstances and DescribeTaskStatus (rate_limits.v3 of
// the simulator); the 3.0 submissions are unlimited at the simulator, as in 2.0.
//
// Measured per side and per kind:
//   calls/task = the simulator's request count for the poll action (DescribeInstances,
//                DescribeLoadBalancersTaskResult; /_sim/stats) / tasks. The submissions are other
//                actions and are not counted; nothing else calls these actions on that simulator.
//   detection delay = (time the task became terminal: the daemon's task `finished_at`, or the
//                baseline's receipt of the answer showing the end state) − (the simulator's
//                `done_at_ms` for that requestId: when the operation finished). Same host, same
//                realtime clock, millisecond resolution.
// Prints a table and one JSON line. Exits non-zero if the run itself failed (a process did not
// start, a submission was refused, a task did not end, or ended differently from the simulator).
//
//   usage: api_economy [--cvm N] [--clb N] [--cvm-duration MIN:MAX] [--clb-duration MIN:MAX]
//                      [--stale-window D] [--time-scale F] [--submit-rate R]
//                      [--baseline-interval D] [--seed N] [--timeout D] [--config FILE]
//                      [--daemon-log FILE] [--daemon-rate-limit R] [--cloud-rate-limit R]
//                      [--protocol v2|v3] [--cvm-batch N]
// --daemon-rate-limit R sets every rate limit in the daemon's configuration (rate_limit.default,
// burst, services.*.rate_limit, services.*.actions.*.rate_limit) to R: a diagnosis run showing
// what the polling policy asks for when the shipped limits do not hold it back (and, explicitly,
// the rate of the workload's submission and poll actions, which 3.0 profiles budget built in).
// --cloud-rate-limit R makes both simulators enforce R requests/s per action on the two poll
// actions (DescribeInstances, DescribeLoadBalancersTaskResult), as the real API does (20/s is
// its usual per-action limit); a refused request (code 4400) is still a call and tells its
// caller nothing, so the baseline tries again one interval later. Submissions stay unlimited,
// so the workload is the same. Default 20 (the simulator's own default, config/sim.yaml); 0: no
// limit at the simulators (the baseline may then poll faster than the real API would allow).
// Durations: 500ms, 10s, 2m. --time-scale F divides the operation durations and the stale window
// (not the daemon's policy, not the baseline interval) for a quick run.
// GCC 12 reports a false -Wmismatched-new-delete when it inlines an Asio awaitable frame (the
// frame's operator new/delete pair is Asio's own), as in the daemon's coroutine files.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

#include <sys/stat.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "ctl/unix_client.hpp"
#include "engine/api_client.hpp"
#include "engine/registry.hpp"
#include "http/client.hpp"
#include "qcloud/params.hpp"
#include "qcloud/response.hpp"
#include "qcloud/tc3.hpp"
#include "qcloud/v3_response.hpp"
#include "support/daemon_process.hpp"
#include "support/http_client.hpp"
#include "support/sim_process.hpp"

namespace asio = boost::asio;
namespace json = boost::json;
namespace tt = taskpoller::testing;
namespace eng = taskpoller::engine;
namespace qcloud = taskpoller::qcloud;
using namespace std::chrono_literals;
using ms = std::chrono::milliseconds;

namespace {

const char* const secret_id = "AKIDz8krbsJ5yKBZQpn74WFkmLPx3gnPhESA";
const char* const secret_key = "Gu5t9xGARNpq86cd98joQYCN3Cozk1qA";
const char* const region = "ap-guangzhou";

struct range {
    ms min, max;
};

enum class protocol { v2, v3 };

// What differs between the protocols in this benchmark: the CLB service and the two actions
// each kind is submitted and polled with (CVM's are StopInstances/DescribeInstances in both).
struct protocol_names {
    const char* name;         // "v2", "v3"
    const char* clb_service;  // the daemon's and the simulator's service name
    const char* clb_action;   // the submission
    const char* clb_poll;     // the task-result action
};
constexpr protocol_names v2_names{"v2", "lb", "RegisterInstancesWithLoadBalancer",
                                  "DescribeLoadBalancersTaskResult"};
constexpr protocol_names v3_names{"v3", "clb", "RegisterTargets", "DescribeTaskStatus"};

struct options {
    int cvm = 1000;
    int clb = 1000;
    int batch = 100;  // instances per StopInstances call (API maximum)
    range cvm_duration{10s, 90s};
    range clb_duration{1s, 30s};
    ms stale_window = 1s;
    double time_scale = 1.0;
    double submit_rate = 20.0;  // calls per second, each side
    ms baseline_interval = 5s;
    std::uint64_t seed = 1;
    ms timeout = 15min;
    std::string config = TASKPOLLER_SOURCE_DIR "/config/taskpoller.yaml";
    std::string daemon_log;  // where to keep the daemon's log (it is in a temporary directory)
    double daemon_rate = 0;  // > 0: every rate limit of the daemon's configuration set to this
    double cloud_rate = 20;  // > 0: the simulators limit the poll actions to this per second
    protocol proto = protocol::v2;
    const protocol_names& names() const { return proto == protocol::v3 ? v3_names : v2_names; }
};

std::optional<ms> parse_duration(const std::string& s) {
    char* end = nullptr;
    double v = std::strtod(s.c_str(), &end);
    if (end == s.c_str() || v < 0) return std::nullopt;
    std::string unit(end);
    double f = unit == "ms" ? 1 : unit == "s" || unit.empty() ? 1000 : unit == "m" ? 60000 : -1;
    if (f < 0) return std::nullopt;
    return ms(static_cast<std::int64_t>(std::llround(v * f)));
}

[[noreturn]] void usage(const std::string& why) {
    std::fprintf(stderr, "api_economy: %s\n(see the comment at the top of bench/api_economy.cpp)\n",
                 why.c_str());
    std::exit(2);
}

options parse_args(int argc, char** argv) {
    options o;
    auto dur = [&](const std::string& name, const std::string& v) {
        auto d = parse_duration(v);
        if (!d) usage("bad duration for " + name + ": " + v);
        return *d;
    };
    auto rng = [&](const std::string& name, const std::string& v) {
        auto colon = v.find(':');
        if (colon == std::string::npos) {
            auto d = dur(name, v);
            return range{d, d};
        }
        range r{dur(name, v.substr(0, colon)), dur(name, v.substr(colon + 1))};
        if (r.max < r.min) usage(name + ": MIN > MAX");
        return r;
    };
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        if (i + 1 >= argc) usage("missing value for " + a);
        std::string v = argv[++i];
        if (a == "--cvm")
            o.cvm = std::atoi(v.c_str());
        else if (a == "--clb")
            o.clb = std::atoi(v.c_str());
        else if (a == "--cvm-duration")
            o.cvm_duration = rng(a, v);
        else if (a == "--clb-duration")
            o.clb_duration = rng(a, v);
        else if (a == "--stale-window")
            o.stale_window = dur(a, v);
        else if (a == "--time-scale")
            o.time_scale = std::atof(v.c_str());
        else if (a == "--submit-rate")
            o.submit_rate = std::atof(v.c_str());
        else if (a == "--baseline-interval")
            o.baseline_interval = dur(a, v);
        else if (a == "--seed")
            o.seed = std::strtoull(v.c_str(), nullptr, 10);
        else if (a == "--timeout")
            o.timeout = dur(a, v);
        else if (a == "--config")
            o.config = v;
        else if (a == "--daemon-log")
            o.daemon_log = v;
        else if (a == "--daemon-rate-limit")
            o.daemon_rate = std::atof(v.c_str());
        else if (a == "--cloud-rate-limit")
            o.cloud_rate = std::atof(v.c_str());
        else if (a == "--protocol" && (v == "v2" || v == "v3"))
            o.proto = v == "v3" ? protocol::v3 : protocol::v2;
        else if (a == "--cvm-batch")
            o.batch = std::atoi(v.c_str());
        else
            usage("unknown option " + a);
    }
    if (o.cvm < 0 || o.clb < 0 || o.cvm + o.clb == 0) usage("--cvm/--clb: need some tasks");
    if (o.time_scale <= 0 || o.submit_rate <= 0)
        usage("--time-scale and --submit-rate must be > 0");
    if (o.baseline_interval <= 0ms) usage("--baseline-interval must be > 0");
    if (o.cloud_rate < 0) usage("--cloud-rate-limit must be >= 0");
    if (o.batch < 1 || o.batch > 100) usage("--cvm-batch must be 1..100");
    auto scale = [&](ms d) {
        return ms(
            static_cast<std::int64_t>(std::llround(static_cast<double>(d.count()) / o.time_scale)));
    };
    o.cvm_duration = {scale(o.cvm_duration.min), scale(o.cvm_duration.max)};
    o.clb_duration = {scale(o.clb_duration.min), scale(o.clb_duration.max)};
    o.stale_window = scale(o.stale_window);
    return o;
}

std::int64_t now_unix_ms() {
    return std::chrono::duration_cast<ms>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

// "2026-11-27T23:15:20.123Z" → unix ms.
std::optional<std::int64_t> parse_rfc3339_ms(const std::string& s) {
    std::tm tm{};
    int millis = 0;
    if (std::sscanf(s.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d.%3dZ", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                    &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &millis) != 7)
        return std::nullopt;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    return static_cast<std::int64_t>(timegm(&tm)) * 1000 + millis;
}

std::string ms_yaml(ms d) {
    return std::to_string(d.count()) + "ms";
}

// The poll actions limited to the cloud rate, everything else unlimited: 2.0's table, and 3.0's
// own buckets (rate_limits.v3, whose built-in per-action table is overridden where it matters).
std::string sim_yaml(const options& o) {
    const auto& n = o.names();
    const auto rate = std::to_string(o.cloud_rate);
    return "instances: {running: " + std::to_string(o.cvm) + ", stopped: 0}\n" +
           "stale_window: " + ms_yaml(o.stale_window) + "\n" +
           "operations:\n"
           "  StopInstances:\n"
           "    duration: {min: " +
           ms_yaml(o.cvm_duration.min) + ", max: " + ms_yaml(o.cvm_duration.max) +
           "}\n"
           "  " +
           n.clb_action +
           ":\n"
           "    duration: {min: " +
           ms_yaml(o.clb_duration.min) + ", max: " + ms_yaml(o.clb_duration.max) + "}\n" +
           (o.cloud_rate > 0 ? "rate_limits: {enabled: true, default: 0, actions: "
                               "{DescribeInstances: " +
                                   rate + ", " + v2_names.clb_poll + ": " + rate +
                                   "}, v3: {default: 0, actions: {DescribeInstances: " + rate +
                                   ", " + v3_names.clb_poll + ": " + rate + ", StopInstances: 0, " +
                                   v3_names.clb_action + ": 0}}}\n"
                             : std::string("rate_limits: {enabled: false}\n")) +
           "seed: " + std::to_string(o.seed) + "\n";
}

// The shipped configuration with only the bench's necessities changed.
std::string daemon_yaml(const options& o, const tt::temp_dir& dir, std::uint16_t sim_port,
                        const std::string& socket) {
    YAML::Node c = YAML::LoadFile(o.config);
    auto id = dir.write("secret_id", secret_id);
    auto key = dir.write("secret_key", secret_key);
    ::chmod(id.c_str(), 0600);
    ::chmod(key.c_str(), 0600);
    c["credentials"]["secret_id_file"] = id;
    c["credentials"]["secret_key_file"] = key;
    c["cloud"]["scheme"] = "http";
    c["cloud"]["connect_to"] = "127.0.0.1:" + std::to_string(sim_port);
    c["control"]["socket"] = socket;
    c["store"]["journal"] = "";
    c["logging"]["level"] = "warn";
    if (o.proto == protocol::v3) c["cloud"]["protocol"] = "v3";
    if (o.daemon_rate > 0) {
        c["rate_limit"]["default"] = o.daemon_rate;
        c["rate_limit"]["burst"] = o.daemon_rate;
        for (auto svc : c["services"]) {
            if (svc.second["rate_limit"]) svc.second["rate_limit"] = o.daemon_rate;
            for (auto act : svc.second["actions"])
                if (act.second["rate_limit"]) act.second["rate_limit"] = o.daemon_rate;
        }
        // The 3.0 profiles carry built-in per-action budgets the lines above do not reach.
        const auto& n = o.names();
        for (auto [svc, action] :
             {std::pair{"cvm", "StopInstances"}, std::pair{"cvm", "DescribeInstances"},
              std::pair{n.clb_service, n.clb_action}, std::pair{n.clb_service, n.clb_poll}})
            c["services"][svc]["actions"][action]["rate_limit"] = o.daemon_rate;
    }
    YAML::Emitter e;
    e << c;
    return e.c_str();
}

// ---- the workload: one list of calls, submitted to both sides on the same schedule ----

struct call {
    std::string service, action;
    std::vector<std::string> instances;  // cvm: the instances; clb: the backend
    std::string lb;                      // clb: the load balancer
    json::object params;                 // the action's parameters in the protocol's names
};

// The parameters as the daemon takes them (POST /v1/batches `params`) and as the baseline sends
// them: 2.0 flattens them into form fields (qcloud::flatten_params), 3.0 sends them as JSON.
json::object params_of(protocol p, const call& c) {
    json::array ids;
    for (const auto& id : c.instances) ids.push_back(json::value(id));
    if (p == protocol::v3) {
        if (c.service == "cvm") return {{"InstanceIds", std::move(ids)}};
        return {
            {"LoadBalancerId", c.lb},
            {"ListenerId", "lbl-" + c.lb.substr(3)},
            {"Targets", json::array{json::object{{"InstanceId", c.instances[0]}, {"Port", 80}}}}};
    }
    if (c.service == "cvm") return {{"instanceIds", std::move(ids)}};
    return {
        {"loadBalancerId", c.lb},
        {"backends", json::array{json::object{{"instanceId", c.instances[0]}, {"weight", 10}}}}};
}

std::vector<call> workload(const options& o, const std::vector<std::string>& ids) {
    const auto& n = o.names();
    std::vector<call> calls;
    for (int off = 0; off < o.cvm; off += o.batch) {
        call c{"cvm", "StopInstances", {}, {}, {}};
        for (int i = off; i < std::min(o.cvm, off + o.batch); ++i) c.instances.push_back(ids[i]);
        calls.push_back(std::move(c));
    }
    for (int i = 0; i < o.clb; ++i) {
        char lb[16];
        std::snprintf(lb, sizeof lb, "lb-%08x", 0x1a2b0000u + static_cast<unsigned>(i));
        calls.push_back({n.clb_service,
                         n.clb_action,
                         {ids.empty() ? std::string("ins-00000000") : ids[i % ids.size()]},
                         lb,
                         {}});
    }
    for (auto& c : calls) c.params = params_of(o.proto, c);
    return calls;
}

// ---- results ----

struct task_result {
    std::string service, request_id, state;
    std::int64_t terminal_ms = 0;  // when it became terminal on this side
};

struct side_figures {
    std::size_t tasks = 0;
    std::int64_t calls = 0;
    std::int64_t throttled = 0;        // of those calls, refused by the cloud's rate limit (4400)
    double p50 = 0, p95 = 0, max = 0;  // seconds
};

double percentile(std::vector<double> v, double q) {
    if (v.empty()) return 0;
    std::sort(v.begin(), v.end());
    auto rank = static_cast<std::size_t>(std::ceil(q * static_cast<double>(v.size())));
    return v[std::clamp<std::size_t>(rank, 1, v.size()) - 1];
}

struct truth {
    std::string state;
    std::int64_t done_ms = 0;
};

std::map<std::string, truth> sim_truth(tt::http_client& c) {
    std::map<std::string, truth> out;
    auto v = json::parse(c.get("/_sim/tasks").body);
    for (const auto& t : v.at("tasks").as_array()) {
        const auto& o = t.as_object();
        auto key = json::value_to<std::string>(o.at("service")) + "/" +
                   json::value_to<std::string>(o.at("request_id"));
        out[key] = {json::value_to<std::string>(o.at("state")),
                    o.at("done_at_ms").to_number<std::int64_t>()};
    }
    return out;
}

// `field` of /_sim/stats for `action`: "requests" (every call), "throttled" (refused with 4400).
std::int64_t sim_requests(tt::http_client& c, const std::string& action,
                          const char* field = "requests") {
    auto v = json::parse(c.get("/_sim/stats").body);
    const auto* a = v.at("actions").as_object().if_contains(action);
    return a ? a->at(field).to_number<std::int64_t>() : 0;
}

// Joins one side's terminal tasks with the simulator's truth; throws if anything disagrees.
std::map<std::string, side_figures> figures(const std::vector<task_result>& results,
                                            const std::map<std::string, truth>& sim,
                                            const std::string& side) {
    std::map<std::string, std::vector<double>> delays;
    for (const auto& r : results) {
        auto it = sim.find(r.service + "/" + r.request_id);
        if (it == sim.end())
            throw std::runtime_error(side + ": " + r.service + "/" + r.request_id +
                                     " unknown to the simulator");
        if (it->second.state != r.state)
            throw std::runtime_error(side + ": " + r.service + "/" + r.request_id + " is " +
                                     r.state + ", the simulator says " + it->second.state);
        delays[r.service].push_back(static_cast<double>(r.terminal_ms - it->second.done_ms) /
                                    1000.0);
    }
    std::map<std::string, side_figures> out;
    for (auto& [service, d] : delays) {
        auto& f = out[service];
        f.tasks = d.size();
        f.p50 = percentile(d, 0.50);
        f.p95 = percentile(d, 0.95);
        f.max = *std::max_element(d.begin(), d.end());
    }
    return out;
}

// ---- the daemon side (a thread of its own: the control client is blocking) ----

taskpoller::ctl::client_options ctl_options(const std::string& socket) {
    taskpoller::ctl::client_options c;
    c.socket_path = socket;
    c.timeout = 60s;
    return c;
}

json::value control(const std::string& socket, const char* method, const std::string& target,
                    const std::string& body = {}) {
    auto r = taskpoller::ctl::send_request(ctl_options(socket), method, target, body);
    if (!r) throw std::runtime_error(std::string(method) + " " + target + ": " + r.error().message);
    if (r->status / 100 != 2)
        throw std::runtime_error(std::string(method) + " " + target + ": HTTP " +
                                 std::to_string(r->status) + " " + r->body);
    return json::parse(r->body);
}

void daemon_submit(const std::string& socket, const std::vector<call>& calls,
                   std::chrono::steady_clock::time_point t0, double rate) {
    for (std::size_t i = 0; i < calls.size(); ++i) {
        std::this_thread::sleep_until(
            t0 + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                     std::chrono::duration<double>(static_cast<double>(i) / rate)));
        json::object body{{"service", calls[i].service},
                          {"action", calls[i].action},
                          {"params", calls[i].params}};
        auto b = control(socket, "POST", "/v1/batches", json::serialize(body)).as_object();
        if (b.at("state").as_string() != "submitted" ||
            b.at("counts").at("rejected").to_number<int>() != 0)
            throw std::runtime_error("daemon: submission not accepted: " + json::serialize(b));
    }
}

std::vector<task_result> daemon_results(const std::string& socket,
                                        std::chrono::steady_clock::time_point until) {
    for (;;) {
        auto s = control(socket, "GET", "/v1/status").as_object();
        const auto& t = s.at("tasks").as_object();
        if (t.at("pending").to_number<int>() + t.at("running").to_number<int>() == 0) break;
        if (std::chrono::steady_clock::now() > until)
            throw std::runtime_error("daemon: tasks still live at the timeout: " +
                                     json::serialize(t));
        std::this_thread::sleep_for(200ms);
    }
    std::vector<task_result> out;
    std::string token;
    do {
        auto page = control(socket, "GET",
                            "/v1/tasks?limit=1000" + (token.empty() ? "" : "&page_token=" + token))
                        .as_object();
        for (const auto& v : page.at("tasks").as_array()) {
            const auto& t = v.as_object();
            auto fin = parse_rfc3339_ms(json::value_to<std::string>(t.at("finished_at")));
            if (!fin) throw std::runtime_error("daemon: bad finished_at in " + json::serialize(t));
            out.push_back({json::value_to<std::string>(t.at("service")),
                           json::value_to<std::string>(t.at("request_id")),
                           json::value_to<std::string>(t.at("state")), *fin});
        }
        const auto& next = page.at("next_page_token");
        token = next.is_null() ? "" : json::value_to<std::string>(next);
    } while (!token.empty());
    return out;
}

// ---- the baseline side: one coroutine per resource, like a per-resource SDK loop ----

// What one poll answer says about a resource: still running (or the answer told nothing: a
// refusal for the rate limit, a transport error), or ended.
enum class seen { running, succeeded, failed };

struct baseline {
    asio::io_context& io;
    eng::api_client& api;
    const eng::registry& reg;
    const options& opt;
    std::vector<task_result> results;
    std::size_t live = 0;
    std::size_t submitted_calls = 0;
    std::string error;

    // One task: its instances (CVM; one per task in 2.0, the call's in 3.0) or its requestId
    // (CLB). It ends when its last resource's waiter does.
    struct task {
        std::string service, request_id;
        std::size_t left = 0;
        bool failed = false;
    };

    // Sends `action` with `params`: 2.0 flattened and signed by the api_client; 3.0 as the
    // JSON body, signed here with TC3 for the real host and sent through the same client.
    asio::awaitable<eng::call_outcome> send(const std::string& service, const std::string& action,
                                            const json::object& params, bool fresh) {
        if (opt.proto == protocol::v2) {
            auto form = qcloud::flatten_params(params);
            if (!form)
                co_return eng::call_outcome{
                    eng::call_outcome::kind::not_sent, {}, form.error().message, 0};
            co_return co_await api.async_call(service, action, region, *form, fresh);
        }
        taskpoller::http::request req;
        req.host = reg.host(service, region);
        req.method = taskpoller::http::method::post;
        req.target = "/";
        req.content_type = "application/json";
        req.body = json::serialize(params);
        const auto now = qcloud::system_unix_seconds();
        req.headers.emplace_back(
            "Authorization", qcloud::tc3::authorization(
                                 api.credentials(), {req.host, req.content_type, req.body, now}));
        req.headers.emplace_back("X-TC-Action", action);
        req.headers.emplace_back("X-TC-Version", reg.find_service(service)->version);
        req.headers.emplace_back("X-TC-Timestamp", std::to_string(now));
        req.headers.emplace_back("X-TC-Region", region);
        co_return co_await api.async_send(service, action, std::move(req), fresh);
    }

    // A submission's answer: one requestId per instance (2.0 CVM), or one for the whole call.
    // Empty if refused.
    std::vector<std::string> request_ids(const call& c, const std::string& body) const {
        if (opt.proto == protocol::v3) {
            auto r = qcloud::v3::parse_response(body);
            if (!r || r->error) return {};
            return {r->request_id};
        }
        if (c.service == "cvm") {
            auto r = qcloud::parse_batch(body, c.instances);
            if (!r || r->code != 0) return {};
            std::vector<std::string> out;
            for (const auto& e : r->entries) out.push_back(e.request_id);
            return out;
        }
        auto r = qcloud::parse_async(body);
        if (!r) return {};
        return {*r};
    }

    asio::awaitable<void> submit(const call& c, std::chrono::steady_clock::time_point at) {
        asio::steady_timer timer(io, at);
        co_await timer.async_wait(asio::use_awaitable);
        auto out = co_await send(c.service, c.action, c.params, true);
        ++submitted_calls;
        if (out.what != eng::call_outcome::kind::answered) {
            error = "baseline: " + c.action + " failed: " + out.error;
            co_return;
        }
        auto rids = request_ids(c, out.body);
        if (rids.empty()) {
            error = "baseline: " + c.action + " refused: " + out.body;
            co_return;
        }
        if (c.service != "cvm") {
            ++live;
            auto t = std::make_shared<task>(task{c.service, rids[0], 1, false});
            asio::co_spawn(io, wait(t, {}), asio::detached);
            co_return;
        }
        // 2.0: a task per instance (entries in the call's order); 3.0: one for the call.
        const std::size_t per_task = rids.size() == 1 ? c.instances.size() : 1;
        std::shared_ptr<task> t;
        for (std::size_t i = 0; i < c.instances.size(); ++i) {
            if (i % per_task == 0) {
                ++live;
                t = std::make_shared<task>(task{"cvm", rids[i / per_task], per_task, false});
            }
            asio::co_spawn(io, wait(t, c.instances[i]), asio::detached);
        }
    }

    void resource_done(task& t, bool failed) {
        t.failed = t.failed || failed;
        if (--t.left > 0) return;
        results.push_back(
            {t.service, t.request_id, t.failed ? "failed" : "succeeded", now_unix_ms()});
        --live;
    }

    // One instance as DescribeInstances shows it: 2.0 by its status (4 stopped, 1 faulty);
    // 3.0 by LatestOperationState once LatestOperationRequestId is the call's RequestId.
    seen read_instance(const std::string& body, const std::string& request_id) const {
        if (opt.proto == protocol::v3) {
            auto r = qcloud::v3::parse_response(body);
            if (!r || r->error) return seen::running;
            auto page = qcloud::v3::read_describe_instances(*r);
            if (!page || page->instances.size() != 1) return seen::running;
            const auto& i = page->instances[0];
            if (i.latest_operation_request_id != request_id) return seen::running;
            return i.latest_operation_state == "SUCCESS"  ? seen::succeeded
                   : i.latest_operation_state == "FAILED" ? seen::failed
                                                          : seen::running;
        }
        auto r = qcloud::parse_describe_instances(body);
        if (!r || r->instances.size() != 1) return seen::running;
        int status = r->instances[0].status;
        return status == 4 ? seen::succeeded : status == 1 ? seen::failed : seen::running;
    }

    seen read_task(const std::string& body) const {
        if (opt.proto == protocol::v3) {
            auto r = qcloud::v3::parse_response(body);
            if (!r || r->error) return seen::running;
            auto t = qcloud::v3::read_clb_task_status(*r);
            if (!t) return seen::running;
            using ts = qcloud::v3::task_status;
            return t->status == ts::succeeded ? seen::succeeded
                   : t->status == ts::failed  ? seen::failed
                                              : seen::running;
        }
        auto r = qcloud::parse_task_result(body);
        if (!r || *r == qcloud::task_status::running) return seen::running;
        return *r == qcloud::task_status::succeeded ? seen::succeeded : seen::failed;
    }

    // Polls one resource every interval (the first one interval after the submission) until
    // an answer shows it ended: `instance` with DescribeInstances naming it alone (tccli's
    // waiter), or, if empty, the task's requestId with the task-result action. (No temporary
    // with a destructor inside a co_await here: GCC 12 may destroy it twice.)
    asio::awaitable<void> wait(std::shared_ptr<task> t, std::string instance) {
        const bool v3 = opt.proto == protocol::v3;
        std::string action = instance.empty() ? opt.names().clb_poll : "DescribeInstances";
        json::object params;
        if (instance.empty())
            params[v3 ? "TaskId" : "requestId"] = t->request_id;
        else if (v3)
            params = {{"InstanceIds", json::array{json::value(instance)}}, {"Limit", 1}};
        else
            params = {
                {"instanceIds", json::array{json::value(instance)}}, {"offset", 0}, {"limit", 1}};
        asio::steady_timer timer(io);
        for (;;) {
            timer.expires_after(opt.baseline_interval);
            co_await timer.async_wait(asio::use_awaitable);
            auto out = co_await send(t->service, action, params, false);
            if (out.what != eng::call_outcome::kind::answered) continue;
            const seen s =
                instance.empty() ? read_task(out.body) : read_instance(out.body, t->request_id);
            if (s != seen::running) {
                resource_done(*t, s == seen::failed);
                co_return;
            }
        }
    }
};

std::vector<std::string> instance_ids(tt::http_client& c) {
    std::vector<std::string> ids;
    auto v = json::parse(c.get("/_sim/instances").body);
    for (const auto& i : v.at("instances").as_array())
        ids.push_back(json::value_to<std::string>(i.at("id")));
    return ids;
}

std::string fmt_range(range r) {
    char b[64];
    std::snprintf(b, sizeof b, "%.1fs-%.1fs", static_cast<double>(r.min.count()) / 1000.0,
                  static_cast<double>(r.max.count()) / 1000.0);
    return b;
}

int run(const options& o) {
    // Two simulators, same seed and configuration: same instance ids, same durations per call.
    const auto yaml = sim_yaml(o);
    tt::sim_process sim_d(yaml), sim_b(yaml);
    tt::http_client ctl_d(sim_d.port()), ctl_b(sim_b.port());
    auto ids = instance_ids(ctl_d);
    if (ids != instance_ids(ctl_b) || static_cast<int>(ids.size()) != o.cvm)
        throw std::runtime_error("the two simulators do not have the same instances");
    const auto calls = workload(o, ids);

    tt::temp_dir dir;
    const auto socket = dir.path() + "/taskpoller.sock";
    const auto config = dir.write("taskpoller.yaml", daemon_yaml(o, dir, sim_d.port(), socket));
    tt::daemon_process daemon(config, socket, dir.path() + "/daemon.log");
    daemon.start();

    // The baseline's client: the engine's own signer and HTTP client, aimed at simulator B.
    asio::io_context io;
    taskpoller::http::client_options ho;
    ho.connect_to["*"] = "127.0.0.1:" + std::to_string(sim_b.port());
    ho.max_connections_per_host = 16;
    taskpoller::http::client http(io.get_executor(), {}, ho);
    eng::registry reg(std::string(eng::default_host_suffix),
                      o.proto == protocol::v3 ? eng::protocol::v3 : eng::protocol::v2);
    eng::api_settings as;
    as.https = false;
    eng::api_client api(http, reg, qcloud::credentials{secret_id, secret_key}, as, {});
    baseline base{io, api, reg, o, {}, 0, 0, {}};

    const auto t0 = std::chrono::steady_clock::now() + 200ms;
    const auto until = t0 + o.timeout;
    std::vector<task_result> daemon_tasks;
    std::string daemon_error;
    std::thread daemon_side([&] {
        try {
            daemon_submit(socket, calls, t0, o.submit_rate);
            daemon_tasks = daemon_results(socket, until);
        } catch (const std::exception& e) {
            daemon_error = e.what();
        }
    });
    for (std::size_t i = 0; i < calls.size(); ++i) {
        auto at = t0 + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                           std::chrono::duration<double>(static_cast<double>(i) / o.submit_rate));
        asio::co_spawn(io, base.submit(calls[i], at), asio::detached);
    }
    while ((base.submitted_calls < calls.size() || base.live > 0) && base.error.empty() &&
           std::chrono::steady_clock::now() < until) {
        io.run_one_for(100ms);
    }
    const auto wall_b =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    daemon_side.join();
    const auto wall_d =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (!base.error.empty()) throw std::runtime_error(base.error);
    if (base.live > 0 || base.submitted_calls < calls.size())
        throw std::runtime_error("baseline: tasks still live at the timeout");
    if (!daemon_error.empty()) throw std::runtime_error(daemon_error + "\n" + daemon.log_tail());
    http.shutdown();

    // Tasks: 2.0 has one per instance; a 3.0 StopInstances call is one task.
    const std::size_t cvm_tasks = o.proto == protocol::v3
                                      ? static_cast<std::size_t>((o.cvm + o.batch - 1) / o.batch)
                                      : static_cast<std::size_t>(o.cvm);
    const std::size_t expected = cvm_tasks + static_cast<std::size_t>(o.clb);
    if (daemon_tasks.size() != expected || base.results.size() != expected)
        throw std::runtime_error(
            "task counts differ: daemon " + std::to_string(daemon_tasks.size()) + ", baseline " +
            std::to_string(base.results.size()) + ", expected " + std::to_string(expected));
    // Fresh connections: the simulators close connections left idle through the run.
    tt::http_client end_d(sim_d.port()), end_b(sim_b.port());
    auto fd = figures(daemon_tasks, sim_truth(end_d), "daemon");
    auto fb = figures(base.results, sim_truth(end_b), "baseline");
    const auto& n = o.names();
    const std::map<std::string, std::string> poll_action{{"cvm", "DescribeInstances"},
                                                         {n.clb_service, n.clb_poll}};
    for (const auto& [service, action] : poll_action) {
        fd[service].calls = sim_requests(end_d, action);
        fb[service].calls = sim_requests(end_b, action);
        fd[service].throttled = sim_requests(end_d, action, "throttled");
        fb[service].throttled = sim_requests(end_b, action, "throttled");
    }
    if (daemon.stop(SIGTERM) != 0)
        std::fprintf(stderr, "api_economy: the daemon did not exit cleanly\n");
    if (!o.daemon_log.empty())
        std::ofstream(o.daemon_log) << tt::read_file(dir.path() + "/daemon.log");

    struct kind_row {
        const char* name;
        const char* service;
        double target;
    };
    const kind_row kinds[] = {{"cvm", "cvm", 10.0}, {"clb", n.clb_service, 2.0}};
    const std::string cvm_what = o.proto == protocol::v3
                                     ? std::to_string(cvm_tasks) + " CVM tasks of up to " +
                                           std::to_string(o.batch) +
                                           " instances (API 3.0: one per StopInstances call), " +
                                           std::to_string(o.cvm) + " instances"
                                     : std::to_string(o.cvm) + " CVM instances";
    std::printf(
        "api_economy (API %s): %s (StopInstances, %s), %d CLB tasks "
        "(%s, %s), stale window %.1fs, %.0f calls/s "
        "submitted, baseline every %.1fs, cloud poll limit %s; daemon %.0fs, baseline %.0fs "
        "wall\n",
        o.proto == protocol::v3 ? "3.0" : "2.0", cvm_what.c_str(),
        fmt_range(o.cvm_duration).c_str(), o.clb, n.clb_action, fmt_range(o.clb_duration).c_str(),
        static_cast<double>(o.stale_window.count()) / 1000.0, o.submit_rate,
        static_cast<double>(o.baseline_interval.count()) / 1000.0,
        o.cloud_rate > 0 ? (std::to_string(static_cast<int>(o.cloud_rate)) + "/s").c_str() : "none",
        wall_d, wall_b);
    std::printf("%-5s %-9s %6s %7s %9s %10s %9s %9s %9s\n", "kind", "side", "tasks", "calls",
                "throttled", "calls/task", "p50 delay", "p95 delay", "max delay");
    std::string json_kinds;
    bool all_met = true;
    for (const auto& k : kinds) {
        if ((k.name == std::string("cvm") ? o.cvm : o.clb) == 0) continue;
        const auto& d = fd[k.service];
        const auto& b = fb[k.service];
        auto per = [](const side_figures& f) {
            return f.tasks ? static_cast<double>(f.calls) / static_cast<double>(f.tasks) : 0.0;
        };
        using row = std::pair<const char*, const side_figures*>;
        for (auto [side, f] : {row{"daemon", &d}, row{"baseline", &b}}) {
            std::printf("%-5s %-9s %6zu %7lld %9lld %10.3f %8.2fs %8.2fs %8.2fs\n", k.name, side,
                        f->tasks, static_cast<long long>(f->calls),
                        static_cast<long long>(f->throttled), per(*f), f->p50, f->p95, f->max);
        }
        double ratio =
            d.calls > 0 ? static_cast<double>(b.calls) / static_cast<double>(d.calls) : 0.0;
        bool calls_ok = ratio >= k.target;
        bool delay_ok = d.p95 <= b.p95;
        all_met = all_met && calls_ok && delay_ok;
        std::printf(
            "%-5s %-9s %6s %7s %9s %9.1fx %8.2fx %8.2fx   target: >= %.0fx fewer calls %s, "
            "p95 <= baseline %s\n",
            k.name, "ratio", "", "", "", ratio, b.p50 > 0 ? d.p50 / b.p50 : 0.0,
            b.p95 > 0 ? d.p95 / b.p95 : 0.0, k.target, calls_ok ? "met" : "NOT MET",
            delay_ok ? "met" : "NOT MET");
        char buf[512];
        auto side_json = [&](const side_figures& f) {
            char s[256];
            std::snprintf(
                s, sizeof s,
                "{\"tasks\":%zu,\"calls\":%lld,\"throttled\":%lld,\"calls_per_task\":%.3f,"
                "\"p50_delay_s\":%.3f,\"p95_delay_s\":%.3f,\"max_delay_s\":%.3f}",
                f.tasks, static_cast<long long>(f.calls), static_cast<long long>(f.throttled),
                per(f), f.p50, f.p95, f.max);
            return std::string(s);
        };
        std::snprintf(buf, sizeof buf,
                      "\"%s\":{\"daemon\":%s,\"baseline\":%s,\"calls_ratio\":%.2f,"
                      "\"p95_delay_ratio\":%.3f,\"calls_target_met\":%s,\"delay_target_met\":%s}",
                      k.name, side_json(d).c_str(), side_json(b).c_str(), ratio,
                      b.p95 > 0 ? d.p95 / b.p95 : 0.0, calls_ok ? "true" : "false",
                      delay_ok ? "true" : "false");
        json_kinds += (json_kinds.empty() ? "" : ",") + std::string(buf);
    }
    std::printf(
        "{\"bench\":\"api_economy\",\"protocol\":\"%s\",\"cvm_instances\":%d,\"cvm_batch\":%d,"
        "\"cvm_tasks\":%zu,\"clb_tasks\":%d,"
        "\"cvm_duration_ms\":[%lld,%lld],\"clb_duration_ms\":[%lld,%lld],"
        "\"stale_window_ms\":%lld,\"submit_rate\":%.1f,\"baseline_interval_ms\":%lld,"
        "\"seed\":%llu,\"daemon_rate_limit\":%s,\"cloud_rate_limit\":%.1f,%s,\"targets_met\":%s}\n",
        n.name, o.cvm, o.batch, cvm_tasks, o.clb,
        static_cast<long long>(o.cvm_duration.min.count()),
        static_cast<long long>(o.cvm_duration.max.count()),
        static_cast<long long>(o.clb_duration.min.count()),
        static_cast<long long>(o.clb_duration.max.count()),
        static_cast<long long>(o.stale_window.count()), o.submit_rate,
        static_cast<long long>(o.baseline_interval.count()),
        static_cast<unsigned long long>(o.seed),
        o.daemon_rate > 0 ? std::to_string(o.daemon_rate).c_str() : "\"shipped\"", o.cloud_rate,
        json_kinds.c_str(), all_met ? "true" : "false");
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    auto o = parse_args(argc, argv);
    try {
        return run(o);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "api_economy: %s\n", e.what());
        return 1;
    }
}
