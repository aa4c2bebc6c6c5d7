#include "engine/api_client.hpp"

#include <fmt/format.h>

#include <boost/asio/this_coro.hpp>

#include "engine/registry.hpp"
#include "http/client.hpp"

namespace taskpoller::engine {
namespace asio = boost::asio;

void latency_histogram::observe(std::chrono::nanoseconds d) {
    double s = std::chrono::duration<double>(d).count();
    std::size_t i = 0;
    while (i < latency_buckets.size() && s > latency_buckets[i]) ++i;
    ++counts[i];
    sum_seconds += s;
    ++total;
}

std::string_view to_string(call_outcome::kind k) noexcept {
    switch (k) {
        case call_outcome::kind::answered:
            return "answered";
        case call_outcome::kind::not_sent:
            return "not_sent";
        case call_outcome::kind::outcome_unknown:
            return "outcome_unknown";
    }
    return "outcome_unknown";
}

std::optional<call_failure> transport_failure(const call_outcome& out) {
    if (out.what == call_outcome::kind::answered) return std::nullopt;
    return call_failure{call_failure::kind::transport, failure_class::transient, {}, out.error};
}

api_client::api_client(http::client& http, const registry& reg, qcloud::credentials creds,
                       api_settings settings, core::logger log)
    : http_(http),
      registry_(reg),
      creds_(std::move(creds)),
      settings_(settings),
      log_(std::move(log)),
      nonce_(qcloud::random_nonce_source()) {}

asio::awaitable<call_outcome> api_client::async_call(std::string_view service,
                                                     std::string_view action,
                                                     std::string_view region,
                                                     const qcloud::param_list& params,
                                                     bool fresh_connection) {
    std::vector<qcloud::param_view> views;
    views.reserve(params.size());
    for (const auto& p : params) views.push_back({p.name, p.value});
    co_return co_await async_call(service, action, region, views, fresh_connection);
}

asio::awaitable<call_outcome> api_client::async_call(std::string_view service,
                                                     std::string_view action,
                                                     std::string_view region,
                                                     std::span<const qcloud::param_view> params,
                                                     bool fresh_connection) {
    std::string host = registry_.host(service);
    if (host.empty()) {
        co_return call_outcome{
            call_outcome::kind::not_sent, {}, "unknown service " + std::string(service), 0};
    }
    qcloud::request_view spec{host, settings_.method, action, region, params, settings_.signature};
    auto signed_req = qcloud::build_request(creds_, spec, qcloud::system_unix_seconds, nonce_);
    if (!signed_req) {
        stats_.count(service, action, "not_sent");
        co_return call_outcome{call_outcome::kind::not_sent, {}, signed_req.error().message, 0};
    }
    http::request req;
    req.host = std::move(host);
    req.method =
        settings_.method == qcloud::http_method::post ? http::method::post : http::method::get;
    req.target = std::move(signed_req->target);
    req.body = std::move(signed_req->body);
    if (req.method == http::method::post) req.content_type = "application/x-www-form-urlencoded";
    co_return co_await async_send(service, action, std::move(req), fresh_connection);
}

asio::awaitable<call_outcome> api_client::async_send(std::string_view service,
                                                     std::string_view action, http::request req,
                                                     bool fresh_connection) {
    // The latency entry's key names the service and action from here on: the caller's views
    // need not outlive the first suspension, and map nodes stay put.
    auto entry = stats_.latency.find(std::pair{service, action});
    if (entry == stats_.latency.end())
        entry =
            stats_.latency
                .emplace(std::pair<std::string, std::string>{service, action}, latency_histogram{})
                .first;
    const std::string& svc = entry->first.first;
    const std::string& act = entry->first.second;

    req.scheme = settings_.https ? http::scheme::https : http::scheme::http;
    req.port = settings_.port;
    req.timeout = settings_.timeout;
    req.reuse_connection = !fresh_connection;
    req.retry_if_stale = !fresh_connection;  // only idempotent polls reuse connections
    const std::string host = req.host;

    auto started = std::chrono::steady_clock::now();
    const auto sent_at = std::chrono::system_clock::now();
    auto result = co_await http_.async_send(std::move(req));
    const auto received_at = std::chrono::system_clock::now();
    entry->second.observe(std::chrono::steady_clock::now() - started);

    if (!result) {
        const auto& e = result.error();
        bool unsent = e.not_sent();
        stats_.count(svc, act, unsent ? "not_sent" : "outcome_unknown");
        log_.debug("{} {}: {} ({})", svc, act, e.message, unsent ? "not sent" : "outcome unknown");
        co_return call_outcome{
            unsent ? call_outcome::kind::not_sent : call_outcome::kind::outcome_unknown,
            {},
            e.message,
            0};
    }
    std::optional<clock_reading> clock;
    if (const auto* date = result->header("Date")) {
        clock = read_clock(*date, sent_at, received_at);
        if (clock) {
            clock->service = svc;
            stats_.last_clock = clock;
        }
    }
    if (result->status != 200) {
        stats_.count(svc, act, "http_error");
        co_return call_outcome{
            call_outcome::kind::outcome_unknown,
            {},
            fmt::format("HTTP {} {} from {}", result->status, result->reason, host),
            result->status,
            std::move(clock)};
    }
    co_return call_outcome{
        call_outcome::kind::answered, std::move(result->body), {}, 200, std::move(clock)};
}

}  // namespace taskpoller::engine
