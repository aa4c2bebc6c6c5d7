// API 3.0 response parsing (lib/qcloud/v3_response.hpp): the envelope, then the CLB, VPC and CVM
// readers. Bad bodies are errors, never exceptions.
#include "qcloud/v3_response.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <boost/json/serialize.hpp>
#include <functional>
#include <random>
#include <set>
#include <string>

namespace v3 = taskpoller::qcloud::v3;

namespace {

v3::response parsed(std::string_view body) {
    auto r = v3::parse_response(body);
    if (!r) ADD_FAILURE() << "parse_response failed: " << r.error().message << "\n" << body;
    return r ? std::move(*r) : v3::response{};
}

std::string error_of(std::string_view body) {
    auto r = v3::parse_response(body);
    if (r) return {};
    return r.error().message;
}

}  // namespace

TEST(V3Response, success) {
    auto r = parsed(R"({"Response":{"TotalCount":0,"InstanceSet":[],)"
                    R"("RequestId":"6ef60bec-0242-43af-bb20-270359fb54a7"}})");
    EXPECT_EQ(r.request_id, "6ef60bec-0242-43af-bb20-270359fb54a7");
    EXPECT_FALSE(r.error.has_value());
    EXPECT_FALSE(r.fields.contains("RequestId"));
    EXPECT_TRUE(r.fields.contains("TotalCount"));
    EXPECT_TRUE(r.fields.contains("InstanceSet"));
}

TEST(V3Response, error_with_message_and_request_id) {
    auto r =
        parsed(R"({"Response":{"Error":{"Code":"UnsupportedOperation.InstanceStateStopped",)"
               R"("Message":"实例已关机"},"RequestId":"b5b41468-520d-4192-b42f-595cc34b6c1c"}})");
    ASSERT_TRUE(r.error.has_value());
    EXPECT_EQ(r.error->code, "UnsupportedOperation.InstanceStateStopped");
    EXPECT_EQ(r.error->message, "实例已关机");
    EXPECT_EQ(r.request_id, "b5b41468-520d-4192-b42f-595cc34b6c1c");
    EXPECT_FALSE(r.fields.contains("Error"));
}

TEST(V3Response, error_without_message_or_request_id) {
    auto r = parsed(R"({"Response":{"Error":{"Code":"InternalError"}}})");
    ASSERT_TRUE(r.error.has_value());
    EXPECT_EQ(r.error->code, "InternalError");
    EXPECT_EQ(r.error->message, "");
    EXPECT_EQ(r.request_id, "");
    auto n = parsed(R"({"Response":{"Error":{"Code":"InternalError","Message":null}}})");
    ASSERT_TRUE(n.error.has_value());
    EXPECT_EQ(n.error->message, "");
}

TEST(V3Response, a_long_message_is_cut_on_a_character_boundary) {
    std::string msg;
    for (int i = 0; i < 600; ++i) msg += "测";  // 3 bytes each
    auto r = parsed(R"({"Response":{"Error":{"Code":"FailedOperation","Message":")" + msg +
                    R"("},"RequestId":"x"}})");
    ASSERT_TRUE(r.error.has_value());
    EXPECT_LE(r.error->message.size(), 1024u);
    EXPECT_GT(r.error->message.size(), 1000u);
    EXPECT_EQ(r.error->message.size() % 3, 0u);
}

TEST(V3Response, malformed_json) {
    for (std::string_view body : {"", "{", "not json", R"({"Response":{"RequestId":"x"})",
                                  R"({"Response":{"RequestId":"x"}} trailing)"}) {
        auto r = v3::parse_response(body);
        ASSERT_FALSE(r) << body;
        EXPECT_NE(r.error().message.find("not valid JSON"), std::string::npos) << body;
        EXPECT_EQ(r.error().kind, taskpoller::core::error_kind::invalid);
    }
}

TEST(V3Response, missing_or_non_object_response) {
    for (std::string_view body : {"[]", "1", "null", R"({"response":{"RequestId":"x"}})",
                                  R"({"Response":[]})", R"({"Response":"x"})", "{}"}) {
        EXPECT_NE(error_of(body).find("no \"Response\""), std::string::npos) << body;
    }
}

