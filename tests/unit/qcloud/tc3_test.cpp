// TC3-HMAC-SHA256 (docs/protocol.md "API 3.0: signature"): every vector generated with the
// official Node SDK (tencentcloud-sdk-nodejs-common 4.1.220, Sign.sign3), reproduced byte for
// byte through the canonical request, the string to sign and the Authorization header; then the
// UTC date, re-signing, the derived key and parse_authorization.
#include "qcloud/tc3.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <ctime>
#include <optional>
#include <random>
#include <set>
#include <string>

namespace tc3 = taskpoller::qcloud::tc3;
using taskpoller::qcloud::credentials;

namespace {

constexpr std::string_view default_id = "AKIDz8krbsJ5yKBZQpn74WFkmLPx3gnPhESA";
constexpr std::string_view default_key = "Gu5t9xGARNpq86cd98joQYCN3Cozk1qA";

// The doc example's payload: the \u escapes are bytes of the payload (86 bytes), not C++ escapes.
constexpr std::string_view doc_payload =
    R"({"Limit": 1, "Filters": [{"Values": ["\u672a\u547d\u540d"], "Name": "instance-name"}]})";

std::string from_hex(std::string_view hex) {
    std::string out;
    for (std::size_t i = 0; i + 1 < hex.size(); i += 2)
        out.push_back(static_cast<char>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
    return out;
}

struct sdk_vector {
    std::string name;
    std::string_view secret_id;
    std::string_view secret_key;
    std::string_view host;
    std::int64_t timestamp;
    std::string_view content_type;
    std::string payload;
    std::size_t payload_size;
    std::string_view payload_sha256;
    std::string_view canonical_request;
    std::string_view canonical_sha256;
    std::string_view string_to_sign;
    std::string_view authorization;
};

void PrintTo(const sdk_vector& v, std::ostream* os) {
    *os << v.name;
}

constexpr std::string_view doc_canonical =
    "POST\n/\n\ncontent-type:application/json; charset=utf-8\nhost:cvm.tencentcloudapi.com\n\n"
    "content-type;host\n35e9c5b0e3ae67532d3c9f17ead6c90222632e5b1ff7f6e89887f1398934f064";
constexpr std::string_view doc_string_to_sign =
    "TC3-HMAC-SHA256\n1551113065\n2019-02-25/cvm/tc3_request\n"
    "5ffe6a04c0664d6b969fab9a13bdab201d63ee709638e2749d62a09ca18d7031";

constexpr std::string_view v6_canonical =
    "POST\n/\n\ncontent-type:application/json\nhost:cvm.tencentcloudapi.com\n\n"
    "content-type;host\nb5c0fd9e47dcfe1927dd23ed34964d32266472f791ecd6efd23e19429e1be798";

const std::vector<sdk_vector>& sdk_vectors() {
    static const std::vector<sdk_vector> vectors = {
        {"v1_doc_example", default_id, default_key, "cvm.tencentcloudapi.com", 1551113065,
         "application/json; charset=utf-8", std::string(doc_payload), 86,
         "35e9c5b0e3ae67532d3c9f17ead6c90222632e5b1ff7f6e89887f1398934f064", doc_canonical,
         "5ffe6a04c0664d6b969fab9a13bdab201d63ee709638e2749d62a09ca18d7031", doc_string_to_sign,
         "TC3-HMAC-SHA256 Credential=AKIDz8krbsJ5yKBZQpn74WFkmLPx3gnPhESA/2019-02-25/cvm/"
         "tc3_request, SignedHeaders=content-type;host, "
         "Signature=8571a3fd5c5a24cb2b8e10509e02add887e49e59370eed066496522e687e8f6b"},
        {"v1b_masked_doc_key", "AKIDz8krbsJ5yKBZQpn74WFkmLPx3*******",
         "Gu5t9xGARNpq86cd98joQYCN3*******", "cvm.tencentcloudapi.com", 1551113065,
         "application/json; charset=utf-8", std::string(doc_payload), 86,
         "35e9c5b0e3ae67532d3c9f17ead6c90222632e5b1ff7f6e89887f1398934f064", doc_canonical,
         "5ffe6a04c0664d6b969fab9a13bdab201d63ee709638e2749d62a09ca18d7031", doc_string_to_sign,
         "TC3-HMAC-SHA256 Credential=AKIDz8krbsJ5yKBZQpn74WFkmLPx3*******/2019-02-25/cvm/"
         "tc3_request, SignedHeaders=content-type;host, "
         "Signature=2230eefd229f582d8b1b891af7107b91597240707d778ab3738f756258d7652c"},
        {"v1c_intl_example_key", "AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE",
         "Gu5t9xGARNpq86cd98joQYCN3EXAMPLE", "cvm.tencentcloudapi.com", 1551113065,
         "application/json; charset=utf-8", std::string(doc_payload), 86,
         "35e9c5b0e3ae67532d3c9f17ead6c90222632e5b1ff7f6e89887f1398934f064", doc_canonical,
         "5ffe6a04c0664d6b969fab9a13bdab201d63ee709638e2749d62a09ca18d7031", doc_string_to_sign,
         "TC3-HMAC-SHA256 Credential=AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE/2019-02-25/cvm/"
         "tc3_request, SignedHeaders=content-type;host, "
         "Signature=72e494ea809ad7a8c8f7a4507b9bddcbaa8e581f516e8da2f66e2c5a96525168"},
        {"v2_clb_describe_task_status", default_id, default_key, "clb.tencentcloudapi.com",
         1700000000, "application/json", R"({"TaskId":"a4b58173-34c0-4940-9759-28e06257f3dc"})", 49,
         "cffa0b685d4ee244122931465c17572170711a24b5249e95ff79a1621a000cf8",
         "POST\n/\n\ncontent-type:application/json\nhost:clb.tencentcloudapi.com\n\n"
         "content-type;host\ncffa0b685d4ee244122931465c17572170711a24b5249e95ff79a1621a000cf8",
         "5a84169864dc4d5ea64a0bbae2933b1ccb20185c8106b4f9280417c6822d1106",
         "TC3-HMAC-SHA256\n1700000000\n2023-11-14/clb/tc3_request\n"
         "5a84169864dc4d5ea64a0bbae2933b1ccb20185c8106b4f9280417c6822d1106",
         "TC3-HMAC-SHA256 Credential=AKIDz8krbsJ5yKBZQpn74WFkmLPx3gnPhESA/2023-11-14/clb/"
         "tc3_request, SignedHeaders=content-type;host, "
         "Signature=89b142c0b5a492531d0ec09a86cd460058dc2fa7f75ed972c0320471b4956422"},
        {"v3_cvm_stop_instances_regional", default_id, default_key,
         "cvm.ap-shanghai.tencentcloudapi.com", 1700000123, "application/json",
         R"({"InstanceIds":["ins-r8hr2upy","ins-5d8a23rs","ins-0ab1c2d3"],"StopType":"SOFT"})", 80,
         "8258f1903e72d4e0120f40ef2c8d479f550f64d667d4c86f728959e19f5774ba",
         "POST\n/\n\ncontent-type:application/json\nhost:cvm.ap-shanghai.tencentcloudapi.com\n\n"
         "content-type;host\n8258f1903e72d4e0120f40ef2c8d479f550f64d667d4c86f728959e19f5774ba",
         "aff7382d7ad310cd0dd183b79ba28c24636969e68ed8b34a40798ee5d9c433ac",
         "TC3-HMAC-SHA256\n1700000123\n2023-11-14/cvm/tc3_request\n"
         "aff7382d7ad310cd0dd183b79ba28c24636969e68ed8b34a40798ee5d9c433ac",
         "TC3-HMAC-SHA256 Credential=AKIDz8krbsJ5yKBZQpn74WFkmLPx3gnPhESA/2023-11-14/cvm/"
         "tc3_request, SignedHeaders=content-type;host, "
         "Signature=37081e1b05d9dd7da2b13532bfe193f75694f61047cc2eddad624be38a6828c7"},
        // Raw UTF-8 ("测试机-ü-🚀"), as the Node SDK sends it; bytes from the vector's hex dump.
        {"v4_raw_utf8", default_id, default_key, "cvm.tencentcloudapi.com", 1700000234,
         "application/json",
         from_hex("7b22496e7374616e6365496473223a5b22696e732d7238687232757079225d2c22496e7374616e"
                  "63654e616d65223a22e6b58be8af95e69cba2dc3bc2df09f9a80227d"),
         67, "2a7f6a95ebccd71ad66ff22b5495bec3c32312b647f406be0ce3dcceb6381c55",
         "POST\n/\n\ncontent-type:application/json\nhost:cvm.tencentcloudapi.com\n\n"
         "content-type;host\n2a7f6a95ebccd71ad66ff22b5495bec3c32312b647f406be0ce3dcceb6381c55",
         "101aa55c8f8ab7c7916a8ac17f94562f889bf48d865d7d44460cbdba8ef79d34",
         "TC3-HMAC-SHA256\n1700000234\n2023-11-14/cvm/tc3_request\n"
         "101aa55c8f8ab7c7916a8ac17f94562f889bf48d865d7d44460cbdba8ef79d34",
         "TC3-HMAC-SHA256 Credential=AKIDz8krbsJ5yKBZQpn74WFkmLPx3gnPhESA/2023-11-14/cvm/"
         "tc3_request, SignedHeaders=content-type;host, "
         "Signature=6fc2bc19155bcafc167601d07bab36002d790ea3f8be88b5fb9e0b71708c6553"},
        // The same data with \u escapes: other bytes, another signature.
        {"v4b_u_escaped", default_id, default_key, "cvm.tencentcloudapi.com", 1700000234,
         "application/json",
         R"({"InstanceIds":["ins-r8hr2upy"],"InstanceName":"\u6d4b\u8bd5\u673a-\u00fc-\ud83d\ude80"})",
         88, "d81ad9d1bd688e479751431c65249f3d795fb8c5ac6cb3b79db5a2d529e19409",
         "POST\n/\n\ncontent-type:application/json\nhost:cvm.tencentcloudapi.com\n\n"
         "content-type;host\nd81ad9d1bd688e479751431c65249f3d795fb8c5ac6cb3b79db5a2d529e19409",
         "90fb0570578a50bb2930775c0d4a9483759c28c6eac72449c679f3d69778d030",
         "TC3-HMAC-SHA256\n1700000234\n2023-11-14/cvm/tc3_request\n"
         "90fb0570578a50bb2930775c0d4a9483759c28c6eac72449c679f3d69778d030",
         "TC3-HMAC-SHA256 Credential=AKIDz8krbsJ5yKBZQpn74WFkmLPx3gnPhESA/2023-11-14/cvm/"
         "tc3_request, SignedHeaders=content-type;host, "
         "Signature=f8cf982695b7e296fd382695f4d05cba35bfc36941956ccc49272e42e231b6e6"},
        {"v5_empty_object", default_id, default_key, "cvm.tencentcloudapi.com", 1700000456,
         "application/json", "{}", 2,
         "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a",
         "POST\n/\n\ncontent-type:application/json\nhost:cvm.tencentcloudapi.com\n\n"
         "content-type;host\n44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a",
         "b7511c2a57e10458e52fe57af7b28c25796fc538db71eef3b256d94528d8834d",
         "TC3-HMAC-SHA256\n1700000456\n2023-11-14/cvm/tc3_request\n"
         "b7511c2a57e10458e52fe57af7b28c25796fc538db71eef3b256d94528d8834d",
         "TC3-HMAC-SHA256 Credential=AKIDz8krbsJ5yKBZQpn74WFkmLPx3gnPhESA/2023-11-14/cvm/"
         "tc3_request, SignedHeaders=content-type;host, "
         "Signature=80ac38c57d7729ccd843b1bd6e89629cef3fe5d502c76e522b1311518c7ddebd"},
        {"v6_last_second_of_day", default_id, default_key, "cvm.tencentcloudapi.com", 1700006399,
         "application/json", R"({"InstanceIds":["ins-r8hr2upy"]})", 32,
         "b5c0fd9e47dcfe1927dd23ed34964d32266472f791ecd6efd23e19429e1be798", v6_canonical,
         "b8b9ba57faa31e89d212bf8c9b2dd12824edb846e3d840acd54fed03254848d6",
         "TC3-HMAC-SHA256\n1700006399\n2023-11-14/cvm/tc3_request\n"
         "b8b9ba57faa31e89d212bf8c9b2dd12824edb846e3d840acd54fed03254848d6",
         "TC3-HMAC-SHA256 Credential=AKIDz8krbsJ5yKBZQpn74WFkmLPx3gnPhESA/2023-11-14/cvm/"
         "tc3_request, SignedHeaders=content-type;host, "
         "Signature=f44b157aad55a365bd1578fd899274de67b4a0db68e8e50e7f06f4952a9a5d4c"},
        {"v6b_first_second_of_day", default_id, default_key, "cvm.tencentcloudapi.com", 1700006400,
         "application/json", R"({"InstanceIds":["ins-r8hr2upy"]})", 32,
         "b5c0fd9e47dcfe1927dd23ed34964d32266472f791ecd6efd23e19429e1be798", v6_canonical,
         "b8b9ba57faa31e89d212bf8c9b2dd12824edb846e3d840acd54fed03254848d6",
         "TC3-HMAC-SHA256\n1700006400\n2023-11-15/cvm/tc3_request\n"
         "b8b9ba57faa31e89d212bf8c9b2dd12824edb846e3d840acd54fed03254848d6",
         "TC3-HMAC-SHA256 Credential=AKIDz8krbsJ5yKBZQpn74WFkmLPx3gnPhESA/2023-11-15/cvm/"
         "tc3_request, SignedHeaders=content-type;host, "
         "Signature=e8011ade1a58512d09710f3ff05bea6bc821e396ce379a5f62c545f40ab27445"},
    };
    return vectors;
}

tc3::request request_of(const sdk_vector& v) {
    return tc3::request{v.host, v.content_type, v.payload, v.timestamp};
}

class Tc3SdkVector : public testing::TestWithParam<sdk_vector> {};

}  // namespace

TEST_P(Tc3SdkVector, payload_bytes_and_hash) {
    const auto& v = GetParam();
    EXPECT_EQ(v.payload.size(), v.payload_size);
    EXPECT_EQ(tc3::sha256_hex(v.payload), v.payload_sha256);
}

TEST_P(Tc3SdkVector, canonical_request) {
    const auto& v = GetParam();
    const tc3::header headers[] = {{"content-type", v.content_type},
                                   {"host", tc3::host_without_port(v.host)}};
    const std::string canonical = tc3::canonical_request("POST", headers, v.payload);
    EXPECT_EQ(canonical, v.canonical_request);
    EXPECT_EQ(tc3::sha256_hex(canonical), v.canonical_sha256);
}

TEST_P(Tc3SdkVector, string_to_sign) {
    const auto& v = GetParam();
    EXPECT_EQ(tc3::string_to_sign(v.timestamp, tc3::service_of_host(v.host), v.canonical_request),
              v.string_to_sign);
}

TEST_P(Tc3SdkVector, authorization) {
    const auto& v = GetParam();
    const credentials creds{std::string(v.secret_id), std::string(v.secret_key)};
    EXPECT_EQ(tc3::authorization(creds, request_of(v)), v.authorization);
}

TEST_P(Tc3SdkVector, authorization_with_a_derived_key) {
    const auto& v = GetParam();
    const auto key =
        tc3::derive_key(v.secret_key, tc3::utc_date(v.timestamp), tc3::service_of_host(v.host));
    EXPECT_EQ(tc3::authorization_with_key(v.secret_id, key, request_of(v)), v.authorization);
    // The signature alone, from the vector's string to sign.
    EXPECT_EQ(tc3::signature(key, v.string_to_sign),
              v.authorization.substr(v.authorization.size() - 64));
}

TEST_P(Tc3SdkVector, parse_authorization_round_trip) {
    const auto& v = GetParam();
    const auto p = tc3::parse_authorization(v.authorization);
    ASSERT_TRUE(p.has_value());
    EXPECT_EQ(p->secret_id, v.secret_id);
    EXPECT_EQ(p->date, tc3::utc_date(v.timestamp));
    EXPECT_EQ(p->service, tc3::service_of_host(v.host));
    EXPECT_EQ(p->signed_headers, tc3::default_signed_headers);
    EXPECT_EQ(p->signature, v.authorization.substr(v.authorization.size() - 64));
}

TEST_P(Tc3SdkVector, the_port_of_the_host_is_not_signed) {
    const auto& v = GetParam();
    const std::string host = std::string(v.host) + ":8443";
    const credentials creds{std::string(v.secret_id), std::string(v.secret_key)};
    auto r = request_of(v);
    r.host = host;
    EXPECT_EQ(tc3::authorization(creds, r), v.authorization);
}

INSTANTIATE_TEST_SUITE_P(NodeSdk, Tc3SdkVector, testing::ValuesIn(sdk_vectors()),
                         [](const testing::TestParamInfo<sdk_vector>& i) { return i.param.name; });

TEST(Tc3, all_ten_vectors_are_distinct_signatures) {
    std::set<std::string_view> seen;
    for (const auto& v : sdk_vectors())
        seen.insert(v.authorization.substr(v.authorization.size() - 64));
    EXPECT_EQ(seen.size(), 10u);
}

TEST(Tc3, raw_utf8_and_u_escapes_sign_differently) {
    const auto& v = sdk_vectors();
    const auto& raw = v[5];
    const auto& escaped = v[6];
    ASSERT_EQ(raw.name, "v4_raw_utf8");
    ASSERT_EQ(escaped.name, "v4b_u_escaped");
    const credentials creds{std::string(default_id), std::string(default_key)};
    EXPECT_NE(tc3::authorization(creds, request_of(raw)),
              tc3::authorization(creds, request_of(escaped)));
}

TEST(Tc3, sha256_of_the_empty_body) {
    EXPECT_EQ(tc3::sha256_hex(""),
              "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST(Tc3, an_empty_body_hashes_as_the_empty_string_and_differs_from_braces) {
    const tc3::header headers[] = {{"content-type", "application/json"},
                                   {"host", "cvm.tencentcloudapi.com"}};
    const std::string empty = tc3::canonical_request("POST", headers, "");
    EXPECT_EQ(
        empty,
        "POST\n/\n\ncontent-type:application/json\nhost:cvm.tencentcloudapi.com\n\n"
        "content-type;host\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    EXPECT_NE(empty, tc3::canonical_request("POST", headers, "{}"));
}

TEST(Tc3, canonical_request_sorts_headers_and_trims_values) {
    const tc3::header headers[] = {{"host", "  cvm.tencentcloudapi.com\t"},
                                   {"content-type", " application/json; charset=utf-8 "}};
    EXPECT_EQ(tc3::canonical_request("POST", headers, doc_payload), doc_canonical);
}

// qcloud-v3 notes: the same doc request signed with content-type;host;x-tc-action (as the newer
// signature demo does) gives 2220c8c8...; computed by independent code, not by the SDK. It checks
// canonical_request with more than the two headers this client signs.
TEST(Tc3, three_signed_headers_as_in_the_signature_demo) {
    const tc3::header headers[] = {{"x-tc-action", "describeinstances"},
                                   {"content-type", "application/json; charset=utf-8"},
                                   {"host", "cvm.tencentcloudapi.com"}};
    const std::string canonical = tc3::canonical_request("POST", headers, doc_payload);
    EXPECT_EQ(canonical,
              "POST\n/\n\ncontent-type:application/json; charset=utf-8\n"
              "host:cvm.tencentcloudapi.com\nx-tc-action:describeinstances\n\n"
              "content-type;host;x-tc-action\n"
              "35e9c5b0e3ae67532d3c9f17ead6c90222632e5b1ff7f6e89887f1398934f064");
    const auto key = tc3::derive_key(default_key, "2019-02-25", "cvm");
    EXPECT_EQ(tc3::signature(key, tc3::string_to_sign(1551113065, "cvm", canonical)),
              "2220c8c846efab6e5158c3ae545e315ad80a246c20d35d53b8723eee82f2601d");
}

TEST(Tc3, service_and_host_for_signing) {
    EXPECT_EQ(tc3::service_of_host("cvm.tencentcloudapi.com"), "cvm");
    EXPECT_EQ(tc3::service_of_host("cvm.ap-guangzhou.tencentcloudapi.com"), "cvm");
    EXPECT_EQ(tc3::service_of_host("clb.intl.tencentcloudapi.com:443"), "clb");
    EXPECT_EQ(tc3::service_of_host("localhost:8080"), "localhost");
    EXPECT_EQ(tc3::service_of_host(""), "");
    EXPECT_EQ(tc3::host_without_port("cvm.tencentcloudapi.com:8443"), "cvm.tencentcloudapi.com");
    EXPECT_EQ(tc3::host_without_port("cvm.tencentcloudapi.com"), "cvm.tencentcloudapi.com");
    EXPECT_EQ(tc3::host_without_port("127.0.0.1:9000"), "127.0.0.1");
    EXPECT_EQ(tc3::host_without_port("[::1]:9000"), "[::1]");
    EXPECT_EQ(tc3::host_without_port("[::1]"), "[::1]");
    EXPECT_EQ(tc3::host_without_port("::1"), "::1");  // no brackets: no port to drop
    EXPECT_EQ(tc3::host_without_port("host:"), "host");
    EXPECT_EQ(tc3::host_without_port("host:http"), "host:http");  // not a port
    EXPECT_EQ(tc3::host_without_port(""), "");
}

TEST(Tc3UtcDate, day_boundaries) {
    EXPECT_EQ(tc3::utc_date(1700006399), "2023-11-14");  // 23:59:59 UTC
    EXPECT_EQ(tc3::utc_date(1700006400), "2023-11-15");  // 00:00:00 UTC
    EXPECT_EQ(tc3::utc_date(0), "1970-01-01");
    EXPECT_EQ(tc3::utc_date(86399), "1970-01-01");
    EXPECT_EQ(tc3::utc_date(86400), "1970-01-02");
    EXPECT_EQ(tc3::utc_date(1551113065), "2019-02-25");
}

TEST(Tc3UtcDate, leap_days) {
    EXPECT_EQ(tc3::utc_date(1709164800 - 1), "2024-02-28");
    EXPECT_EQ(tc3::utc_date(1709164800), "2024-02-29");
    EXPECT_EQ(tc3::utc_date(1709251199), "2024-02-29");
    EXPECT_EQ(tc3::utc_date(1709251200), "2024-03-01");
    EXPECT_EQ(tc3::utc_date(951825600), "2000-02-29");   // divisible by 400: leap
    EXPECT_EQ(tc3::utc_date(4107542399), "2100-02-28");  // divisible by 100: not leap
    EXPECT_EQ(tc3::utc_date(4107542400), "2100-03-01");
}

TEST(Tc3UtcDate, after_2038_and_up_to_9999) {
    EXPECT_EQ(tc3::utc_date(2147483647), "2038-01-19");
    EXPECT_EQ(tc3::utc_date(2147483648), "2038-01-19");  // past the 32-bit time_t
    EXPECT_EQ(tc3::utc_date(4294967296), "2106-02-07");
    EXPECT_EQ(tc3::utc_date(253402300799), "9999-12-31");
}

TEST(Tc3UtcDate, agrees_with_gmtime) {
    std::mt19937_64 rng(20240229);
    std::uniform_int_distribution<std::int64_t> dist(0, 253402300799);
    for (int i = 0; i < 20000; ++i) {
        const std::int64_t t = dist(rng);
        const std::time_t tt = static_cast<std::time_t>(t);
        std::tm tm{};
        ASSERT_NE(gmtime_r(&tt, &tm), nullptr);
        char buf[32];
        std::strftime(buf, sizeof buf, "%Y-%m-%d", &tm);
        ASSERT_EQ(tc3::utc_date(t), buf) << t;
    }
}

namespace {

// Sets TZ for one test and restores it (and tzset) afterwards.
class scoped_tz {
  public:
    explicit scoped_tz(const char* tz) {
        if (const char* old = std::getenv("TZ")) old_ = old;
        setenv("TZ", tz, 1);
        tzset();
    }
    ~scoped_tz() {
        if (old_)
            setenv("TZ", old_->c_str(), 1);
        else
            unsetenv("TZ");
        tzset();
    }
    scoped_tz(const scoped_tz&) = delete;
    scoped_tz& operator=(const scoped_tz&) = delete;

  private:
    std::optional<std::string> old_;
};

int local_day_of_month(std::time_t t) {
    std::tm tm{};
    localtime_r(&t, &tm);
    return tm.tm_mday;
}

}  // namespace

TEST(Tc3UtcDate, stays_utc_in_shanghai) {
    for (const char* tz : {"Asia/Shanghai", "CST-8"}) {  // CST-8 needs no tzdata
        scoped_tz zone(tz);
        // 2023-11-14T23:59:59Z is already the 15th in UTC+8 (when the zone is known).
        if (std::string_view(tz) == "CST-8") {
            ASSERT_EQ(local_day_of_month(1700006399), 15);
        }
        EXPECT_EQ(tc3::utc_date(1700006399), "2023-11-14") << tz;
        EXPECT_EQ(tc3::utc_date(1700000000), "2023-11-14") << tz;  // 06:13 local on the 15th
        const auto& v6 = sdk_vectors()[8];
        ASSERT_EQ(v6.name, "v6_last_second_of_day");
        const credentials creds{std::string(default_id), std::string(default_key)};
        EXPECT_EQ(tc3::authorization(creds, request_of(v6)), v6.authorization) << tz;
    }
}

TEST(Tc3Resign, another_timestamp_gives_another_authorization) {
    const credentials creds{std::string(default_id), std::string(default_key)};
    const auto& v = sdk_vectors()[4];  // StopInstances
    auto first = request_of(v);
    auto second = first;
    second.timestamp += 30;
    const std::string a = tc3::authorization(creds, first);
    const std::string b = tc3::authorization(creds, second);
    EXPECT_EQ(a, v.authorization);
    EXPECT_NE(a, b);
    // Same day, same service: the same credential scope; only the signature differs.
    EXPECT_EQ(a.substr(0, a.size() - 64), b.substr(0, b.size() - 64));
}

TEST(Tc3Resign, a_kept_day_key_signs_like_authorization) {
    const credentials creds{std::string(default_id), std::string(default_key)};
    const auto key = tc3::derive_key(default_key, "2023-11-14", "cvm");
    for (std::int64_t t : {1700000123, 1700000200, 1700006399}) {
        tc3::request r{"cvm.ap-shanghai.tencentcloudapi.com", "application/json", "{}", t};
        EXPECT_EQ(tc3::authorization_with_key(default_id, key, r), tc3::authorization(creds, r))
            << t;
    }
}

TEST(Tc3KeyCache, a_key_is_derived_once_per_utc_day_and_service) {
    tc3::key_cache cache;
    // 2023-11-14 00:00:00 .. 23:59:59 UTC: one key for cvm, whatever the second.
    for (std::int64_t t : {1699920000, 1700000123, 1700006399}) {
        EXPECT_EQ(cache.get(default_key, t, "cvm"),
                  tc3::derive_key(default_key, "2023-11-14", "cvm"))
            << t;
    }
    EXPECT_EQ(cache.derived(), 1u);
    EXPECT_EQ(cache.get(default_key, 1700000000, "clb"),
              tc3::derive_key(default_key, "2023-11-14", "clb"));
    EXPECT_EQ(cache.derived(), 2u);
    // Midnight UTC: a new day, a new key; the day before comes back with its own.
    EXPECT_EQ(cache.get(default_key, 1700006400, "cvm"),
              tc3::derive_key(default_key, "2023-11-15", "cvm"));
    EXPECT_EQ(cache.derived(), 3u);
    EXPECT_EQ(cache.get(default_key, 1700006399, "cvm"),
              tc3::derive_key(default_key, "2023-11-14", "cvm"));
    EXPECT_EQ(cache.derived(), 4u);
    cache.clear();  // a new secret key
    EXPECT_EQ(cache.get("another key", 1700006399, "cvm"),
              tc3::derive_key("another key", "2023-11-14", "cvm"));
    EXPECT_EQ(cache.derived(), 5u);
}

TEST(Tc3Resign, the_derived_key_depends_on_key_date_and_service) {
    const auto base = tc3::derive_key(default_key, "2023-11-14", "cvm");
    EXPECT_EQ(base, tc3::derive_key(default_key, "2023-11-14", "cvm"));
    EXPECT_NE(base, tc3::derive_key(default_key, "2023-11-15", "cvm"));
    EXPECT_NE(base, tc3::derive_key(default_key, "2023-11-14", "clb"));
    EXPECT_NE(base, tc3::derive_key("another key", "2023-11-14", "cvm"));
}

TEST(Tc3ParseAuthorization, accepts_any_order_and_more_signed_headers) {
    const auto p = tc3::parse_authorization(
        "TC3-HMAC-SHA256 Signature=8571a3fd5c5a24cb2b8e10509e02add887e49e59370eed066496522e687e8f6b"
        ",SignedHeaders=content-type;host;x-tc-action,   "
        "Credential=AKID/x/2019-02-25/cvm/tc3_request");
    ASSERT_TRUE(p.has_value());
    EXPECT_EQ(p->secret_id, "AKID/x");
    EXPECT_EQ(p->date, "2019-02-25");
    EXPECT_EQ(p->service, "cvm");
    EXPECT_EQ(p->signed_headers, "content-type;host;x-tc-action");
}

TEST(Tc3ParseAuthorization, refuses_malformed_headers) {
    const std::string sig = "8571a3fd5c5a24cb2b8e10509e02add887e49e59370eed066496522e687e8f6b";
    const std::string good =
        "TC3-HMAC-SHA256 Credential=AKID/2019-02-25/cvm/tc3_request, "
        "SignedHeaders=content-type;host, Signature=" +
        sig;
    ASSERT_TRUE(tc3::parse_authorization(good).has_value());
    const std::string bad[] = {
        "",
        "TC3-HMAC-SHA256",
        "TC3-HMAC-SHA256 ",
        "TC3-HMAC-SHA1 Credential=AKID/2019-02-25/cvm/tc3_request, "
        "SignedHeaders=content-type;host, Signature=" +
            sig,  // wrong algorithm
        "HMAC-SHA256 Credential=AKID/2019-02-25/cvm/tc3_request, "
        "SignedHeaders=content-type;host, Signature=" +
            sig,
        "TC3-HMAC-SHA256Credential=AKID/2019-02-25/cvm/tc3_request, "
        "SignedHeaders=content-type;host, Signature=" +
            sig,  // no space after the algorithm
        "TC3-HMAC-SHA256 Credential=AKID/2019-02-25/cvm/tc3_request, "
        "SignedHeaders=content-type;host",  // no Signature
        "TC3-HMAC-SHA256 Credential=AKID/2019-02-25/cvm/tc3_request, "
        "SignedHeaders=content-type;host, Signature=",
        "TC3-HMAC-SHA256 Credential=AKID/2019-02-25/cvm, "
        "SignedHeaders=content-type;host, Signature=" +
            sig,  // no /tc3_request
        "TC3-HMAC-SHA256 Credential=AKID/2019-02-25/cvm/tc3_requests, "
        "SignedHeaders=content-type;host, Signature=" +
            sig,
        "TC3-HMAC-SHA256 Credential=AKID/2019-02-25/cvmtc3_request, "
        "SignedHeaders=content-type;host, Signature=" +
            sig,
        "TC3-HMAC-SHA256 Credential=2019-02-25/cvm/tc3_request, "
        "SignedHeaders=content-type;host, Signature=" +
            sig,  // no SecretId
        "TC3-HMAC-SHA256 Credential=/2019-02-25/cvm/tc3_request, "
        "SignedHeaders=content-type;host, Signature=" +
            sig,  // empty SecretId
        "TC3-HMAC-SHA256 Credential=AKID/2019-2-25/cvm/tc3_request, "
        "SignedHeaders=content-type;host, Signature=" +
            sig,  // not YYYY-MM-DD
        "TC3-HMAC-SHA256 Credential=AKID/2019-02-25//tc3_request, "
        "SignedHeaders=content-type;host, Signature=" +
            sig,                                                              // empty service
        "TC3-HMAC-SHA256 SignedHeaders=content-type;host, Signature=" + sig,  // no Credential
        "TC3-HMAC-SHA256 Credential=AKID/2019-02-25/cvm/tc3_request, Signature=" + sig,
        "TC3-HMAC-SHA256 Credential=AKID/2019-02-25/cvm/tc3_request, "
        "SignedHeaders=, Signature=" +
            sig,
        good + ", Signature=" + sig,     // a part twice
        good + ", Region=ap-guangzhou",  // an unknown part
        good + ",",
        good.substr(0, good.size() - 1),  // 63 hex digits
        good + "0",                       // 65
        "TC3-HMAC-SHA256 Credential=AKID/2019-02-25/cvm/tc3_request, "
        "SignedHeaders=content-type;host, Signature=8571A3FD5C5A24CB2B8E10509E02ADD887E49E59370EED0"
        "66496522E687E8F6B",  // upper-case hex
        "TC3-HMAC-SHA256 Credential=AKID/2019-02-25/cvm/tc3_request, "
        "SignedHeaders=content-type;host, Signature=" +
            sig.substr(0, 63) + "g",
    };
    for (const auto& h : bad) {
        EXPECT_FALSE(tc3::parse_authorization(h).has_value()) << h;
    }
}

// The intermediate key of the worked example in docs/protocol.md (vector 2), computed with
// Python's hmac module: a second implementation that agrees with the SDK's final signature.
TEST(Tc3, derived_key_of_the_worked_example) {
    const auto key = tc3::derive_key(default_key, "2023-11-14", "clb");
    std::string hex;
    for (unsigned char b : key) {
        constexpr char digits[] = "0123456789abcdef";
        hex.push_back(digits[b >> 4]);
        hex.push_back(digits[b & 0x0f]);
    }
    EXPECT_EQ(hex, "298b83ec895e88c1c080c149e7f0d26a1c0a388d3dbe0e83fbdd7301ff963e72");
}
