#pragma once
// API 3.0 requests for the simulator's unit tests, signed with lib/qcloud/tc3.hpp (the client's
// own TC3 code), and a fixture that sends them through simulator::handle.

#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <string>
#include <utility>
#include <vector>

#include "qcloud/tc3.hpp"
#include "sim/v3.hpp"
#include "sim_test_support.hpp"

namespace taskpoller::sim::testing {

/// One 3.0 request; every field can be spoiled by a test before or after signing.
struct v3_request {
    std::string method = "POST";
    std::string path = "/";
    std::string host;
    std::string content_type = "application/json";
    std::string action, version, region = "ap-guangzhou", timestamp;
    std::string body;
    std::string authorization;
    std::vector<std::pair<std::string, std::string>> extra;  ///< more headers
    std::vector<std::string> omit;                           ///< header names not to send

    std::vector<header_field> headers() const {
        std::vector<header_field> h;
        auto add = [&](std::string_view name, const std::string& value) {
            for (const auto& o : omit)
                if (o == name) return;
            h.push_back({name, value});
        };
        add("Host", host);
        add("Content-Type", content_type);
        add("X-TC-Action", action);
        add("X-TC-Version", version);
        add("X-TC-Timestamp", timestamp);
        add("X-TC-Region", region);
        add("Authorization", authorization);
        for (const auto& [n, v] : extra) h.push_back({n, v});
        return h;
    }
};

/// The Authorization value for `r` signed over `signed_names` (lowercase, ';'-joined in
/// order) with `secret_key`, scope date `date` (default: the timestamp's) and `service`
/// (default: the host's). Header values are taken verbatim unless `lowercase_values`.
inline std::string sign_v3(const v3_request& r, const std::string& secret_id,
                           const std::string& secret_key,
                           const std::string& signed_names = "content-type;host",
                           std::string date = {}, std::string service = {},
                           bool lowercase_values = false) {
    namespace tc3 = qcloud::tc3;
    auto ts = std::stoll(r.timestamp);
    if (date.empty()) date = tc3::utc_date(ts);
    if (service.empty()) service = std::string(tc3::service_of_host(r.host));
    std::vector<std::string> values;
    std::vector<std::string> names;
    for (std::size_t start = 0;;) {
        auto semi = signed_names.find(';', start);
        names.push_back(signed_names.substr(start, semi - start));
        if (semi == std::string::npos) break;
        start = semi + 1;
    }
    for (const auto& n : names) {
        std::string v;
        if (n == "host")
            v = tc3::host_without_port(r.host);
        else if (n == "content-type")
            v = r.content_type;
        else if (n == "x-tc-action")
            v = r.action;
        else
            for (const auto& [en, ev] : r.extra)
                if (en == n) v = ev;
        if (lowercase_values)
            for (auto& c : v) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        values.push_back(std::move(v));
    }
    std::vector<tc3::header> hs;
    for (std::size_t i = 0; i < names.size(); ++i) hs.push_back({names[i], values[i]});
    auto canonical = tc3::canonical_request("POST", hs, r.body);
    auto key = tc3::derive_key(secret_key, date, service);
    auto sig = tc3::signature(key, tc3::string_to_sign(ts, service, canonical));
    return "TC3-HMAC-SHA256 Credential=" + secret_id + "/" + date + "/" + service +
           "/tc3_request, SignedHeaders=" + signed_names + ", Signature=" + sig;
}

struct v3_fixture : fixture {
    using fixture::fixture;

    /// An unsigned request for `service`'s public host at the current time.
    v3_request make(const std::string& service, const std::string& action,
                    const boost::json::object& params = {}) {
        v3_request r;
        r.host = service + ".tencentcloudapi.com";
        r.action = action;
        r.version = std::string(v3::version_of(service));
        r.timestamp = std::to_string(now_ms / 1000);
        r.body = boost::json::serialize(params);
        return r;
    }

    /// Signs `r` the way the client does (tc3::authorization).
    v3_request& sign(v3_request& r, const qcloud::credentials& creds = example_creds) {
        r.authorization = qcloud::tc3::authorization(
            creds, {r.host, r.content_type, r.body, std::stoll(r.timestamp)});
        return r;
    }

    http_out send(const v3_request& r, bool tls = false) {
        auto h = r.headers();
        return sim.handle({r.method, r.path, r.host, r.body, tls, h});
    }

    /// Sends `r` and returns the `Response` object (expects HTTP 200 and a JSON envelope).
    boost::json::object response(const v3_request& r) {
        auto out = send(r);
        EXPECT_EQ(out.status, 200u) << out.body;
        auto v = boost::json::parse(out.body);
        EXPECT_TRUE(v.as_object().at("Response").as_object().contains("RequestId")) << out.body;
        return v.as_object().at("Response").as_object();
    }

    /// Builds, signs and sends a call; returns the `Response` object.
    boost::json::object call3(const std::string& service, const std::string& action,
                              const boost::json::object& params = {}) {
        auto r = make(service, action, params);
        return response(sign(r));
    }

    boost::json::object get(const std::string& target) {
        auto out = sim.handle({"GET", target, "127.0.0.1", "", false});
        EXPECT_EQ(out.status, 200u);
        return boost::json::parse(out.body).as_object();
    }
};

/// The Error.Code of a Response, or "" for a success.
inline std::string error_code(const boost::json::object& response) {
    const auto* e = response.if_contains("Error");
    return e ? std::string(e->at("Code").as_string()) : std::string();
}

inline std::string request_id(const boost::json::object& response) {
    return std::string(response.at("RequestId").as_string());
}

}  // namespace taskpoller::sim::testing