TEST(V3Response, error_code_must_be_a_non_empty_string) {
    for (std::string_view body :
         {R"({"Response":{"Error":{"Code":4400,"Message":"x"},"RequestId":"x"}})",
          R"({"Response":{"Error":{"Code":null},"RequestId":"x"}})",
          R"({"Response":{"Error":{"Message":"x"},"RequestId":"x"}})",
          R"({"Response":{"Error":"InternalError","RequestId":"x"}})",
          R"({"Response":{"Error":{"Code":""},"RequestId":"x"}})"}) {
        EXPECT_NE(error_of(body).find("Code"), std::string::npos) << body;
    }
    const std::string long_code(200, 'A');
    EXPECT_FALSE(v3::parse_response(R"({"Response":{"Error":{"Code":")" + long_code + R"("}}})"));
}

TEST(V3Response, success_needs_a_non_empty_string_request_id) {
    for (std::string_view body :
         {R"({"Response":{}})", R"({"Response":{"RequestId":""}})",
          R"({"Response":{"RequestId":12345}})", R"({"Response":{"RequestId":null}})",
          R"({"Response":{"RequestId":"a b"}})", R"({"Response":{"Error":null}})"}) {
        EXPECT_NE(error_of(body).find("RequestId"), std::string::npos) << body;
    }
    EXPECT_TRUE(v3::parse_response(R"({"Response":{"RequestId":"x","Error":null}})"));
}

TEST(V3Response, duplicate_keys_are_refused_at_any_depth) {
    for (std::string_view body :
         {R"({"Response":{"RequestId":"a","RequestId":"b"}})",
          R"({"Response":{"RequestId":"a"},"Response":{"RequestId":"b"}})",
          R"({"Response":{"Error":{"Code":"A","Code":"InternalError"},"RequestId":"a"}})",
          R"({"Response":{"InstanceSet":[{"InstanceId":"i","InstanceId":"j"}],"RequestId":"a"}})",
          R"({"Response":{"S\u0074atus":0,"Status":2,"RequestId":"a"}})"}) {
        EXPECT_NE(error_of(body).find("repeats a key"), std::string::npos) << body;
    }
    // The same key in different objects is fine.
    EXPECT_TRUE(v3::parse_response(
        R"({"Response":{"InstanceSet":[{"InstanceId":"i"},{"InstanceId":"j"}],"RequestId":"a"}})"));
}

TEST(V3Response, has_duplicate_key_in_objects_with_many_keys) {
    // Past 16 keys an object's keys move to a set: a repeat is found on either side of that.
    auto object = [](int n, int repeat_of, int at) {
        std::string text = "{";
        for (int i = 0; i < n; ++i) {
            text += fmt::format("{}\"key-number-{}\":{{\"inner\":[{{\"k\":1}}]}}", i ? "," : "",
                                i == at ? repeat_of : i);
        }
        return text + "}";
    };
    EXPECT_FALSE(v3::has_duplicate_key(object(100, -1, -1)));
    EXPECT_TRUE(v3::has_duplicate_key(object(100, 3, 10)));   // both among the first 16
    EXPECT_TRUE(v3::has_duplicate_key(object(100, 3, 40)));   // the repeat after the switch
    EXPECT_TRUE(v3::has_duplicate_key(object(100, 20, 70)));  // both after it
    EXPECT_TRUE(v3::has_duplicate_key(object(17, 0, 16)));    // the 17th key repeats the first
}

