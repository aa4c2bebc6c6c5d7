#include "support/ground_truth.hpp"

#include <signal.h>

#include <boost/json.hpp>
#include <cstdlib>
#include <map>
#include <random>
#include <set>
#include <stdexcept>

#include "support/daemon_process.hpp"
#include "support/http_client.hpp"

namespace taskpoller::testing {

namespace json = boost::json;

planned_batch cvm_stop_batch(std::string token, std::vector<std::string> instances) {
    planned_batch p;
    p.token = std::move(token);
    json::array ids;
    for (const auto& i : instances) ids.emplace_back(i);
    p.resources = std::move(instances);
    p.body = json::serialize(json::object{{"service", "cvm"},
                                          {"action", "StopInstances"},
                                          {"params", {{"instanceIds", ids}}},
                                          {"client_token", p.token}});
    return p;
}

planned_batch lb_register_batch(std::string token, const std::string& lb) {
    planned_batch p;
    p.token = std::move(token);
    p.resources.push_back(lb);
    p.body = json::serialize(json::object{
        {"service", "lb"},
        {"action", "RegisterInstancesWithLoadBalancer"},
        {"params",
         {{"loadBalancerId", lb},
          {"backends", json::array{json::object{{"instanceId", "ins-backend"}, {"weight", 10}}}}}},
        {"client_token", p.token}});
    return p;
}

std::string crash_sim_config(int instances, int seed) {
    return "instances: {running: " + std::to_string(instances) +
           ", stopped: 0}\n"
           "stale_window: 300ms\n"
           "rate_limits: {enabled: false}\n"
           "operations: {default: {duration: {min: 500ms, max: 4s}, failure_probability: 0.1}}\n"
           "seed: " +
           std::to_string(seed) + "\n";
}

using namespace std::chrono_literals;

int env_int(const char* name, int fallback) {
    const char* v = std::getenv(name);
    return v != nullptr && *v != '\0' ? std::atoi(v) : fallback;
}

double env_double(const char* name, double fallback) {
    const char* v = std::getenv(name);
    return v != nullptr && *v != '\0' ? std::atof(v) : fallback;
}

submit_outcome submit_until_acknowledged(const ctl::client_options& client, const planned_batch& p,
                                         std::chrono::milliseconds give_up) {
    submit_outcome out;
    auto deadline = std::chrono::steady_clock::now() + give_up;
    for (;;) {
        auto r = ctl::send_request(client, "POST", "/v1/batches", p.body);
        if (r && (r->status == 202 || r->status == 200)) {
            auto b = json::parse(r->body).as_object();
            out.ack = acked_batch{p.token, std::string(b.at("id").as_string()),
                                  std::string(b.at("state").as_string()), p.resources};
            return out;
        }
        if (r && r->status != 503) {
            out.error = p.token + ": HTTP " + std::to_string(r->status) + " " + r->body;
            return out;
        }
        ++out.retries;  // the daemon is down, starting or shutting down: try again
        if (std::chrono::steady_clock::now() > deadline) {
            out.error = p.token + ": never acknowledged (last: " +
                        (r ? "HTTP " + std::to_string(r->status) : r.error().message) + ")";
            return out;
        }
        std::this_thread::sleep_for(50ms);
    }
}

daemon_restarter::daemon_restarter(daemon_process& daemon, std::mutex& mu, options o)
    : daemon_(daemon), mu_(mu), opts_(o), thread_([this] { run(); }) {}

daemon_restarter::~daemon_restarter() {
    stop();
}

void daemon_restarter::stop() {
    {
        std::lock_guard lock(wake_mu_);
        stopping_ = true;
    }
    wake_.notify_all();
    if (thread_.joinable()) thread_.join();
}

std::string daemon_restarter::error() const {
    std::lock_guard lock(error_mu_);
    return error_;
}

void daemon_restarter::run() {
    std::mt19937 rng(opts_.seed);
    std::uniform_int_distribution<long> pause_ms(opts_.min_pause.count(), opts_.max_pause.count());
    std::bernoulli_distribution term(opts_.sigterm_share);
    auto fail = [&](std::string why) {
        std::lock_guard lock(error_mu_);
        error_ = std::move(why);
    };
    for (int n = 0; opts_.max_restarts == 0 || n < opts_.max_restarts; ++n) {
        {
            std::unique_lock lock(wake_mu_);
            if (wake_.wait_for(lock, std::chrono::milliseconds(pause_ms(rng)),
                               [&] { return stopping_.load(); }))
                return;
        }
        std::lock_guard lock(mu_);
        // With a mix, the first two restarts are one of each (in random order), so even a short
        // run has both; after that each is drawn.
        bool mixed = opts_.sigterm_share > 0 && opts_.sigterm_share < 1;
        bool use_term = mixed && n == 1 ? kills_ > 0 : term(rng);
        if (use_term) {
            int status = daemon_.stop(SIGTERM);
            ++terms_;
            if (status != 0) {
                fail("SIGTERM restart " + std::to_string(n + 1) + ": exit status " +
                     std::to_string(status) + " (-1: no clean exit within 20 s)\n" +
                     daemon_.log_tail());
                daemon_.kill_hard();
            }
        } else {
            daemon_.kill_hard();
            ++kills_;
        }
        try {
            daemon_.start();
        } catch (const std::exception& e) {
            fail(std::string("restart ") + std::to_string(n + 1) + ": " + e.what());
            return;
        }
    }
}

std::string wait_until_settled(const ctl::client_options& client,
                               std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        auto r = ctl::send_request(client, "GET", "/v1/status");
        if (!r || r->status != 200) {
            return "GET /v1/status failed: " + (r ? r->body : r.error().message);
        }
        auto status = json::parse(r->body).as_object();
        const auto& t = status.at("tasks").as_object();
        const auto& b = status.at("batches").as_object();
        const auto* submitting = b.if_contains("submitting");
        std::int64_t busy = t.at("pending").as_int64() + t.at("running").as_int64() +
                            (submitting ? submitting->as_int64() : 0);
        if (busy == 0) return {};
        if (std::chrono::steady_clock::now() > deadline) {
            return "not settled after " + std::to_string(timeout.count()) +
                   " ms: " + json::serialize(status);
        }
        std::this_thread::sleep_for(500ms);
    }
}

