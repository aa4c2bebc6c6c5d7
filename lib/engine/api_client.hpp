#pragma once
// Sends one signed API 2.0 call and says what became of it. The engine's only door to the
// network: it signs with the account's credentials (fresh Timestamp and Nonce every call), finds
// the service's host in the registry, goes through the HTTP client, and counts every call by
// service, action and outcome for metrics.
//
// Threading: the io_context's thread only. The http client, registry and credentials passed in
// must outlive the api_client.

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "core/logger.hpp"
#include "engine/clock_skew.hpp"
#include "engine/outcomes.hpp"
#include "engine/stats.hpp"
#include "qcloud/params.hpp"
#include "qcloud/request.hpp"
#include "qcloud/signer.hpp"

namespace taskpoller::http {
class client;
struct request;
}  // namespace taskpoller::http

namespace taskpoller::engine {

class registry;

struct api_settings {
    bool https = true;
    std::uint16_t port = 0;  ///< 0: the scheme's default
    qcloud::http_method method = qcloud::http_method::post;
    qcloud::signature_method signature = qcloud::signature_method::hmac_sha256;
    std::chrono::milliseconds timeout{30'000};  ///< whole request
};

/// What became of one call.
struct call_outcome {
    enum class kind {
        answered,         ///< HTTP 200 with a body: parse it
        not_sent,         ///< provably never reached the server: safe to send again
        outcome_unknown,  ///< may have been acted on (also any non-200 HTTP status)
    };
    kind what = kind::not_sent;
    std::string body;   ///< answered only
    std::string error;  ///< not_sent / outcome_unknown: what went wrong, for logs and users
    unsigned http_status = 0;
    /// The cloud's clock, read from the answer's Date header (any HTTP status); nullopt when
    /// there was no answer or no usable Date (engine/clock_skew.hpp).
    std::optional<clock_reading> clock{};
};

std::string_view to_string(call_outcome::kind k) noexcept;

/// The failure a call that was not answered stands for (transport, transient), or nullopt
/// when it was answered. The same for every protocol.
std::optional<call_failure> transport_failure(const call_outcome& out);

class api_client {
  public:
    api_client(http::client& http, const registry& reg, qcloud::credentials creds,
               api_settings settings, core::logger log);

    /// Signs and sends `action` with `params` to `service`'s host. `fresh_connection` opens a
    /// new connection instead of reusing an idle one (for submissions, so a stale keep-alive
    /// connection cannot make the outcome unknown). A call with `fresh_connection` false must be
    /// idempotent (the polls' Describe* reads): if the idle connection it reuses turns out closed
    /// by the server, it is sent once more on a fresh connection (http::request::retry_if_stale).
    /// Never throws for network or server trouble: everything is an outcome. An unknown service
    /// or a parameter named like a common one is reported as not_sent.
    boost::asio::awaitable<call_outcome> async_call(std::string_view service,
                                                    std::string_view action,
                                                    std::string_view region,
                                                    const qcloud::param_list& params,
                                                    bool fresh_connection);

    /// The same with the parameters by reference. The views (service, action, region, params)
    /// are read only until the request is signed, before the first suspension.
    boost::asio::awaitable<call_outcome> async_call(std::string_view service,
                                                    std::string_view action,
                                                    std::string_view region,
                                                    std::span<const qcloud::param_view> params,
                                                    bool fresh_connection);

    /// Sends a request signed by the caller (API 3.0) to its host with the configured scheme,
    /// port and timeout, counting it under `service` and `action` as async_call does. `req`
    /// carries host, method, target, body, content type and headers. Every answer with a Date
    /// header gives a clock reading: in the outcome, and as stats().last_clock.
    boost::asio::awaitable<call_outcome> async_send(std::string_view service,
                                                    std::string_view action, http::request req,
                                                    bool fresh_connection);

    const qcloud::credentials& credentials() const noexcept { return creds_; }
    const api_settings& settings() const noexcept { return settings_; }
    const registry& services() const noexcept { return registry_; }

    /// Replaces the credentials (configuration reload); calls already signed are unaffected.
    void set_credentials(qcloud::credentials creds) { creds_ = std::move(creds); }
    void set_settings(const api_settings& s) { settings_ = s; }

    /// Counters of every call made so far.
    const api_stats& stats() const noexcept { return stats_; }
    /// Records what an answered call meant ("ok", "throttled", "api_error", "malformed").
    void count_answer(std::string_view service, std::string_view action, std::string_view label) {
        stats_.count(service, action, label);
        if (label == "throttled") ++stats_.throttled_total;
    }
    /// An answer AuthFailure.TokenFailure (the temporary credentials' token was refused).
    void count_token_failure() noexcept { ++stats_.token_failures; }
    /// Lets callers record what the answer meant (e.g. "throttled"), see api_stats.
    api_stats& mutable_stats() noexcept { return stats_; }

  private:
    http::client& http_;
    const registry& registry_;
    qcloud::credentials creds_;
    api_settings settings_;
    core::logger log_;
    qcloud::nonce_fn nonce_;
    api_stats stats_;
};

}  // namespace taskpoller::engine