TEST(V3Response, has_duplicate_key_agrees_with_a_reference_on_random_documents) {
    std::mt19937 rng(20261207);
    const std::vector<std::string> names = {"a",
                                            "b",
                                            "Status",
                                            "RequestId",
                                            "k",
                                            "x",
                                            "a-rather-long-key-name",
                                            "another-long-key-name!",
                                            "\\u0061"};  // the escaped "a": the same key as "a"
    for (int round = 0; round < 2000; ++round) {
        bool duplicate = false;
        std::function<std::string(int)> value = [&](int depth) -> std::string {
            const int kind = depth >= 3 ? 0 : static_cast<int>(rng() % 3);
            if (kind == 0) return std::to_string(rng() % 100);
            if (kind == 1) {
                std::string out = "[";
                for (int i = 0, n = static_cast<int>(rng() % 4); i < n; ++i)
                    out += (i ? "," : "") + value(depth + 1);
                return out + "]";
            }
            std::string out = "{";
            std::set<std::string> seen;
            const int n = static_cast<int>(rng() % (rng() % 8 == 0 ? 40 : 6));
            for (int i = 0; i < n; ++i) {
                std::string name = names[rng() % names.size()];
                if (rng() % 2) name += std::to_string(rng() % 30);
                const std::string decoded =
                    name.starts_with("\\u0061") ? "a" + name.substr(6) : name;
                if (!seen.insert(decoded).second) duplicate = true;
                out += (i ? "," : "") + ("\"" + name + "\":") + value(depth + 1);
            }
            return out + "}";
        };
        const std::string doc = value(0);
        EXPECT_EQ(v3::has_duplicate_key(doc), duplicate) << doc;
    }
}

TEST(V3Response, has_duplicate_key) {
    EXPECT_TRUE(v3::has_duplicate_key(R"({"a":1,"a":1})"));
    EXPECT_TRUE(v3::has_duplicate_key(R"([{"x":{"a":1,"b":{},"a":2}}])"));
    EXPECT_FALSE(v3::has_duplicate_key(R"({"a":{"a":{"a":1}},"b":[{"a":1},{"a":2}]})"));
    EXPECT_FALSE(v3::has_duplicate_key("not json"));
}

TEST(V3Response, oversized_bodies_are_refused_before_parsing) {
    std::string body = R"({"Response":{"RequestId":"x","Pad":")";
    body.append(v3::max_body_size, 'a');
    body += R"("}})";
    auto r = v3::parse_response(body);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find("larger than"), std::string::npos);
    // Just under the limit is parsed.
    std::string fits = R"({"Response":{"RequestId":"x","Pad":")";
    fits.append(v3::max_body_size - fits.size() - 3, 'a');
    fits += R"("}})";
    ASSERT_EQ(fits.size(), v3::max_body_size);
    EXPECT_TRUE(v3::parse_response(fits));
}

TEST(V3Response, deep_nesting_is_an_error) {
    std::string body = R"({"Response":{"RequestId":"x","Deep":)";
    body.append(200, '[');
    body.append(200, ']');
    body += "}}";
    EXPECT_FALSE(v3::parse_response(body));
}

TEST(V3ClbTaskStatus, each_status) {
    const std::pair<std::string_view, v3::task_status> cases[] = {{"0", v3::task_status::succeeded},
                                                                  {"1", v3::task_status::failed},
                                                                  {"2", v3::task_status::running}};
    for (const auto& [status, expected] : cases) {
        auto t = v3::read_clb_task_status(parsed(std::string(R"({"Response":{"Status":)") +
                                                 std::string(status) +
                                                 R"(,"Message":"m","RequestId":"r"}})"));
        ASSERT_TRUE(t) << status;
        EXPECT_EQ(t->status, expected) << status;
        EXPECT_EQ(t->message, "m");
    }
}

TEST(V3ClbTaskStatus, message_may_be_absent_or_null) {
    auto a = v3::read_clb_task_status(parsed(R"({"Response":{"Status":1,"RequestId":"r"}})"));
    ASSERT_TRUE(a);
    EXPECT_EQ(a->status, v3::task_status::failed);
    EXPECT_EQ(a->message, "");
    auto n = v3::read_clb_task_status(
        parsed(R"({"Response":{"Status":0,"Message":null,"RequestId":"r"}})"));
    ASSERT_TRUE(n);
    EXPECT_EQ(n->message, "");
}

TEST(V3ClbTaskStatus, status_must_be_the_integer_0_1_or_2) {
    for (std::string_view status :
         {R"("0")", R"("2")", "3", "-1", "0.0", "1e0", "null", "true", "18446744073709551615"}) {
        auto t = v3::read_clb_task_status(parsed(std::string(R"({"Response":{"Status":)") +
                                                 std::string(status) + R"(,"RequestId":"r"}})"));
        EXPECT_FALSE(t) << status;
    }
    EXPECT_FALSE(v3::read_clb_task_status(parsed(R"({"Response":{"RequestId":"r"}})")));
}