std::vector<json::object> list_all(const ctl::client_options& client, const std::string& route,
                                   const std::string& key, int limit) {
    std::vector<json::object> out;
    std::string token;
    const char sep = route.find('?') == std::string::npos ? '?' : '&';
    for (;;) {
        std::string target = route + sep + "limit=" + std::to_string(limit);
        if (!token.empty()) target += "&page_token=" + ctl::url_encode(token);
        auto r = ctl::send_request(client, "GET", target);
        if (!r || r->status != 200) {
            throw std::runtime_error("GET " + target + ": " + (r ? r->body : r.error().message));
        }
        auto page = json::parse(r->body).as_object();
        for (auto& v : page.at(key).as_array()) out.push_back(std::move(v.as_object()));
        const auto& next = page.at("next_page_token");
        if (next.is_null()) return out;
        token = std::string(next.as_string());
    }
}

namespace {

json::object get_json(http_client& sim, const std::string& target) {
    auto r = sim.get(target);
    if (r.status != 200) throw std::runtime_error(target + ": HTTP " + std::to_string(r.status));
    return json::parse(r.body).as_object();
}

std::string str(const json::value& v) {
    return v.is_string() ? std::string(v.as_string()) : json::serialize(v);
}

}  // namespace

ground_truth_report check_against_simulator(const ctl::client_options& client, http_client& sim,
                                            const std::vector<acked_batch>& acknowledged,
                                            bool all_daemon_objects) {
    ground_truth_report rep;
    auto violation = [&](std::string what) { rep.violations.push_back(std::move(what)); };

    // Ground truth: each simulator task's outcome, and how often each resource ran each action.
    std::map<std::string, std::string> truth;  // "service/request_id" -> running|succeeded|failed
    const auto sim_tasks = get_json(sim, "/_sim/tasks");
    for (const auto& t : sim_tasks.at("tasks").as_array()) {
        truth[str(t.at("service")) + "/" + str(t.at("request_id"))] = str(t.at("state"));
        // A task a reconciliation named after its instance (engine/reconcile.hpp): the truth is
        // that instance's latest operation of the action ("service/reconciled:ID/Action").
        if (const auto* rs = t.as_object().if_contains("resources")) {
            for (const auto& r : rs->as_array()) {
                truth[str(t.at("service")) + "/reconciled:" + str(r) + "/" + str(t.at("action"))] =
                    str(t.at("state"));
            }
        }
    }
    std::set<std::string> executed;
    const auto sim_stats = get_json(sim, "/_sim/stats");
    for (const auto& [resource, actions] : sim_stats.at("resources").as_object()) {
        for (const auto& [action, n] : actions.as_object()) {
            if (n.to_number<std::int64_t>() > 1) {
                violation(std::string(resource) + " ran " + std::string(action) + " " +
                          std::to_string(n.to_number<std::int64_t>()) + " times");
            }
        }
        executed.insert(std::string(resource));
    }
    rep.executed_resources = executed.size();

    auto check_task = [&](const std::string& service, const std::string& rid,
                          const std::string& state, const std::string& where,
                          const std::string& action) {
        auto it = truth.find(service + "/" + rid +
                             (rid.starts_with("reconciled:") ? "/" + action : std::string()));
        if (it == truth.end()) {
            violation(where + ": task " + service + "/" + rid + " is unknown to the simulator");
        } else if (state != "succeeded" && state != "failed") {
            violation(where + ": task " + service + "/" + rid + " is " + state +
                      " (the simulator: " + it->second + ")");
        } else if (state != it->second) {
            violation(where + ": task " + service + "/" + rid + " is " + state +
                      " but the simulator says " + it->second);
        }
    };

    // Every acknowledged batch: still known, terminal, not behind its acknowledged state.
    std::set<std::string> acked_ids;
    std::set<std::string> acked_resources, accepted_resources, unknown_resources;
    std::map<std::string, std::string> entry_of;  // resource → its batch and entry, for messages
    for (const auto& a : acknowledged) {
        ++rep.batches;
        acked_ids.insert(a.batch_id);
        for (const auto& r : a.resources) acked_resources.insert(r);
        auto r = ctl::send_request(client, "GET", "/v1/batches/" + a.batch_id);
        if (!r || r->status != 200) {
            violation(a.token + " " + a.batch_id + " acknowledged as " + a.state +
                      " is lost: " + (r ? r->body : r.error().message));
            continue;
        }
        auto b = json::parse(r->body).as_object();
        std::string state = str(b.at("state"));
        ++rep.batch_states[state];
        if (state != "done" && state != "rejected" && state != "unknown") {
            violation(a.batch_id + " is still " + state);
        }
        bool behind = ((a.state == "submitted" || a.state == "done") && state != "done") ||
                      ((a.state == "rejected" || a.state == "unknown") && state != a.state);
        if (behind) violation(a.batch_id + " was acknowledged as " + a.state + " but is " + state);
        if (state == "unknown") {
            // A batch whose answer was lost lists exactly the resources the client asked for.
            std::vector<std::string> named;
            for (const auto& e : b.at("entries").as_array())
                named.push_back(str(e.at("resource_id")));
            if (named != a.resources) {
                violation(a.batch_id +
                          " is unknown but does not list the resources its call named");
            }
        }
        std::string service = str(b.at("service"));
        for (const auto& e : b.at("entries").as_array()) {
            const auto& entry = e.as_object();
            std::string resource = str(entry.at("resource_id"));
            entry_of[resource] = a.batch_id + " (" + state + ", acknowledged as " + a.state +
                                 "): " + json::serialize(entry);
            std::string entry_state = str(entry.at("state"));
            if (entry_state == "unknown") {
                unknown_resources.insert(resource);
                ++rep.unknown_entries;
            }
            if (entry.at("request_id").is_null()) continue;  // rejected or unknown
            accepted_resources.insert(resource);
            if (!all_daemon_objects) {
                check_task(service, str(entry.at("request_id")), entry_state, a.batch_id,
                           str(b.at("action")));
                ++rep.tasks_checked;
            }
        }
    }

    if (all_daemon_objects) {
        // Nothing the client did not ask for: every batch the daemon knows was acknowledged, and
        // every task it knows belongs to one, is terminal and has the simulator's outcome.
        auto batches = list_all(client, "/v1/batches", "batches");
        if (batches.size() != acked_ids.size()) {
            violation("the daemon knows " + std::to_string(batches.size()) + " batches; " +
                      std::to_string(acked_ids.size()) + " were acknowledged");
        }
        for (const auto& b : batches) {
            if (!acked_ids.count(str(b.at("id"))))
                violation("batch " + str(b.at("id")) + " was never acknowledged");
        }
        for (const auto& t : list_all(client, "/v1/tasks", "tasks")) {
            std::string batch = t.at("batch_id").is_null() ? "(adopted)" : str(t.at("batch_id"));
            if (!acked_ids.count(batch))
                violation("task " + str(t.at("key")) + " of " + batch +
                          " belongs to no acknowledged batch");
            check_task(str(t.at("service")), str(t.at("request_id")), str(t.at("state")), batch,
                       str(t.at("action")));
            ++rep.tasks_checked;
        }
    }

    // Every execution is accounted for: by a tracked task, or by an `unknown` entry.
    for (const auto& r : executed) {
        if (!acked_resources.count(r)) {
            violation(r + " was executed but no client was told");
        } else if (!accepted_resources.count(r) && !unknown_resources.count(r)) {
            auto it = entry_of.find(r);
            violation(r + " was executed but is neither tracked nor marked unknown: " +
                      (it == entry_of.end() ? std::string("no entry names it")
                                            : "entry of batch " + it->second));
        }
    }
    for (const auto& r : accepted_resources) {
        if (!executed.count(r)) violation(r + " has a requestId but the simulator never ran it");
    }
    return rep;
}

}  // namespace taskpoller::testing
