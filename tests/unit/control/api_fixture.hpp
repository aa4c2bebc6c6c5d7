#pragma once
// The API routes served in-process on a temporary Unix socket, with a real store and a real
// engine::tracker whose HTTP client goes to `cloud` (a simulator, or an address where nothing
// listens). Everything runs on one io thread; the fixture stops it however the test ends.

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

#include <atomic>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <map>
#include <optional>

#include "control/api.hpp"
#include "engine/tracker.hpp"
#include "http/client.hpp"
#include "server_fixture.hpp"
#include "store/store.hpp"

namespace taskpoller::control::test {

namespace json = boost::json;

struct api_env_options {
    std::string cloud = "127.0.0.1:1";  ///< connect_to target for every cloud host
    bool start_tracker = false;         ///< start polling (needs a reachable cloud)
    std::size_t change_log_capacity = 65'536;
    std::size_t max_waiters = 256;
    std::size_t stream_max_lines = 10'000;
    std::chrono::milliseconds max_wait{5'000};
    std::string secret_id = "AKIDz8krbsJ5yKBZQpn74WFkmLPx3gnPhESA";
    std::string secret_key = "Gu5t9xGARNpq86cd98joQYCN3Cozk1qA";
};

inline taskpoller::http::client_options cloud_options(const api_env_options& o) {
    taskpoller::http::client_options c;
    c.connect_to["*"] = o.cloud;
    c.connect_timeout = std::chrono::milliseconds(2000);
    c.request_timeout = std::chrono::milliseconds(5000);
    return c;
}

inline engine::tracker_config tracker_config_for(const api_env_options& o) {
    engine::tracker_config c;
    c.default_region = "ap-guangzhou";
    c.api.https = false;
    c.api.port = static_cast<std::uint16_t>(std::stoi(o.cloud.substr(o.cloud.rfind(':') + 1)));
    c.submit.max_attempts = 1;
    return c;
}

inline store::store_options store_options_for(const api_env_options& o) {
    store::store_options s;
    s.change_log_capacity = o.change_log_capacity;
    s.id_seed = 7;
    return s;
}

class api_env {
  public:
    explicit api_env(api_env_options o = {})
        : opts(o),
          st(clock, store_options_for(o), logs.logger()),
          http_client(ioc.get_executor(), logs.logger(), cloud_options(o)),
          tracker(ioc.get_executor(), st, clock, http_client,
                  qcloud::credentials(o.secret_id, o.secret_key), tracker_config_for(o),
                  logs.logger()),
          ctx{st, tracker, metrics, clock, "1.2.3-test", clock.system_now(), {}, {}, {}} {
        ctx.max_wait = o.max_wait;
        register_api_metrics(ctx);
        router r;
        add_api_routes(r, ctx);
        server_options so;
        so.socket_path = dir.path() + "/api.sock";
        so.metrics = &metrics;
        so.max_waiters = o.max_waiters;
        so.stream_max_lines = o.stream_max_lines;
        path = so.socket_path;
        srv = std::make_unique<server>(ioc, std::move(r), std::move(so), logs.logger());
        auto opened = srv->open();
        if (!opened) throw std::runtime_error(opened.error().message);
        srv->start();
        if (o.start_tracker) tracker.start();
        thread = std::thread([this] {
            ioc.run();
            ran_out = true;
        });
    }
    ~api_env() {
        auto done = std::make_shared<std::promise<void>>();
        auto fut = done->get_future();
        asio::post(ioc, [this, done] {
            srv->shutdown(1s, [this, done] {
                tracker.stop();
                http_client.shutdown();
                done->set_value();
            });
        });
        fut.wait_for(20s);
        // Let the io_context run out of work so no coroutine frame outlives what it uses; stop
        // it by force only if something is stuck (the test then fails on its own terms).
        for (int i = 0; i < 400 && !ran_out; ++i) std::this_thread::sleep_for(25ms);
        ioc.stop();
        thread.join();
    }

    /// Runs `f` on the io thread and returns its result.
    template <class F>
    auto on_io(F f) {
        std::packaged_task<decltype(f())()> task(std::move(f));
        auto fut = task.get_future();
        asio::post(ioc, [&task] { task(); });
        return fut.get();
    }

    /// Creates a submitted batch with accepted entries for `request_ids` (directly in the
    /// store, no cloud involved). Returns its id.
    std::string add_batch(std::vector<std::string> request_ids, core::labels labels = {},
                          std::string service = "lb", std::string action = "DeleteLoadBalancers") {
        return on_io([&] {
            auto b = st.create_batch({service, action, "ap-guangzhou", labels, ""});
            store::batch_outcome out;
            int i = 0;
            for (const auto& rid : request_ids)
                out.entries.push_back({"lb-" + std::to_string(i++), core::entry_outcome::accepted,
                                       0, "", rid, std::nullopt});
            out.entries.push_back(
                {"lb-bad", core::entry_outcome::rejected, 4000, "bad id", "", std::nullopt});
            return st.record_batch_outcome(b->id, out).value().id;
        });
    }
    /// Moves a task to `state` in the store (as a poll would).
    void set_state(const std::string& service, const std::string& rid, core::task_state s) {
        on_io([&] {
            store::task_update u;
            u.state = s;
            u.last_status = std::string(core::to_string(s));
            u.count_poll = true;
            return st.update_task({service, rid}, u).value();
        });
    }

    api_env_options opts;
    temp_dir dir;
    std::string path;
    log_capture logs;
    asio::io_context ioc;
    core::real_clock clock;
    metrics_registry metrics;
    store::store st;
    taskpoller::http::client http_client;
    engine::tracker tracker;
    api_context ctx;
    std::unique_ptr<server> srv;
    std::thread thread;
    std::atomic<bool> ran_out{false};
};

/// One request on a fresh connection: (status, parsed JSON body or null).
struct reply {
    unsigned status = 0;
    std::string body;
    json::value doc;
    std::string header(std::string_view name) const {
        auto it = headers.find(std::string(name));
        return it == headers.end() ? std::string() : it->second;
    }
    std::map<std::string, std::string> headers;
};

inline reply call(const std::string& socket, http::verb method, std::string target,
                  std::string body = {}) {
    client c(socket);
    auto res = c.request(method, std::move(target), std::move(body));
    reply r;
    r.status = res.result_int();
    r.body = res.body();
    for (const auto& f : res) r.headers[std::string(f.name_string())] = std::string(f.value());
    boost::system::error_code ec;
    r.doc = json::parse(r.body, ec);
    if (ec) r.doc = nullptr;
    return r;
}

inline std::string error_code_of(const reply& r) {
    if (!r.doc.is_object()) return {};
    auto* e = r.doc.as_object().if_contains("error");
    if (!e || !e->is_object()) return {};
    return std::string(e->as_object().at("code").as_string());
}

inline std::string error_message_of(const reply& r) {
    if (!r.doc.is_object()) return {};
    auto* e = r.doc.as_object().if_contains("error");
    if (!e || !e->is_object()) return {};
    return std::string(e->as_object().at("message").as_string());
}

}  // namespace taskpoller::control::test
