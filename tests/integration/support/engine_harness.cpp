#include "support/engine_harness.hpp"

#include <boost/asio/co_spawn.hpp>
#include <stdexcept>

#include "support/api.hpp"

namespace taskpoller::testing {
namespace asio = boost::asio;
namespace json = boost::json;
using namespace std::chrono_literals;

engine::tracker_config test_tracker_config() {
    engine::tracker_config c;
    c.default_region = "ap-guangzhou";
    c.api.https = false;
    c.api.timeout = 10s;
    auto& poll = c.polling.schedule.poll;
    poll.initial_delay = 200ms;
    poll.interval = 200ms;
    poll.multiplier = 1.5;
    poll.max_interval = 1s;
    poll.timeout = 60s;
    c.polling.schedule.retry.initial = 100ms;
    c.polling.schedule.retry.max = 1s;
    c.submit.backoff.initial = 100ms;
    c.submit.backoff.max = 1s;
    // The simulator's stale window is short in these tests; do not wait 10 s to trust a target.
    (void)c.services.set_settle_delay(1s);
    c.submit.reconcile_window = 5s;  // a lost answer nothing can prove stays unknown sooner
    return c;
}

engine_harness::engine_harness(engine_setup setup) {
    sim_ = std::make_unique<sim_process>(setup.sim_yaml, setup.sim_args);
    control_ = std::make_unique<http_client>(sim_->port(), setup.ca_file);
    store_ = std::make_unique<store::store>(clock_);
    http::client_options ho;
    ho.connect_to["*"] = setup.connect_host + ":" + std::to_string(sim_->port());
    ho.ca_file = setup.ca_file;
    ho.request_timeout = 10s;
    http_ = std::make_unique<http::client>(io_.get_executor(), core::logger{}, ho);
    auto cfg = test_tracker_config();
    cfg.api.https = setup.https;
    if (setup.tune) setup.tune(cfg);
    tracker_ = std::make_unique<engine::tracker>(io_.get_executor(), *store_, clock_, *http_,
                                                 example_creds, std::move(cfg), core::logger{});
    tracker_->start();
}

engine_harness::~engine_harness() {
    tracker_->stop();
    http_->shutdown();
    auto until = std::chrono::steady_clock::now() + 10s;
    while (tracker_->inflight() > 0 && std::chrono::steady_clock::now() < until) {
        io_.run_one_for(20ms);
    }
    io_.poll();
    tracker_.reset();
    http_.reset();
    io_.restart();
    io_.poll();
}

std::optional<core::result<engine::submit_result>> engine_harness::submit(
    engine::submission s, std::chrono::milliseconds limit) {
    std::optional<core::result<engine::submit_result>> out;
    asio::co_spawn(io_, tracker_->async_submit(std::move(s)),
                   [&out](std::exception_ptr e, core::result<engine::submit_result> r) {
                       if (e) std::rethrow_exception(e);
                       out.emplace(std::move(r));
                   });
    run_until([&] { return out.has_value(); }, limit);
    return out;
}

std::vector<std::optional<core::result<engine::submit_result>>> engine_harness::submit_all(
    std::vector<engine::submission> subs, std::chrono::milliseconds limit) {
    auto out = std::make_shared<std::vector<std::optional<core::result<engine::submit_result>>>>(
        subs.size());
    std::size_t done = 0;
    for (std::size_t i = 0; i < subs.size(); ++i) {
        asio::co_spawn(
            io_, tracker_->async_submit(std::move(subs[i])),
            [out, i, &done](std::exception_ptr e, core::result<engine::submit_result> r) {
                if (e) std::rethrow_exception(e);
                (*out)[i].emplace(std::move(r));
                ++done;
            });
    }
    run_until([&] { return done == out->size(); }, limit);
    return *out;
}

bool engine_harness::run_until(const std::function<bool()>& done, std::chrono::milliseconds limit) {
    auto until = std::chrono::steady_clock::now() + limit;
    while (!done()) {
        if (std::chrono::steady_clock::now() >= until) return false;
        if (io_.stopped()) io_.restart();
        io_.run_one_for(50ms);
    }
    return true;
}

std::size_t engine_harness::live_tasks() const {
    auto c = store_->task_counts();
    return c[static_cast<std::size_t>(core::task_state::pending)] +
           c[static_cast<std::size_t>(core::task_state::running)];
}

bool engine_harness::run_until_all_terminal(std::chrono::milliseconds limit) {
    return run_until([&] { return live_tasks() == 0; }, limit);
}

json::object engine_harness::sim_stats() {
    return get_json(*control_, "/_sim/stats").as_object();
}

std::map<std::string, std::string> engine_harness::sim_task_states() {
    std::map<std::string, std::string> out;
    auto v = get_json(*control_, "/_sim/tasks");
    for (const auto& t : v.at("tasks").as_array()) {
        const auto& o = t.as_object();
        auto state = json::value_to<std::string>(o.at("state"));
        out[json::value_to<std::string>(o.at("request_id"))] = state;
        // A reconciled task (engine/reconcile.hpp) is named after its instance: the truth is
        // the instance's latest operation of that action.
        if (const auto* rs = o.if_contains("resources")) {
            for (const auto& r : rs->as_array()) {
                out[json::value_to<std::string>(o.at("action")) +
                    "/reconciled:" + json::value_to<std::string>(r)] = state;
            }
        }
    }
    return out;
}

std::vector<std::string> engine_harness::sim_instances(int status) {
    std::vector<std::string> out;
    auto v = get_json(*control_, "/_sim/instances");
    for (const auto& i : v.at("instances").as_array()) {
        const auto& o = i.as_object();
        if (o.at("status").to_number<int>() == status) {
            out.push_back(json::value_to<std::string>(o.at("id")));
        }
    }
    return out;
}

std::int64_t engine_harness::sim_requests(const std::string& action) {
    auto s = sim_stats();
    const auto* a = s.at("actions").as_object().if_contains(action);
    return a ? a->at("requests").to_number<std::int64_t>() : 0;
}

std::int64_t engine_harness::sim_executions(const std::string& resource,
                                            const std::string& action) {
    auto s = sim_stats();
    const auto* r = s.at("resources").as_object().if_contains(resource);
    if (r == nullptr) return 0;
    const auto* n = r->as_object().if_contains(action);
    return n ? n->to_number<std::int64_t>() : 0;
}

engine::submission delete_lb(const std::string& lb, std::string client_token) {
    engine::submission s;
    s.service = "lb";
    s.action = "DeleteLoadBalancers";
    s.params = json::object{{"loadBalancerIds", json::array{json::value(lb)}}};
    s.client_token = std::move(client_token);
    return s;
}

std::size_t expect_tasks_match_truth(engine_harness& h) {
    auto truth = h.sim_task_states();
    store::task_filter f;
    store::page_request p;
    p.limit = 1000;
    std::size_t compared = 0;
    for (;;) {
        auto page = h.st().list_tasks(f, p);
        if (!page) {
            ADD_FAILURE() << page.error().message;
            return compared;
        }
        for (const auto& t : page->items) {
            EXPECT_TRUE(core::is_terminal(t.state)) << t.request_id;
            auto it =
                truth.find(t.request_id.starts_with("reconciled:") ? t.action + "/" + t.request_id
                                                                   : t.request_id);
            if (it == truth.end()) {
                ADD_FAILURE() << t.service << "/" << t.request_id << " unknown to the simulator";
                continue;
            }
            EXPECT_EQ(core::to_string(t.state), it->second)
                << t.service << "/" << t.request_id << " last_status=" << t.last_status
                << " last_error=" << t.last_error;
            ++compared;
        }
        if (page->next_page_token.empty()) break;
        p.page_token = page->next_page_token;
    }
    return compared;
}

}  // namespace taskpoller::testing