TEST(V3ClbTaskStatus, an_error_answer_is_an_error) {
    auto t = v3::read_clb_task_status(
        parsed(R"({"Response":{"Error":{"Code":"InternalError"},"RequestId":"r"}})"));
    ASSERT_FALSE(t);
    EXPECT_NE(t.error().message.find("InternalError"), std::string::npos);
}

TEST(V3VpcTaskResult, each_status) {
    const std::pair<std::string_view, v3::task_status> cases[] = {
        {"SUCCESS", v3::task_status::succeeded},
        {"FAILED", v3::task_status::failed},
        {"RUNNING", v3::task_status::running}};
    for (const auto& [status, expected] : cases) {
        auto t = v3::read_vpc_task_result(parsed(std::string(R"({"Response":{"Status":")") +
                                                 std::string(status) +
                                                 R"(","Output":"out","RequestId":"r"}})"));
        ASSERT_TRUE(t) << status;
        EXPECT_EQ(t->status, expected);
        EXPECT_EQ(t->message, "out");
    }
    auto no_output =
        v3::read_vpc_task_result(parsed(R"({"Response":{"Status":"RUNNING","RequestId":"r"}})"));
    ASSERT_TRUE(no_output);
    EXPECT_EQ(no_output->message, "");
}

TEST(V3VpcTaskResult, anything_else_is_an_error) {
    for (std::string_view status : {R"("success")", R"("SUCCEED")", R"("")", "0", "null"}) {
        auto t = v3::read_vpc_task_result(parsed(std::string(R"({"Response":{"Status":)") +
                                                 std::string(status) + R"(,"RequestId":"r"}})"));
        EXPECT_FALSE(t) << status;
    }
    EXPECT_FALSE(v3::read_vpc_task_result(parsed(R"({"Response":{"RequestId":"r"}})")));
    EXPECT_FALSE(v3::read_vpc_task_result(
        parsed(R"({"Response":{"Error":{"Code":"ResourceNotFound"},"RequestId":"r"}})")));
}

TEST(V3DescribeInstances, full_and_null_latest_operation) {
    auto page = v3::read_describe_instances(parsed(R"({"Response":{
        "TotalCount": 2,
        "InstanceSet": [
            {"InstanceId": "ins-r8hr2upy", "InstanceState": "STOPPED", "InstanceName": "a",
             "Placement": {"Zone": "ap-guangzhou-3"},
             "LatestOperation": "StopInstances", "LatestOperationState": "SUCCESS",
             "LatestOperationRequestId": "c7de1287-061d-4ace-8caf-6ad8e5a2f29a",
             "LatestOperationErrorMsg": null},
            {"InstanceId": "ins-5d8a23rs", "InstanceState": "PENDING",
             "LatestOperation": null, "LatestOperationState": null,
             "LatestOperationRequestId": null}
        ],
        "RequestId": "r"}})"));
    ASSERT_TRUE(page) << page.error().message;
    EXPECT_EQ(page->total_count, 2);
    ASSERT_EQ(page->instances.size(), 2u);
    const auto& a = page->instances[0];
    EXPECT_EQ(a.instance_id, "ins-r8hr2upy");
    EXPECT_EQ(a.instance_state, "STOPPED");
    EXPECT_EQ(a.latest_operation, "StopInstances");
    EXPECT_EQ(a.latest_operation_state, "SUCCESS");
    EXPECT_EQ(a.latest_operation_request_id, "c7de1287-061d-4ace-8caf-6ad8e5a2f29a");
    EXPECT_EQ(a.latest_operation_error_msg, "");
    const auto& b = page->instances[1];
    EXPECT_EQ(b.instance_id, "ins-5d8a23rs");
    EXPECT_EQ(b.instance_state, "PENDING");
    EXPECT_EQ(b.latest_operation, "");
    EXPECT_EQ(b.latest_operation_state, "");
    EXPECT_EQ(b.latest_operation_request_id, "");
    EXPECT_EQ(b.latest_operation_error_msg, "");
}

