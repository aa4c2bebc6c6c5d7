// Official signature vectors (docs/protocol.md "Official test vectors") built from parameter maps
// through the real canonicalisation code, plus our own edge cases.
#include "qcloud/signer.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <ostream>
#include <random>

#include "qcloud/encoding.hpp"

namespace tq = taskpoller::qcloud;

namespace {

constexpr std::string_view example_id = "AKIDz8krbsJ5yKBZQpn74WFkmLPx3gnPhESA";
constexpr std::string_view example_key = "Gu5t9xGARNpq86cd98joQYCN3Cozk1qA";

// Parameters deliberately out of order: the canonical string must sort them.
tq::param_list o1_params(std::string method) {
    return {{"Timestamp", "1465185768"},
            {"SignatureMethod", std::move(method)},
            {"SecretId", std::string(example_id)},
            {"Region", "ap-guangzhou"},
            {"Nonce", "11886"},
            {"InstanceIds.0", "ins-09dx96dg"},
            {"Action", "DescribeInstances"}};
}

std::string sign(std::string_view key, tq::signature_method m, std::string_view method,
                 const tq::param_list& params) {
    return tq::compute_signature(
        key, m, tq::canonical_string(method, "cvm.api.qcloud.com", tq::api_path, params));
}

}  // namespace

TEST(Signer, official_o1_sha256) {
    auto params = o1_params("HmacSHA256");
    EXPECT_EQ(tq::canonical_string("GET", "cvm.api.qcloud.com", tq::api_path, params),
              "GETcvm.api.qcloud.com/v2/index.php?Action=DescribeInstances&InstanceIds.0=ins-"
              "09dx96dg&Nonce=11886&Region=ap-guangzhou&SecretId=AKIDz8krbsJ5yKBZQpn74WFkmLPx3gnPhE"
              "SA&SignatureMethod=HmacSHA256&Timestamp=1465185768");
    auto m = tq::signature_method_from_param(tq::find_param(params, "SignatureMethod"));
    EXPECT_EQ(m, tq::signature_method::hmac_sha256);
    EXPECT_EQ(sign(example_key, m, "GET", params), "0EEm/HtGRr/VJXTAD9tYMth1Bzm3lLHz5RCDv1GdM8s=");
}

TEST(Signer, official_o2_sha1) {
    auto params = o1_params("HmacSHA1");
    auto m = tq::signature_method_from_param(tq::find_param(params, "SignatureMethod"));
    EXPECT_EQ(m, tq::signature_method::hmac_sha1);
    EXPECT_EQ(sign(example_key, m, "GET", params), "nPVnY6njQmwQ8ciqbPl5Qe+Oru4=");
}

TEST(Signer, official_o4_lower_camel_after_upper_case) {
    tq::param_list params = {{"instanceIds.0", "ins-09dx96dg"},
                             {"offset", "0"},
                             {"limit", "20"},
                             {"Action", "DescribeInstances"},
                             {"Nonce", "11886"},
                             {"Region", "gz"},
                             {"SecretId", std::string(example_id)},
                             {"Timestamp", "1465185768"}};
    EXPECT_EQ(tq::canonical_string("get", "cvm.api.qcloud.com", tq::api_path, params),
              "GETcvm.api.qcloud.com/v2/index.php?Action=DescribeInstances&Nonce=11886&Region=gz&"
              "SecretId=AKIDz8krbsJ5yKBZQpn74WFkmLPx3gnPhESA&Timestamp=1465185768&instanceIds.0="
              "ins-09dx96dg&limit=20&offset=0");
    auto sig = sign(example_key, tq::signature_method_from_param(nullptr), "GET", params);
    EXPECT_EQ(sig, "NSI3UqqD99b/UJb4tbG/xZpRW64=");
    EXPECT_EQ(tq::percent_encode(sig), "NSI3UqqD99b%2FUJb4tbG%2FxZpRW64%3D");
}

TEST(Signer, official_o5) {
    tq::param_list params = {{"Action", "DescribeInstances"},
                             {"Nonce", "345122"},
                             {"Region", "gz"},
                             {"SecretId", std::string(example_id)},
                             {"Timestamp", "1408704141"}};
    EXPECT_EQ(sign(example_key, tq::signature_method::hmac_sha1, "GET", params),
              "HgIYOPcx5lN6gz8JsCFBNAWp2oQ=");
}

namespace {
tq::param_list python_sdk_params(std::string method) {
    return {{"Action", "DescribeInstances"},
            {"Nonce", "1290303896666895346"},
            {"Region", "ap-guangzhou"},
            {"SecretId", "secretIdFoo"},
            {"SignatureMethod", std::move(method)},
            {"Timestamp", "1512393162"},
            {"Version", "2017-03-12"}};
}
}  // namespace

TEST(Signer, python_sdk_vectors) {
    EXPECT_EQ(sign("secretKeyBar", tq::signature_method::hmac_sha1, "POST",
                   python_sdk_params("HmacSHA1")),
              "p3n+pxBqF5JGZtDSxoVn5tGngf0=");
    EXPECT_EQ(
        sign("secretKeyBar", tq::signature_method::hmac_sha1, "GET", python_sdk_params("HmacSHA1")),
        "5HAq1BOKNLEE2/uauWnp6Zv9Z3c=");
    EXPECT_EQ(sign("secretKeyBar", tq::signature_method::hmac_sha256, "POST",
                   python_sdk_params("HmacSHA256")),
              "B2T37FRSP6Fk0/q/cdfrTE0p3zX5ooB/2BPWZUFpsj4=");
}

