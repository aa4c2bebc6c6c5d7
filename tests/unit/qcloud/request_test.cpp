#include "qcloud/request.hpp"

#include <gtest/gtest.h>

#include <set>

#include "qcloud/encoding.hpp"

namespace tq = taskpoller::qcloud;

namespace {

const tq::credentials example{"AKIDz8krbsJ5yKBZQpn74WFkmLPx3gnPhESA",
                              "Gu5t9xGARNpq86cd98joQYCN3Cozk1qA"};

tq::request_spec o2_spec() {
    tq::request_spec spec;
    spec.host = "cvm.api.qcloud.com";
    spec.method = tq::http_method::get;
    spec.action = "DescribeInstances";
    spec.region = "ap-guangzhou";
    spec.params = {{"InstanceIds.0", "ins-09dx96dg"}};
    spec.signature = tq::signature_method::hmac_sha1;
    return spec;
}

// What a server does: decode, rebuild the canonical string, compare.
bool server_accepts(const tq::signed_request& req, std::string_view key) {
    std::string_view encoded = req.method == tq::http_method::post
                                   ? std::string_view(req.body)
                                   : std::string_view(req.target).substr(tq::api_path.size() + 1);
    auto params = tq::form_decode(encoded);
    if (!params) return false;
    const std::string* sig = tq::find_param(*params, "Signature");
    if (sig == nullptr) return false;
    auto m = tq::signature_method_from_param(tq::find_param(*params, "SignatureMethod"));
    auto expected = tq::compute_signature(
        key, m, tq::canonical_string(tq::to_string(req.method), req.host, tq::api_path, *params));
    return tq::constant_time_equal(*sig, expected);
}

}  // namespace

TEST(Request, official_o2_through_the_builder) {
    auto r = tq::build_request(
        example, o2_spec(), [] { return 1465185768; }, [] { return std::uint64_t{11886}; });
    ASSERT_TRUE(r.has_value()) << r.error().message;
    EXPECT_TRUE(r->body.empty());
    EXPECT_EQ(r->target.rfind("/v2/index.php?", 0), 0u);
    EXPECT_NE(r->target.find("&Signature=nPVnY6njQmwQ8ciqbPl5Qe%2BOru4%3D"), std::string::npos)
        << r->target;
    EXPECT_EQ(r->timestamp, 1465185768);
    EXPECT_EQ(r->nonce, 11886u);
    EXPECT_TRUE(server_accepts(*r, "Gu5t9xGARNpq86cd98joQYCN3Cozk1qA"));
    EXPECT_FALSE(server_accepts(*r, "wrong-key"));
}

TEST(Request, official_o1_sha256_through_the_builder) {
    auto spec = o2_spec();
    spec.signature = tq::signature_method::hmac_sha256;
    auto r = tq::build_request(
        example, spec, [] { return 1465185768; }, [] { return std::uint64_t{11886}; });
    ASSERT_TRUE(r.has_value());
    EXPECT_NE(r->target.find("Signature=" +
                             tq::percent_encode("0EEm/HtGRr/VJXTAD9tYMth1Bzm3lLHz5RCDv1GdM8s=")),
              std::string::npos);
}

TEST(Request, post_puts_everything_in_the_body) {
    auto spec = o2_spec();
    spec.method = tq::http_method::post;
    spec.params = {{"instanceIds.0", "ins-a"}, {"password", "p&ss= w+rd/%"}, {"name", "服务器"}};
    for (int i = 1; i <= 12; ++i) spec.params.push_back({"instanceIds." + std::to_string(i), "x"});
    auto r = tq::build_request(example, spec, tq::system_unix_seconds, tq::random_nonce_source());
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->target, "/v2/index.php");
    EXPECT_NE(r->body.find("password=p%26ss%3D%20w%2Brd%2F%25"), std::string::npos) << r->body;
    EXPECT_TRUE(server_accepts(*r, "Gu5t9xGARNpq86cd98joQYCN3Cozk1qA"));
    // A tampered body no longer verifies.
    auto tampered = *r;
    tampered.body.replace(tampered.body.find("ins-a"), 5, "ins-b");
    EXPECT_FALSE(server_accepts(tampered, "Gu5t9xGARNpq86cd98joQYCN3Cozk1qA"));
}

TEST(Request, token_is_sent_and_signed) {
    tq::credentials temp("id", "key", "tok/en");
    auto r = tq::build_request(
        temp, o2_spec(), [] { return 1; }, [] { return std::uint64_t{2}; });
    ASSERT_TRUE(r.has_value());
    EXPECT_NE(r->target.find("Token=tok%2Fen"), std::string::npos);
    EXPECT_TRUE(server_accepts(*r, "key"));
}

TEST(Request, every_call_is_fresh) {
    std::int64_t now = 100;
    auto nonce = tq::random_nonce_source();
    std::set<std::uint64_t> nonces;
    for (int i = 0; i < 200; ++i) {
        auto r = tq::build_request(
            example, o2_spec(), [&] { return now++; }, nonce);
        ASSERT_TRUE(r.has_value());
        EXPECT_GT(r->nonce, 0u);
        EXPECT_EQ(r->timestamp, now - 1);
        nonces.insert(r->nonce);
    }
    EXPECT_GT(nonces.size(), 195u);  // 200 draws from 2^31: a repeat is possible but rare
}

TEST(Request, refuses_bad_specs) {
    auto spec = o2_spec();
    spec.params.push_back({"Nonce", "1"});
    auto r = tq::build_request(
        example, spec, [] { return 1; }, [] { return std::uint64_t{1}; });
    ASSERT_TRUE(r.has_error());
    EXPECT_NE(r.error().message.find("Nonce"), std::string::npos);

    EXPECT_TRUE(tq::build_request(
                    example, o2_spec(), [] { return 1; }, [] { return std::uint64_t{0}; })
                    .has_error());
    spec = o2_spec();
    spec.action.clear();
    EXPECT_TRUE(tq::build_request(
                    example, spec, [] { return 1; }, [] { return std::uint64_t{1}; })
                    .has_error());
    spec = o2_spec();
    spec.host.clear();
    EXPECT_TRUE(tq::build_request(
                    example, spec, [] { return 1; }, [] { return std::uint64_t{1}; })
                    .has_error());
}

TEST(Request, empty_region_sends_no_region) {
    auto spec = o2_spec();
    spec.region.clear();
    auto r = tq::build_request(
        example, spec, [] { return 1; }, [] { return std::uint64_t{1}; });
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->target.find("Region="), std::string::npos);
}