TEST(V3DescribeInstances, failed_operation_message) {
    auto page = v3::read_describe_instances(
        parsed(R"({"Response":{"TotalCount":1,"InstanceSet":[{"InstanceId":"ins-1",)"
               R"("InstanceState":"RUNNING","LatestOperation":"StopInstances",)"
               R"("LatestOperationState":"FAILED","LatestOperationRequestId":"r0",)"
               R"("LatestOperationErrorMsg":"stop failed"}],"RequestId":"r"}})"));
    ASSERT_TRUE(page);
    ASSERT_EQ(page->instances.size(), 1u);
    EXPECT_EQ(page->instances[0].latest_operation_state, "FAILED");
    EXPECT_EQ(page->instances[0].latest_operation_error_msg, "stop failed");
}

TEST(V3DescribeInstances, total_count_is_64_bit) {
    for (std::string_view n : {"9007199254740993", "9223372036854775807"}) {
        auto page = v3::read_describe_instances(
            parsed(std::string(R"({"Response":{"TotalCount":)") + std::string(n) +
                   R"(,"InstanceSet":[],"RequestId":"r"}})"));
        ASSERT_TRUE(page) << n;
        EXPECT_EQ(std::to_string(page->total_count), n);
    }
    for (std::string_view n : {"9223372036854775808", "-1", "1.5", R"("3")", "null"}) {
        auto page = v3::read_describe_instances(
            parsed(std::string(R"({"Response":{"TotalCount":)") + std::string(n) +
                   R"(,"InstanceSet":[],"RequestId":"r"}})"));
        EXPECT_FALSE(page) << n;
    }
}

TEST(V3DescribeInstances, empty_set_is_fine_missing_set_is_not) {
    auto empty = v3::read_describe_instances(
        parsed(R"({"Response":{"TotalCount":0,"InstanceSet":[],"RequestId":"r"}})"));
    ASSERT_TRUE(empty);
    EXPECT_TRUE(empty->instances.empty());
    for (std::string_view body :
         {R"({"Response":{"TotalCount":0,"RequestId":"r"}})",
          R"({"Response":{"TotalCount":0,"InstanceSet":null,"RequestId":"r"}})",
          R"({"Response":{"TotalCount":0,"InstanceSet":{},"RequestId":"r"}})",
          R"({"Response":{"InstanceSet":[],"RequestId":"r"}})"}) {
        EXPECT_FALSE(v3::read_describe_instances(parsed(body))) << body;
    }
}

TEST(V3DescribeInstances, bad_items_are_errors) {
    for (std::string_view item :
         {R"(1)", R"({"InstanceState":"RUNNING"})",
          R"({"InstanceId":"","InstanceState":"RUNNING"})",
          R"({"InstanceId":5,"InstanceState":"RUNNING"})", R"({"InstanceId":"ins-1"})",
          R"({"InstanceId":"ins-1","InstanceState":null})",
          R"({"InstanceId":"ins-1","InstanceState":"RUNNING","LatestOperation":1})",
          R"({"InstanceId":"ins-1","InstanceState":"RUNNING","LatestOperationState":[]})",
          R"({"InstanceId":"ins-1","InstanceState":"RUNNING","LatestOperationRequestId":{}})",
          R"({"InstanceId":"ins-1","InstanceState":"RUNNING","LatestOperationErrorMsg":2})"}) {
        auto page = v3::read_describe_instances(
            parsed(std::string(R"({"Response":{"TotalCount":1,"InstanceSet":[)") +
                   std::string(item) + R"(],"RequestId":"r"}})"));
        EXPECT_FALSE(page) << item;
    }
}

TEST(V3DescribeInstances, an_error_answer_is_an_error) {
    auto page = v3::read_describe_instances(parsed(
        R"({"Response":{"Error":{"Code":"AuthFailure.SignatureFailure"},"RequestId":"r"}})"));
    ASSERT_FALSE(page);
    EXPECT_NE(page.error().message.find("AuthFailure.SignatureFailure"), std::string::npos);
}
