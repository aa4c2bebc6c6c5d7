// The engine against the simulator: client_token idempotency, adopting requestIds submitted
// elsewhere, cancelling, and TLS with a certificate made by the test.
#include <gtest/gtest.h>

#include <cstdlib>

#include "support/api.hpp"
#include "support/engine_harness.hpp"

namespace taskpoller::testing {
namespace {
namespace json = boost::json;
using namespace std::chrono_literals;

const char* quick_yaml = R"(instances: {running: 2, stopped: 0}
stale_window: 200ms
operations:
  default: {duration: {min: 300ms, max: 800ms}, failure_probability: 0}
  DeregisterInstancesFromLoadBalancer: {duration: 60s}
)";

engine_setup quick() {
    engine_setup s;
    s.sim_yaml = quick_yaml;
    return s;
}

TEST(EngineSubmit, ClientTokenMakesSubmissionIdempotent) {
    engine_harness h(quick());
    auto first = h.submit(delete_lb("lb-tok", "token-1"));
    ASSERT_TRUE(first && *first) << (first ? first->error().message : "timeout");
    EXPECT_FALSE((*first)->existing);
    EXPECT_EQ((*first)->batch.state, core::batch_state::submitted);

    auto again = h.submit(delete_lb("lb-tok", "token-1"));
    ASSERT_TRUE(again && *again) << (again ? again->error().message : "timeout");
    EXPECT_TRUE((*again)->existing);
    EXPECT_EQ((*again)->batch.id, (*first)->batch.id);

    auto other = h.submit(delete_lb("lb-other", "token-1"));
    ASSERT_TRUE(other.has_value());
    ASSERT_FALSE(*other);
    EXPECT_EQ(other->error().kind, core::error_kind::conflict) << other->error().message;

    EXPECT_EQ(h.sim_requests("DeleteLoadBalancers"), 1);
    EXPECT_EQ(h.sim_executions("lb-other", "DeleteLoadBalancers"), 0);
    ASSERT_TRUE(h.run_until_all_terminal(30s));
    EXPECT_EQ(expect_tasks_match_truth(h), 1u);
}

TEST(EngineSubmit, AdoptedRequestIdsReachTheirTerminalState) {
    engine_harness h(quick());
    // Submitted directly, not through the engine.
    auto lb = call(h.control(), "lb", "DeleteLoadBalancers", {{"loadBalancerIds.0", "lb-adopt"}});
    ASSERT_EQ(code(lb), 0) << json::serialize(lb);
    auto lb_rid = std::to_string(lb.at("requestId").to_number<std::int64_t>());
    auto ins = h.sim_instances(2).at(0);
    auto cvm = call(h.control(), "cvm", "StopInstances", {{"instanceIds.0", ins}});
    ASSERT_EQ(code(cvm), 0) << json::serialize(cvm);
    auto cvm_rid = json::value_to<std::string>(cvm.at("detail").at(ins).at("requestId"));

    auto a = h.tracker().adopt({.key = {"lb", lb_rid}});
    ASSERT_TRUE(a) << a.error().message;
    auto c =
        h.tracker().adopt({.key = {"cvm", cvm_rid}, .action = "StopInstances", .resources = {ins}});
    ASSERT_TRUE(c) << c.error().message;
    auto twice = h.tracker().adopt({.key = {"lb", lb_rid}});
    ASSERT_FALSE(twice);
    EXPECT_EQ(twice.error().kind, core::error_kind::conflict);
    // A cvm task cannot be adopted without its instances.
    EXPECT_FALSE(h.tracker().adopt({.key = {"cvm", "123"}, .action = "StopInstances"}));
    // A requestId the cloud does not know ends not_found after a few checks.
    auto ghost = h.tracker().adopt({.key = {"lb", "999999"}});
    ASSERT_TRUE(ghost) << ghost.error().message;

    ASSERT_TRUE(h.run_until_all_terminal(30s)) << h.live_tasks() << " live";
    EXPECT_EQ(h.st().get_task({"lb", lb_rid})->state, core::task_state::succeeded);
    auto ct = h.st().get_task({"cvm", cvm_rid});
    EXPECT_EQ(ct->state, core::task_state::succeeded) << ct->last_status << " " << ct->last_error;
    auto gt = h.st().get_task({"lb", "999999"});
    EXPECT_EQ(gt->state, core::task_state::not_found) << gt->last_error;
    auto truth = h.sim_task_states();
    EXPECT_EQ(truth[lb_rid], "succeeded");
    EXPECT_EQ(truth[cvm_rid], "succeeded");
}

TEST(EngineSubmit, CancelStopsPolling) {
    engine_harness h(quick());
    engine::submission s;
    s.service = "lb";
    s.action = "DeregisterInstancesFromLoadBalancer";  // 60 s in this simulator
    s.params = json::object{{"loadBalancerId", "lb-cancel"},
                            {"backends", json::array{json::object{{"instanceId", "ins-x"}}}}};
    auto r = h.submit(std::move(s));
    ASSERT_TRUE(r && *r) << (r ? r->error().message : "timeout");
    ASSERT_EQ((*r)->batch.state, core::batch_state::submitted) << (*r)->batch.message;
    const auto& b = (*r)->batch;
    core::task_key key{"lb", b.entries.at(0).request_id, b.region, b.id};  // the whole identity
    ASSERT_TRUE(h.tracker().polls().is_tracked(key));
    ASSERT_TRUE(
        h.run_until([&] { return h.st().get_task(key)->state == core::task_state::running; }, 10s));

    auto c = h.tracker().cancel_task(key);
    ASSERT_TRUE(c) << c.error().message;
    EXPECT_EQ(c->state, core::task_state::cancelled);
    EXPECT_FALSE(h.tracker().polls().is_tracked(key));
    EXPECT_EQ(h.tracker().polls().tracked(), 0u);
    // Let a poll already in flight land, then nothing more may be sent for 1.5 s (about 7
    // poll intervals).
    ASSERT_TRUE(h.run_until([&] { return h.tracker().inflight() == 0; }, 10s));
    auto before = h.sim_requests("DescribeLoadBalancersTaskResult");
    h.run_until([] { return false; }, 1500ms);
    EXPECT_EQ(h.sim_requests("DescribeLoadBalancersTaskResult"), before);
    EXPECT_EQ(h.st().get_task(key)->state, core::task_state::cancelled);
    EXPECT_FALSE(h.tracker().cancel_task(key));  // already terminal
}

engine::submission slow_deregister(const std::string& lb) {
    engine::submission s;
    s.service = "lb";
    s.action = "DeregisterInstancesFromLoadBalancer";  // 60 s in this simulator
    s.params = json::object{{"loadBalancerId", lb},
                            {"backends", json::array{json::object{{"instanceId", "ins-x"}}}}};
    return s;
}

TEST(EngineSubmit, CancelBatchStopsEveryTaskOfIt) {
    engine_harness h(quick());
    auto r = h.submit(slow_deregister("lb-cb"));
    ASSERT_TRUE(r && *r) << (r ? r->error().message : "timeout");
    auto c = h.tracker().cancel_batch((*r)->batch.id);
    ASSERT_TRUE(c) << c.error().message;
    EXPECT_EQ(c->state, core::batch_state::done);
    EXPECT_EQ(h.tracker().polls().tracked(), 0u);
    EXPECT_EQ(h.live_tasks(), 0u);
    EXPECT_FALSE(h.tracker().cancel_batch((*r)->batch.id));  // already done
}

TEST(EngineSubmit, DeadlineMakesATaskTimedOutWithItsLastStatus) {
    engine_harness h(quick());
    auto s = slow_deregister("lb-slow");
    s.timeout = 1500ms;
    auto r = h.submit(std::move(s));
    ASSERT_TRUE(r && *r) << (r ? r->error().message : "timeout");
    core::task_key key{"lb", (*r)->batch.entries.at(0).request_id};
    ASSERT_TRUE(h.run_until_all_terminal(20s));
    auto t = h.st().get_task(key);
    EXPECT_EQ(t->state, core::task_state::timed_out);
    EXPECT_EQ(t->last_status, "running");
    EXPECT_GE(t->polls, 1u);
    EXPECT_NE(t->last_error.find("deadline"), std::string::npos) << t->last_error;
    EXPECT_EQ(h.sim_task_states()[key.request_id], "running");  // the cloud is still at it
}

TEST(EngineSubmit, ThrottledSubmissionsAreSentAgainAndRunOnce) {
    auto setup = quick();
    setup.sim_yaml += "rate_limits: {default: 20, actions: {DeleteLoadBalancers: 4}}\n";
    setup.tune = [](engine::tracker_config& c) {
        engine::service_override o;
        o.name = "lb";
        o.actions["DeleteLoadBalancers"].rate_limit = 100;  // far above the simulator's 4/s
        ASSERT_TRUE(c.services.apply(o));
        c.submit.max_attempts = 40;  // full-jitter retries may lose the race often
    };
    engine_harness h(setup);
    std::vector<engine::submission> subs;
    for (int i = 0; i < 8; ++i) subs.push_back(delete_lb("lb-thr" + std::to_string(i)));
    auto results = h.submit_all(std::move(subs), 60s);
    for (int i = 0; i < 8; ++i) {
        ASSERT_TRUE(results[i] && *results[i]);
        EXPECT_EQ((*results[i])->batch.state, core::batch_state::submitted)
            << (*results[i])->batch.message;
        EXPECT_EQ(h.sim_executions("lb-thr" + std::to_string(i), "DeleteLoadBalancers"), 1);
    }
    auto stats = h.sim_stats().at("actions").at("DeleteLoadBalancers").as_object();
    EXPECT_GT(stats.at("throttled").to_number<std::int64_t>(), 0);
    EXPECT_GT(h.tracker().api().throttled_total, 0u);
    ASSERT_TRUE(h.run_until_all_terminal(30s));
    EXPECT_EQ(expect_tasks_match_truth(h), 8u);
}

// A task cancelled while its poll is in flight (dispatched, answer not yet applied) must not be
// touched by that poll's answer, and its slot must not be confused with another task's.
void cancel_between_dispatch_and_poll(engine_harness& h, engine::submission s) {
    auto r = h.submit(std::move(s));
    ASSERT_TRUE(r && *r) << (r ? r->error().message : "timeout");
    ASSERT_EQ((*r)->batch.state, core::batch_state::submitted) << (*r)->batch.message;
    auto deadline = std::chrono::steady_clock::now() + 10s;
    // Step the io_context one handler at a time until a poll is dispatched.
    while (h.tracker().polls().inflight() == 0 && std::chrono::steady_clock::now() < deadline) {
        h.io().run_one_for(50ms);
    }
    ASSERT_GT(h.tracker().polls().inflight(), 0u);
    for (const auto& e : (*r)->batch.entries) {
        if (e.outcome == core::entry_outcome::accepted) {
            EXPECT_TRUE(h.tracker().cancel_task({(*r)->batch.service, e.request_id}));
        }
    }
    ASSERT_TRUE(h.run_until([&] { return h.tracker().inflight() == 0; }, 10s));
    EXPECT_EQ(h.live_tasks(), 0u);
    EXPECT_EQ(h.tracker().polls().tracked(), 0u);
}

TEST(EngineSubmit, CancelWhilePollInFlightIsSafe) {
    auto setup = quick();
    setup.tune = [](engine::tracker_config& c) {
        c.polling.schedule.poll.initial_delay = 0ms;  // due at once: dispatched on next wake
        c.polling.schedule.poll.jitter = engine::jitter_mode::none;
    };
    engine_harness h(setup);
    cancel_between_dispatch_and_poll(h, slow_deregister("lb-race"));
    engine::submission cvm;
    cvm.service = "cvm";
    cvm.action = "StopInstances";
    cvm.params = json::object{{"instanceIds", json::array{json::value(h.sim_instances(2).at(0))}}};
    cancel_between_dispatch_and_poll(h, std::move(cvm));
}

struct test_pki {
    temp_dir dir;
    std::string ca, cert, key;
    test_pki()
        : ca(dir.path() + "/ca.pem"), cert(dir.path() + "/cert.pem"), key(dir.path() + "/key.pem") {
        const std::string o = OPENSSL_PROGRAM, d = dir.path();
        dir.write("ext.cnf", "subjectAltName=DNS:*.api.qcloud.com\n");
        const std::string cmds[] = {
            o + " req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=taskpoller-test-ca -keyout " +
                d + "/ca.key -out " + ca,
            o + " req -newkey rsa:2048 -nodes -subj /CN=api.qcloud.com -keyout " + key + " -out " +
                d + "/srv.csr",
            o + " x509 -req -in " + d + "/srv.csr -CA " + ca + " -CAkey " + d +
                "/ca.key -CAcreateserial -days 1 -out " + cert + " -extfile " + d + "/ext.cnf",
        };
        for (const auto& c : cmds) {
            if (std::system((c + " >/dev/null 2>&1").c_str()) != 0) {
                throw std::runtime_error("openssl failed: " + c);
            }
        }
    }
};

engine_setup tls_setup(const test_pki& pki) {
    engine_setup s;
    s.sim_yaml = std::string(quick_yaml) + "tls_only: true\n";
    s.sim_args = {"--tls-cert", pki.cert, "--tls-key", pki.key};
    s.https = true;
    s.ca_file = pki.ca;
    return s;
}

TEST(EngineTls, VerifiesTheSimulatorsCertificateAgainstTheCaFile) {
    test_pki pki;
    engine_harness h(tls_setup(pki));
    auto r = h.submit(delete_lb("lb-tls"));
    ASSERT_TRUE(r && *r) << (r ? r->error().message : "timeout");
    EXPECT_EQ((*r)->batch.state, core::batch_state::submitted) << (*r)->batch.message;
    ASSERT_TRUE(h.run_until_all_terminal(30s));
    EXPECT_EQ(expect_tasks_match_truth(h), 1u);
    EXPECT_EQ(h.sim_executions("lb-tls", "DeleteLoadBalancers"), 1);
}

TEST(EngineTls, AWrongHostNameIsRefusedAndNothingIsSent) {
    test_pki pki;
    auto setup = tls_setup(pki);
    setup.tune = [](engine::tracker_config& c) {
        c.services.set_host_suffix("api.example.test");  // not in the certificate
        c.submit.max_attempts = 2;
    };
    engine_harness h(setup);
    auto r = h.submit(delete_lb("lb-wrong-host"));
    ASSERT_TRUE(r && *r) << (r ? r->error().message : "timeout");
    const auto& b = (*r)->batch;
    EXPECT_EQ(b.state, core::batch_state::rejected);
    EXPECT_NE(b.message.find("not sent"), std::string::npos) << b.message;
    ASSERT_EQ(b.entries.size(), 1u);
    EXPECT_EQ(b.entries[0].outcome, core::entry_outcome::rejected);
    EXPECT_EQ(h.sim_requests("DeleteLoadBalancers"), 0);
    EXPECT_EQ(h.sim_executions("lb-wrong-host", "DeleteLoadBalancers"), 0);
    EXPECT_EQ(h.st().task_count(), 0u);
}

}  // namespace
}  // namespace taskpoller::testing
