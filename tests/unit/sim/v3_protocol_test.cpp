// API 3.0 routing, envelope and TC3 verification in the simulator.

#include <regex>

#include "v3_test_support.hpp"

namespace taskpoller::sim {
namespace {

using testing::error_code;
using testing::example_creds;
using testing::request_id;
using testing::sign_v3;
using testing::v3_fixture;
using testing::v3_request;

const std::string secret_id = "AKIDz8krbsJ5yKBZQpn74WFkmLPx3gnPhESA";
const std::string secret_key = "Gu5t9xGARNpq86cd98joQYCN3Cozk1qA";

TEST(SimV3Routing, EveryPublicHostFormIsApi3AndThePortIsIgnored) {
    v3_fixture f;
    for (std::string host : {"cvm.tencentcloudapi.com", "cvm.ap-guangzhou.tencentcloudapi.com",
                             "cvm.intl.tencentcloudapi.com", "cvm.tencentcloudapi.com:8443"}) {
        auto r = f.make("cvm", "DescribeInstances");
        r.host = host;
        auto resp = f.response(f.sign(r));
        EXPECT_EQ(error_code(resp), "") << host << ": " << boost::json::serialize(resp);
        EXPECT_EQ(resp.at("TotalCount").as_int64(), 6) << host;
        EXPECT_TRUE(std::regex_match(
            request_id(resp),
            std::regex("[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")))
            << request_id(resp);
    }
    // 2.0 on the same simulator is unchanged.
    EXPECT_EQ(testing::code(f.call("cvm", "DescribeInstances")), 0);
}

TEST(SimV3Routing, EachAnswerHasItsOwnRequestIdAndErrorsUseTheErrorShape) {
    v3_fixture f;
    auto a = f.call3("cvm", "DescribeInstances");
    auto b = f.call3("cvm", "DescribeInstances");
    EXPECT_NE(request_id(a), request_id(b));
    auto r = f.make("cvm", "DescribeInstances");
    auto out = f.send(f.sign(r, qcloud::credentials("AKIDunknown", "x")));
    EXPECT_EQ(out.status, 200u);
    EXPECT_EQ(out.content_type, "application/json");
    auto v = boost::json::parse(out.body).as_object();
    ASSERT_EQ(v.size(), 1u);
    const auto& resp = v.at("Response").as_object();
    ASSERT_EQ(resp.size(), 2u) << out.body;
    EXPECT_EQ(resp.at("Error").at("Code").as_string(), "AuthFailure.SecretIdNotFound");
    EXPECT_FALSE(resp.at("Error").at("Message").as_string().empty());
    EXPECT_FALSE(resp.at("RequestId").as_string().empty());
}

TEST(SimV3Routing, GetOtherPathsAndNonJsonAreRefused) {
    v3_fixture f;
    auto get = f.make("cvm", "DescribeInstances");
    get.method = "GET";
    EXPECT_EQ(error_code(f.response(f.sign(get))), "UnsupportedProtocol");
    auto path = f.make("cvm", "DescribeInstances");
    path.path = "/v2/index.php";
    EXPECT_EQ(error_code(f.response(f.sign(path))), "UnsupportedProtocol");
    auto form = f.make("cvm", "DescribeInstances");
    form.content_type = "application/x-www-form-urlencoded";
    EXPECT_EQ(error_code(f.response(f.sign(form))), "UnsupportedProtocol");
    for (std::string body : {"not json", "[1,2]", "{\"InstanceIds\":", ""}) {
        auto r = f.make("cvm", "DescribeInstances");
        r.body = body;
        EXPECT_EQ(error_code(f.response(f.sign(r))), "InvalidParameter") << body;
    }
    auto st = f.sim.counters().to_json().at("actions").at("DescribeInstances");
    EXPECT_EQ(st.at("accepted").as_int64(), 0);
    EXPECT_EQ(st.at("refused").at("InvalidParameter").as_int64(), 4);
}

TEST(SimV3Routing, TlsOnlyRefusesPlainHttp) {
    auto cfg = v3_fixture::quiet_config();
    cfg.tls_only = true;
    v3_fixture f(cfg);
    auto r = f.make("cvm", "DescribeInstances");
    f.sign(r);
    EXPECT_EQ(error_code(f.response(r)), "UnsupportedProtocol");
    auto out = f.send(r, true);
    EXPECT_EQ(error_code(boost::json::parse(out.body).at("Response").as_object()), "");
}

TEST(SimV3Routing, MissingHeadersUnknownProductsVersionsAndActions) {
    v3_fixture f;
    for (std::string h : {"X-TC-Action", "X-TC-Version", "X-TC-Timestamp", "X-TC-Region"}) {
        auto r = f.make("cvm", "DescribeInstances");
        r.omit = {h};
        EXPECT_EQ(error_code(f.response(f.sign(r))), "MissingParameter") << h;
    }
    auto ts = f.make("cvm", "DescribeInstances");
    ts.timestamp = "12ab";
    ts.authorization =
        "TC3-HMAC-SHA256 Credential=x/2020-01-01/cvm/tc3_request, "
        "SignedHeaders=content-type;host, Signature=00";
    EXPECT_EQ(error_code(f.response(ts)), "InvalidParameter");

    auto product = f.make("cvm", "DescribeInstances");
    product.host = "foo.tencentcloudapi.com";
    EXPECT_EQ(error_code(f.response(f.sign(product))), "NoSuchProduct");

    auto cvm_version = f.make("cvm", "DescribeInstances");
    cvm_version.version = "2018-03-17";
    EXPECT_EQ(error_code(f.response(f.sign(cvm_version))), "NoSuchVersion");
    auto clb_version = f.make("clb", "DescribeTaskStatus", {{"TaskId", "x"}});
    clb_version.version = "2017-03-12";
    EXPECT_EQ(error_code(f.response(f.sign(clb_version))), "NoSuchVersion");

    EXPECT_EQ(error_code(f.call3("cvm", "DescribeWhatever")), "InvalidAction");
    EXPECT_EQ(error_code(f.call3("cvm", "DescribeTaskStatus")), "InvalidAction");  // a clb action
    EXPECT_EQ(error_code(f.call3("clb", "StopInstances")), "InvalidAction");       // a cvm action
    auto stats = f.sim.counters().to_json().at("actions");
    EXPECT_EQ(stats.at("(unknown)").at("refused").at("InvalidAction").as_int64(), 3);
}

// ---- verification ----

TEST(SimV3Auth, UnknownSecretIdWrongKeyAndMalformedAuthorization) {
    v3_fixture f;
    auto r = f.make("cvm", "DescribeInstances");
    EXPECT_EQ(error_code(f.response(f.sign(r, qcloud::credentials("AKIDnobody", secret_key)))),
              "AuthFailure.SecretIdNotFound");
    EXPECT_EQ(error_code(f.response(f.sign(r, qcloud::credentials(secret_id, "wrong-key")))),
              "AuthFailure.SignatureFailure");
    r.authorization = "Bearer abc";
    EXPECT_EQ(error_code(f.response(r)), "AuthFailure.InvalidAuthorization");
    r.omit = {"Authorization"};
    EXPECT_EQ(error_code(f.response(r)), "AuthFailure.InvalidAuthorization");
    auto st = f.sim.counters().to_json().at("actions").at("DescribeInstances");
    EXPECT_EQ(st.at("signature_failures").as_int64(), 1);
    EXPECT_EQ(st.at("accepted").as_int64(), 0);
}

TEST(SimV3Auth, EverySignedByteCounts) {
    v3_fixture f;
    auto base = f.make("cvm", "DescribeInstances", {{"Limit", 5}});
    f.sign(base);
    ASSERT_EQ(error_code(f.response(base)), "");

    auto body = base;
    body.body = "{\"Limit\":6}";
    EXPECT_EQ(error_code(f.response(body)), "AuthFailure.SignatureFailure");
    auto ctype = base;
    ctype.content_type = "application/json; charset=utf-8";
    EXPECT_EQ(error_code(f.response(ctype)), "AuthFailure.SignatureFailure");
    auto host = base;
    host.host = "cvm.ap-guangzhou.tencentcloudapi.com";
    EXPECT_EQ(error_code(f.response(host)), "AuthFailure.SignatureFailure");
    auto sig = base;
    sig.authorization.back() = sig.authorization.back() == '0' ? '1' : '0';
    EXPECT_EQ(error_code(f.response(sig)), "AuthFailure.SignatureFailure");
}

TEST(SimV3Auth, CredentialScopeMustMatchTheTimestampDateAndTheHostService) {
    v3_fixture f;
    auto r = f.make("cvm", "DescribeInstances");
    r.authorization = sign_v3(r, secret_id, secret_key, "content-type;host", "2001-01-01");
    EXPECT_EQ(error_code(f.response(r)), "AuthFailure.SignatureFailure");
    r.authorization = sign_v3(r, secret_id, secret_key, "content-type;host", "", "clb");
    EXPECT_EQ(error_code(f.response(r)), "AuthFailure.SignatureFailure");
    r.authorization = sign_v3(r, secret_id, secret_key);  // the same by hand, correct
    EXPECT_EQ(error_code(f.response(r)), "");
}

TEST(SimV3Auth, SignedHeadersAreExactlyTheListedOnes) {
    v3_fixture f;
    auto r = f.make("cvm", "DescribeInstances");
    // content-type;host;x-tc-action, values verbatim (SDK style) and lowercased (demo style).
    r.authorization = sign_v3(r, secret_id, secret_key, "content-type;host;x-tc-action");
    EXPECT_EQ(error_code(f.response(r)), "");
    r.authorization =
        sign_v3(r, secret_id, secret_key, "content-type;host;x-tc-action", "", "", true);
    EXPECT_EQ(error_code(f.response(r)), "");
    // Now X-TC-Action is signed: another action under the same signature fails.
    auto other = r;
    other.action = "StopInstances";
    EXPECT_EQ(error_code(f.response(other)), "AuthFailure.SignatureFailure");
    // A signed header the request lacks; a list without host or content-type.
    auto extra = f.make("cvm", "DescribeInstances");
    extra.extra = {{"x-tc-foo", "bar"}};
    extra.authorization = sign_v3(extra, secret_id, secret_key, "content-type;host;x-tc-foo");
    EXPECT_EQ(error_code(f.response(extra)), "");
    extra.extra.clear();
    EXPECT_EQ(error_code(f.response(extra)), "AuthFailure.SignatureFailure");
    auto no_host = f.make("cvm", "DescribeInstances");
    no_host.authorization = sign_v3(no_host, secret_id, secret_key, "content-type");
    EXPECT_EQ(error_code(f.response(no_host)), "AuthFailure.SignatureFailure");
}

TEST(SimV3Auth, TimestampWindowIs300SecondsBothWays) {
    v3_fixture f;
    const auto now_s = f.now_ms / 1000;
    for (std::int64_t skew : {-301, 301, -300, 300, -100000}) {
        auto r = f.make("cvm", "DescribeInstances");
        r.timestamp = std::to_string(now_s + skew);
        bool ok = skew >= -300 && skew <= 300;
        EXPECT_EQ(error_code(f.response(f.sign(r))), ok ? "" : "AuthFailure.SignatureExpire")
            << skew;
    }
    auto cfg = v3_fixture::quiet_config();
    cfg.replay_check = false;  // --no-replay-check: pre-signed benchmark requests
    v3_fixture g(cfg);
    auto r = g.make("cvm", "DescribeInstances");
    r.timestamp = std::to_string(now_s - 3600);
    EXPECT_EQ(error_code(g.response(g.sign(r))), "");
}

TEST(SimV3Auth, AForgedRequestIsASignatureFailureEvenWhenExpired) {
    v3_fixture f;
    auto r = f.make("cvm", "DescribeInstances");
    r.timestamp = std::to_string(f.now_ms / 1000 - 1000);
    f.sign(r, qcloud::credentials(secret_id, "wrong-key"));
    EXPECT_EQ(error_code(f.response(r)), "AuthFailure.SignatureFailure");
}

}  // namespace
}  // namespace taskpoller::sim
