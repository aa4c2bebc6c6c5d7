#include "sim/verifier.hpp"

#include "qcloud/encoding.hpp"
#include "qcloud/signer.hpp"
#include "sim_test_support.hpp"

namespace taskpoller::sim {
namespace {

using testing::code;
using testing::fixture;

// The official vector O1 (docs/protocol.md "Official test vectors") as a parameter map: the
// simulator must accept it when its clock is at the vector's Timestamp.
qcloud::param_list vector_o1() {
    return {{"Action", "DescribeInstances"},
            {"InstanceIds.0", "ins-09dx96dg"},
            {"Nonce", "11886"},
            {"Region", "ap-guangzhou"},
            {"SecretId", "AKIDz8krbsJ5yKBZQpn74WFkmLPx3gnPhESA"},
            {"SignatureMethod", "HmacSHA256"},
            {"Timestamp", "1465185768"},
            {"Signature", "0EEm/HtGRr/VJXTAD9tYMth1Bzm3lLHz5RCDv1GdM8s="}};
}

TEST(Verifier, AcceptsOfficialVectors) {
    config cfg;
    verifier v(cfg);
    EXPECT_FALSE(v.verify("GET", "cvm.api.qcloud.com", vector_o1(), 1465185768));
    qcloud::param_list o2 = vector_o1();
    o2[5].value = "HmacSHA1";
    o2[7].value = "nPVnY6njQmwQ8ciqbPl5Qe+Oru4=";
    // O2 reuses O1's Timestamp and Nonce: the same verifier sees a replay.
    EXPECT_EQ(v.verify("GET", "cvm.api.qcloud.com", o2, 1465185768)->code, 4500);
    EXPECT_FALSE(verifier(cfg).verify("GET", "cvm.api.qcloud.com", o2, 1465185768));
    qcloud::param_list o5{{"Action", "DescribeInstances"},
                          {"Nonce", "345122"},
                          {"Region", "gz"},
                          {"SecretId", "AKIDz8krbsJ5yKBZQpn74WFkmLPx3gnPhESA"},
                          {"Timestamp", "1408704141"},
                          {"Signature", "HgIYOPcx5lN6gz8JsCFBNAWp2oQ="}};
    EXPECT_FALSE(v.verify("GET", "cvm.api.qcloud.com", o5, 1408704141));
}

TEST(Verifier, AcceptsThePythonSdkVectors) {
    config cfg;
    cfg.accounts = {{"secretIdFoo", "secretKeyBar"}};
    struct vec {
        const char* method;
        const char* sig_method;
        const char* signature;
    };
    for (auto v : {vec{"POST", "HmacSHA1", "p3n+pxBqF5JGZtDSxoVn5tGngf0="},
                   vec{"GET", "HmacSHA1", "5HAq1BOKNLEE2/uauWnp6Zv9Z3c="},
                   vec{"POST", "HmacSHA256", "B2T37FRSP6Fk0/q/cdfrTE0p3zX5ooB/2BPWZUFpsj4="}}) {
        qcloud::param_list p{{"Action", "DescribeInstances"},   {"Nonce", "1290303896666895346"},
                             {"Region", "ap-guangzhou"},        {"SecretId", "secretIdFoo"},
                             {"SignatureMethod", v.sig_method}, {"Timestamp", "1512393162"},
                             {"Version", "2017-03-12"},         {"Signature", v.signature}};
        EXPECT_FALSE(verifier(cfg).verify(v.method, "cvm.api.qcloud.com", p, 1512393162))
            << v.method << " " << v.sig_method;
    }
}

TEST(Verifier, AcceptsVectorO4FromTheWire) {
    auto params = qcloud::form_decode(
        "Action=DescribeInstances&Nonce=11886&Region=gz&SecretId="
        "AKIDz8krbsJ5yKBZQpn74WFkmLPx3gnPhESA"
        "&Signature=NSI3UqqD99b%2FUJb4tbG%2FxZpRW64%3D&Timestamp=1465185768"
        "&instanceIds.0=ins-09dx96dg&limit=20&offset=0");
    ASSERT_TRUE(params);
    config cfg;
    verifier v(cfg);
    EXPECT_FALSE(v.verify("GET", "cvm.api.qcloud.com", *params, 1465185768));
    EXPECT_EQ(v.verify("POST", "cvm.api.qcloud.com", *params, 1465185768)->code, 4100);
    EXPECT_EQ(v.verify("GET", "lb.api.qcloud.com", *params, 1465185768)->code, 4100);
}

TEST(Verifier, RefusesTamperedValues) {
    config cfg;
    verifier v(cfg);
    auto p = vector_o1();
    p[1].value = "ins-09dx96dh";
    auto e = v.verify("GET", "cvm.api.qcloud.com", p, 1465185768);
    ASSERT_TRUE(e);
    EXPECT_EQ(e->code, 4100);
}

TEST(Verifier, AppliesUnderscoreToDotRule) {
    // A client that signs `instanceIds.0` but sends `instanceIds_0` still verifies.
    config cfg;
    verifier v(cfg);
    qcloud::param_list p{
        {"Action", "DescribeInstances"},         {"Nonce", "7"},       {"Region", "gz"},
        {"SecretId", cfg.accounts[0].secret_id}, {"Timestamp", "100"}, {"instanceIds.0", "ins-1"}};
    auto sig =
        qcloud::compute_signature(cfg.accounts[0].secret_key, qcloud::signature_method::hmac_sha1,
                                  qcloud::canonical_string("POST", "cvm.x", "/v2/index.php", p));
    p[5].name = "instanceIds_0";
    p.push_back({"Signature", sig});
    EXPECT_FALSE(v.verify("POST", "cvm.x", p, 100));
}

TEST(Verifier, UnknownSecretIdIs4104AndMissingParameterIs4000) {
    config cfg;
    verifier v(cfg);
    auto p = vector_o1();
    p[4].value = "AKIDnobody";
    EXPECT_EQ(v.verify("GET", "cvm.api.qcloud.com", p, 1465185768)->code, 4104);
    for (std::size_t i = 0; i < 8; ++i) {
        if (i == 1 || i == 5) continue;  // action parameter and optional SignatureMethod
        auto q = vector_o1();
        q.erase(q.begin() + static_cast<long>(i));
        auto e = v.verify("GET", "cvm.api.qcloud.com", q, 1465185768);
        ASSERT_TRUE(e) << i;
        EXPECT_EQ(e->code, 4000) << i;
        EXPECT_NE(e->message.find(vector_o1()[i].name), std::string::npos) << e->message;
    }
}

TEST(Verifier, StaleTimestampAndReplayAre4500) {
    config cfg;
    verifier v(cfg);
    const std::int64_t ts = 1465185768;
    EXPECT_EQ(v.verify("GET", "cvm.api.qcloud.com", vector_o1(), ts + 301)->code, 4500);
    EXPECT_EQ(v.verify("GET", "cvm.api.qcloud.com", vector_o1(), ts - 301)->code, 4500);
    EXPECT_FALSE(v.verify("GET", "cvm.api.qcloud.com", vector_o1(), ts + 300));
    auto again = v.verify("GET", "cvm.api.qcloud.com", vector_o1(), ts + 10);
    ASSERT_TRUE(again);
    EXPECT_EQ(again->code, 4500);
    EXPECT_NE(again->message.find("Nonce"), std::string::npos);
}

TEST(Verifier, ReplayCheckCanBeDisabled) {
    config cfg;
    cfg.replay_check = false;
    verifier v(cfg);
    EXPECT_FALSE(v.verify("GET", "cvm.api.qcloud.com", vector_o1(), 2000000000));
    EXPECT_FALSE(v.verify("GET", "cvm.api.qcloud.com", vector_o1(), 2000000000));
}

TEST(ReplayWindow, ForgetsTriplesOnceTheirTimestampIsOutsideTheWindow) {
    replay_window w(300);
    EXPECT_TRUE(w.remember("id", 1000, "5", 1000));
    EXPECT_FALSE(w.remember("id", 1000, "5", 1200));
    EXPECT_TRUE(w.remember("other", 1000, "5", 1200));
    EXPECT_TRUE(w.remember("id", 1001, "5", 1200));
    EXPECT_EQ(w.size(), 3u);
    EXPECT_TRUE(w.remember("id", 1400, "6", 1400));  // expires the 1000/1001 entries
    EXPECT_EQ(w.size(), 1u);
}

TEST(Simulator, RequestsBuiltByTheClientAreAcceptedGetAndPost) {
    fixture f;
    for (auto m : {qcloud::http_method::get, qcloud::http_method::post}) {
        auto out = f.send(f.sign("cvm", "DescribeInstances", {{"limit", "2"}}, m));
        auto body = boost::json::parse(out.body).as_object();
        EXPECT_EQ(code(body), 0) << out.body;
        EXPECT_EQ(body.at("totalCount").as_int64(), 6);
        EXPECT_EQ(body.at("instanceSet").as_array().size(), 2u);
    }
}

TEST(Simulator, PostIgnoresTheQueryString) {
    fixture f;
    auto r = f.sign("cvm", "DescribeInstances");
    r.target += "?Action=StopInstances";
    EXPECT_EQ(code(boost::json::parse(f.send(r).body).as_object()), 0);
}

TEST(Simulator, TlsOnlyAnswers4600ToPlainHttp) {
    auto cfg = fixture::quiet_config();
    cfg.tls_only = true;
    fixture f(cfg);
    auto r = f.sign("cvm", "DescribeInstances");
    EXPECT_EQ(code(boost::json::parse(f.send(r).body).as_object()), 4600);
    EXPECT_EQ(code(boost::json::parse(f.send(r, true).body).as_object()), 0);
}

TEST(Simulator, MalformedEncodingUnknownActionAndUnknownHost) {
    fixture f;
    auto bad = f.sim.handle({"POST", "/v2/index.php", "cvm.api.qcloud.com", "Action=%zz", false});
    EXPECT_EQ(code(boost::json::parse(bad.body).as_object()), 4000);
    auto unknown = f.call("cvm", "FlyToTheMoon");
    EXPECT_EQ(code(unknown), 4000);
    EXPECT_NE(unknown.at("message").as_string().find("FlyToTheMoon"), std::string::npos);
    EXPECT_EQ(code(f.call("lb", "StopInstances")), 4000);
    EXPECT_EQ(code(f.call("nosuch", "DescribeInstances")), 6100);
}

TEST(Simulator, HttpLevelErrors) {
    fixture f;
    EXPECT_EQ(f.sim.handle({"GET", "/other", "cvm.api.qcloud.com", "", false}).status, 404u);
    EXPECT_EQ(f.sim.handle({"PUT", "/v2/index.php", "cvm.api.qcloud.com", "", false}).status, 405u);
    EXPECT_EQ(f.sim.handle({"GET", "/_sim/reset", "", "", false}).status, 405u);
    EXPECT_EQ(f.sim.handle({"GET", "/_sim/what", "", "", false}).status, 404u);
}

TEST(Simulator, HostPortIsIgnoredAndSuffixIsConfigurable) {
    EXPECT_EQ(service_from_host("cvm.api.qcloud.com:8443", "api.qcloud.com"), "cvm");
    EXPECT_EQ(service_from_host("cvm.api.qcloud.com", "example.test"), "");
    EXPECT_EQ(service_from_host("api.qcloud.com", "api.qcloud.com"), "");
    EXPECT_EQ(service_from_host("lb.sim.local", "sim.local"), "lb");
}

}  // namespace
}  // namespace taskpoller::sim

namespace taskpoller::sim {
namespace {

TEST(Verifier, NonceMustBeAPositiveDecimalOfAtMost20Digits) {
    config cfg;
    for (const char* bad : {"0", "000", "-5", "12a", "123456789012345678901"}) {
        qcloud::param_list p{{"Action", "A"},   {"Nonce", bad},       {"Region", "gz"},
                             {"SecretId", "x"}, {"Timestamp", "100"}, {"Signature", "s"}};
        auto e = verifier(cfg).verify("GET", "cvm.api.qcloud.com", p, 100);
        ASSERT_TRUE(e) << bad;
        EXPECT_EQ(e->code, 4000) << bad;
    }
}

}  // namespace
}  // namespace taskpoller::sim