TEST(Signer, signature_parameter_is_excluded) {
    auto params = o1_params("HmacSHA256");
    auto without = tq::canonical_string("GET", "h", tq::api_path, params);
    params.push_back({"Signature", "whatever"});
    EXPECT_EQ(tq::canonical_string("GET", "h", tq::api_path, params), without);
}

TEST(Signer, underscore_becomes_dot_before_sorting) {
    // "a_b" is signed as "a.b"; '.' (0x2E) sorts before '0' (0x30) and "a0" after it.
    tq::param_list params = {{"a0", "2"}, {"a_b", "1"}, {"B", "3"}};
    EXPECT_EQ(tq::canonical_string("POST", "h", "/p", params), "POSTh/p?B=3&a.b=1&a0=2");
    // Values keep their underscores.
    EXPECT_EQ(tq::canonical_string("POST", "h", "/p", {{"x", "a_b"}}), "POSTh/p?x=a_b");
}

TEST(Signer, twelve_element_arrays_sort_byte_wise) {
    tq::param_list params;
    for (int i = 11; i >= 0; --i) params.push_back({fmt::format("instanceIds.{}", i), "i"});
    auto s = tq::canonical_string("GET", "h", "/p", params);
    auto pos = [&](int i) { return s.find(fmt::format("instanceIds.{}=", i)); };
    EXPECT_LT(pos(0), pos(1));
    EXPECT_LT(pos(1), pos(10));  // "instanceIds.10" < "instanceIds.2"
    EXPECT_LT(pos(10), pos(11));
    EXPECT_LT(pos(11), pos(2));
    EXPECT_LT(pos(2), pos(9));
}

TEST(Signer, raw_values_with_reserved_and_non_ascii_characters) {
    tq::param_list params = {{"password", "a&b=c+d/e%f g"}, {"name", "服务器-1"}};
    EXPECT_EQ(tq::canonical_string("POST", "cvm.api.qcloud.com", tq::api_path, params),
              "POSTcvm.api.qcloud.com/v2/index.php?name=服务器-1&password=a&b=c+d/e%f g");
}

TEST(Signer, bytes_above_0x7f_sort_after_ascii) {
    tq::param_list params = {{"\xC3\xA9", "1"}, {"z", "2"}};
    EXPECT_EQ(tq::canonical_string("GET", "h", "/p", params), "GETh/p?z=2&\xC3\xA9=1");
}

TEST(Signer, signature_method_param_rules) {
    std::string sha256 = "HmacSHA256", sha1 = "HmacSHA1", other = "hmacsha256";
    EXPECT_EQ(tq::signature_method_from_param(&sha256), tq::signature_method::hmac_sha256);
    EXPECT_EQ(tq::signature_method_from_param(&sha1), tq::signature_method::hmac_sha1);
    EXPECT_EQ(tq::signature_method_from_param(&other), tq::signature_method::hmac_sha1);
    EXPECT_EQ(tq::to_string(tq::signature_method::hmac_sha256), "HmacSHA256");
}

TEST(Signer, constant_time_equal) {
    EXPECT_TRUE(tq::constant_time_equal("abc=", "abc="));
    EXPECT_FALSE(tq::constant_time_equal("abc=", "abd="));
    EXPECT_FALSE(tq::constant_time_equal("abc", "abc="));
    EXPECT_TRUE(tq::constant_time_equal("", ""));
}

// The secret must not be printable: neither through iostreams nor through fmt.
template <class T>
concept ostreamable = requires(std::ostream& os, const T& t) {
    os << t;
};
static_assert(!ostreamable<tq::credentials>);
static_assert(!fmt::is_formattable<tq::credentials>::value);

TEST(Signer, credentials_expose_the_key_only_for_signing) {
    tq::credentials c("id", "key", "tok");
    EXPECT_EQ(c.secret_id(), "id");
    EXPECT_EQ(c.token(), "tok");
    EXPECT_EQ(c.secret_key_for_signing(), "key");
}

// compute_signature keeps keyed contexts per thread; many keys and methods interleaved must still
// give each one's own answer (the cache evicts beyond 8 keys).
TEST(Signer, many_keys_interleaved_match_fresh_results) {
    auto params = o1_params("HmacSHA1");
    auto expected_sha1 = sign(example_key, tq::signature_method::hmac_sha1, "GET", params);
    auto expected_sha256 = sign(example_key, tq::signature_method::hmac_sha256, "GET", params);
    std::vector<std::string> first;
    for (int round = 0; round < 3; ++round) {
        for (int k = 0; k < 20; ++k) {
            auto s = tq::compute_signature(fmt::format("key-{}", k),
                                           tq::signature_method::hmac_sha256, "payload");
            if (round == 0)
                first.push_back(s);
            else
                EXPECT_EQ(s, first[static_cast<std::size_t>(k)]) << k;
            EXPECT_EQ(sign(example_key, tq::signature_method::hmac_sha1, "GET", params),
                      expected_sha1);
        }
    }
    EXPECT_EQ(expected_sha1, "nPVnY6njQmwQ8ciqbPl5Qe+Oru4=");
    EXPECT_EQ(sign(example_key, tq::signature_method::hmac_sha256, "GET", params), expected_sha256);
    EXPECT_EQ(tq::compute_signature("", tq::signature_method::hmac_sha1, ""),
              "+9sdGxiqbAgyS31ktx+3Y3BpDh0=");  // RFC 2104 HMAC-SHA1 of "" with an empty key
}
