#pragma once
// Shared helpers for the simulator's unit tests: a fake clock and signed requests built through
// the real client code (qcloud::build_request).

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <cstdint>
#include <string>

#include "qcloud/request.hpp"
#include "sim/simulator.hpp"

namespace taskpoller::sim::testing {

inline const qcloud::credentials example_creds{"AKIDz8krbsJ5yKBZQpn74WFkmLPx3gnPhESA",
                                               "Gu5t9xGARNpq86cd98joQYCN3Cozk1qA"};

/// A simulator driven by a clock the test moves by hand.
struct fixture {
    std::int64_t now_ms = 1'700'000'000'000;
    std::uint64_t next_nonce = 1000;
    simulator sim;

    explicit fixture(config cfg = quiet_config())
        : sim(std::move(cfg), [this] { return now_ms; }) {}

    /// Defaults with fixed 1 s durations, no stale window and no failures.
    static config quiet_config() {
        config c;
        c.default_operation = {{millis(1000), millis(1000)}, 0.0};
        c.stale_window = millis(0);
        c.instances = {3, 3};
        return c;
    }

    void advance(std::int64_t ms) { now_ms += ms; }

    qcloud::signed_request sign(const std::string& service, const std::string& action,
                                qcloud::param_list params = {},
                                qcloud::http_method m = qcloud::http_method::post,
                                const qcloud::credentials& creds = example_creds) {
        qcloud::request_spec spec{
            service + ".api.qcloud.com",          m, action, "ap-guangzhou", std::move(params),
            qcloud::signature_method::hmac_sha256};
        auto r = qcloud::build_request(
            creds, spec, [this] { return now_ms / 1000; }, [this] { return next_nonce++; });
        EXPECT_TRUE(r.has_value());
        return r.value();
    }

    http_out send(const qcloud::signed_request& r, bool tls = false) {
        std::string method(qcloud::to_string(r.method));
        return sim.handle({method, r.target, r.host, r.body, tls});
    }

    /// Signs, sends, and parses the JSON answer.
    boost::json::object call(const std::string& service, const std::string& action,
                             qcloud::param_list params = {}) {
        auto out = send(sign(service, action, std::move(params)));
        EXPECT_EQ(out.status, 200u);
        return boost::json::parse(out.body).as_object();
    }
};

inline std::int64_t code(const boost::json::object& o) {
    return o.at("code").as_int64();
}

}  // namespace taskpoller::sim::testing
