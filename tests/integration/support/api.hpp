#pragma once
// Test support: signs API 2.0 requests with the real client code and the real clock (the
// simulator checks Timestamps against its own clock), sends them, and parses answers.

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <string>

#include "qcloud/request.hpp"
#include "support/http_client.hpp"

namespace taskpoller::testing {

inline const qcloud::credentials example_creds{"AKIDz8krbsJ5yKBZQpn74WFkmLPx3gnPhESA",
                                               "Gu5t9xGARNpq86cd98joQYCN3Cozk1qA"};

inline qcloud::signed_request sign(
    const std::string& service, const std::string& action, qcloud::param_list params = {},
    qcloud::http_method m = qcloud::http_method::post,
    qcloud::signature_method sm = qcloud::signature_method::hmac_sha256,
    const qcloud::credentials& creds = example_creds, std::int64_t clock_offset_s = 0) {
    static auto nonce = qcloud::random_nonce_source();
    qcloud::request_spec spec{service + ".api.qcloud.com", m, action, "ap-guangzhou",
                              std::move(params),           sm};
    auto r = qcloud::build_request(
        creds, spec, [&] { return qcloud::system_unix_seconds() + clock_offset_s; }, nonce);
    if (!r) throw std::runtime_error(r.error().message);
    return *r;
}

/// Sends `r` and parses the JSON answer; fails the test on a transport error or non-JSON.
inline boost::json::object call(http_client& c, const qcloud::signed_request& r) {
    http_reply reply;
    boost::system::error_code ec;
    if (!c.send(r, reply, ec)) {
        ADD_FAILURE() << "transport error: " << ec.message();
        return {};
    }
    EXPECT_EQ(reply.status, 200u) << reply.body;
    boost::system::error_code pec;
    auto v = boost::json::parse(reply.body, pec);
    if (pec || !v.is_object()) {
        ADD_FAILURE() << "not a JSON object: " << reply.body;
        return {};
    }
    return v.as_object();
}

inline boost::json::object call(http_client& c, const std::string& service,
                                const std::string& action, qcloud::param_list params = {}) {
    return call(c, sign(service, action, std::move(params)));
}

inline std::int64_t code(const boost::json::object& o) {
    const auto* c = o.if_contains("code");
    return c && c->is_int64() ? c->as_int64() : -1;
}

inline boost::json::value get_json(http_client& c, const std::string& target) {
    return boost::json::parse(c.get(target).body);
}

}  // namespace taskpoller::testing
