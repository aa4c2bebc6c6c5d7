#include "qcloud/response.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>

namespace tq = taskpoller::qcloud;
using kind = tq::response_error::kind;
using st = tq::batch_entry::status;

TEST(Envelope, integer_and_numeric_string_codes) {
    auto a = tq::parse_envelope(R"({"code":0,"message":"","codeDesc":"Success"})");
    ASSERT_TRUE(a.has_value());
    EXPECT_EQ(a->code, 0);
    EXPECT_EQ(a->code_desc, "Success");
    auto b = tq::parse_envelope(R"({"code":"5100","message":"(100004)projectId不正确"})");
    ASSERT_TRUE(b.has_value());
    EXPECT_EQ(b->code, 5100);
    EXPECT_EQ(b->message, "(100004)projectId不正确");
}

TEST(Envelope, symbolic_and_described_throttling_is_4400) {
    auto a = tq::parse_envelope(R"({"code":"InvalidRequest.LimitExceeded","message":"slow"})");
    ASSERT_TRUE(a.has_value());
    EXPECT_EQ(a->code, 4400);
    EXPECT_EQ(a->code_desc, "InvalidRequest.LimitExceeded");
    auto b = tq::parse_envelope(
        R"({"code":4000,"codeDesc":"InvalidRequest.RequestConcurrencyExceeded"})");
    EXPECT_EQ(b->code, 4400);
    auto c = tq::parse_envelope(R"({"code":"SomethingElse"})");
    EXPECT_EQ(c->code, -1);
    EXPECT_EQ(c->code_desc, "SomethingElse");
    EXPECT_EQ(tq::parse_envelope(R"({"code":"12a"})")->code, -1);
}

TEST(Envelope, malformed_bodies_are_errors_not_crashes) {
    std::string deep(100000, '[');
    for (std::string_view body :
         {std::string_view(""), std::string_view("not json"), std::string_view("[1,2]"),
          std::string_view(R"({"message":"x"})"), std::string_view(R"({"code":null})"),
          std::string_view(R"({"code":1.5})"), std::string_view(R"({"code":""})"),
          std::string_view(R"({"code":[0]})"),
          std::string_view(R"({"code":99999999999999999999999})"),
          std::string_view(R"({"code":-99999999999})"), std::string_view(R"({"code":0)"),
          std::string_view(deep)}) {
        auto r = tq::parse_envelope(body);
        ASSERT_TRUE(r.has_error()) << body.substr(0, 40);
        EXPECT_EQ(r.error().what, kind::malformed);
        EXPECT_FALSE(r.error().message.empty());
    }
}

TEST(Envelope, huge_messages_are_truncated) {
    auto r =
        tq::parse_envelope(fmt::format(R"({{"code":1,"message":"{}"}})", std::string(100000, 'm')));
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->message.size(), 1024u);
}

TEST(Envelope, duplicate_keys_do_not_crash) {
    auto r = tq::parse_envelope(R"({"code":0,"code":4000})");
    ASSERT_TRUE(r.has_value());
    EXPECT_TRUE(r->code == 0 || r->code == 4000);
}

TEST(Async, integer_and_string_request_ids) {
    EXPECT_EQ(tq::parse_async(R"({"code":0,"message":"","requestId":1234})").value(), "1234");
    EXPECT_EQ(tq::parse_async(R"({"code":0,"requestId":"1231231231231"})").value(),
              "1231231231231");
    EXPECT_EQ(tq::parse_async(R"({"code":0,"requestId":18446744073709551615})").value(),
              "18446744073709551615");
}

TEST(Async, bad_request_ids_and_api_errors) {
    for (std::string_view body :
         {R"({"code":0})", R"({"code":0,"requestId":""})", R"({"code":0,"requestId":-1})",
          R"({"code":0,"requestId":1.5})", R"({"code":0,"requestId":"a/b"})",
          R"({"code":0,"requestId":{}})"}) {
        auto r = tq::parse_async(body);
        ASSERT_TRUE(r.has_error()) << body;
        EXPECT_EQ(r.error().what, kind::malformed) << body;
    }
    auto r = tq::parse_async(
        R"({"code":4000,"message":"bad loadBalancerId","codeDesc":"InvalidParameter"})");
    ASSERT_TRUE(r.has_error());
    EXPECT_EQ(r.error().what, kind::api);
    EXPECT_EQ(r.error().code, 4000);
    EXPECT_EQ(r.error().message, "bad loadBalancerId");
    EXPECT_EQ(r.error().code_desc, "InvalidParameter");
}

namespace {
const std::vector<std::string> three = {"ins-1", "ins-2", "ins-3"};
}

TEST(Batch, all_succeeded) {
    auto r = tq::parse_batch(R"({"code":0,"message":"","detail":{
        "ins-1":{"code":0,"message":"","requestId":"111"},
        "ins-2":{"code":0,"message":"","requestId":222},
        "ins-3":{"code":"0","message":"","requestId":"333"}}})",
                             three);
    ASSERT_TRUE(r.has_value()) << r.error().message;
    ASSERT_EQ(r->entries.size(), 3u);
    EXPECT_EQ(r->entries[1].resource_id, "ins-2");
    EXPECT_EQ(r->entries[1].request_id, "222");
    for (const auto& e : r->entries) EXPECT_EQ(e.state, st::accepted);
}

TEST(Batch, partial_success_keeps_each_entry_code) {
    auto r = tq::parse_batch(R"({"code":5400,"message":"partial","detail":{
        "ins-3":{"code":0,"message":"","requestId":"9"},
        "ins-1":{"code":5100,"message":"(10000)instance state wrong"},
        "ins-2":{"code":"4000","message":"no such instance","requestId":""}}})",
                             three);
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->code, 5400);
    ASSERT_EQ(r->entries.size(), 3u);
    EXPECT_EQ(r->entries[0].resource_id, "ins-1");  // request order, not detail order
    EXPECT_EQ(r->entries[0].state, st::rejected);
    EXPECT_EQ(r->entries[0].code, 5100);
    EXPECT_EQ(r->entries[0].message, "(10000)instance state wrong");
    EXPECT_EQ(r->entries[1].state, st::rejected);
    EXPECT_EQ(r->entries[1].code, 4000);
    EXPECT_TRUE(r->entries[1].request_id.empty());
    EXPECT_EQ(r->entries[2].state, st::accepted);
}

TEST(Batch, all_failed_without_detail_rejects_every_resource) {
    auto r = tq::parse_batch(R"({"code":"5100","message":"all failed"})", three);
    ASSERT_TRUE(r.has_value());
    ASSERT_EQ(r->entries.size(), 3u);
    for (const auto& e : r->entries) {
        EXPECT_EQ(e.state, st::rejected);
        EXPECT_EQ(e.code, 5100);
        EXPECT_EQ(e.message, "all failed");
    }
}

TEST(Batch, all_failed_with_partial_detail) {
    auto r = tq::parse_batch(
        R"({"code":5100,"message":"all failed","detail":{"ins-2":{"code":5000,"message":"gone"}}})",
        three);
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->entries[0].code, 5100);
    EXPECT_EQ(r->entries[1].code, 5000);
    EXPECT_EQ(r->entries[1].message, "gone");
    EXPECT_EQ(r->entries[2].state, st::rejected);
}

TEST(Batch, shared_request_ids_are_kept_per_resource) {
    auto r = tq::parse_batch(R"({"code":0,"detail":{
        "ins-1":{"code":0,"requestId":"77"},"ins-2":{"code":0,"requestId":"77"},
        "ins-3":{"code":0,"requestId":"78"}}})",
                             three);
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->entries[0].request_id, r->entries[1].request_id);
    EXPECT_NE(r->entries[0].request_id, r->entries[2].request_id);
}

TEST(Batch, missing_and_unexpected_resources) {
    auto r = tq::parse_batch(R"({"code":0,"detail":{
        "ins-1":{"code":0,"requestId":"1"},"ins-9":{"code":0,"requestId":"9"}}})",
                             three);
    ASSERT_TRUE(r.has_value());
    ASSERT_EQ(r->entries.size(), 4u);
    EXPECT_EQ(r->entries[1].resource_id, "ins-2");
    EXPECT_EQ(r->entries[1].state, st::unknown);
    EXPECT_EQ(r->entries[2].state, st::unknown);
    EXPECT_EQ(r->entries[3].resource_id, "ins-9");
    EXPECT_EQ(r->entries[3].state, st::accepted);
}

TEST(Batch, broken_entries_become_unknown) {
    auto r = tq::parse_batch(R"({"code":5400,"detail":{
        "ins-1":"oops","ins-2":{"message":"no code"},"ins-3":{"code":0}}})",
                             three);
    ASSERT_TRUE(r.has_value());
    for (const auto& e : r->entries) {
        EXPECT_EQ(e.state, st::unknown) << e.resource_id;
        EXPECT_FALSE(e.message.empty());
    }
}

TEST(Batch, outer_errors) {
    auto a = tq::parse_batch(R"({"code":4100,"message":"signature"})", three);
    ASSERT_TRUE(a.has_error());
    EXPECT_EQ(a.error().what, kind::api);
    EXPECT_EQ(a.error().code, 4100);
    auto b = tq::parse_batch(R"({"code":0,"message":""})", three);
    ASSERT_TRUE(b.has_error());
    EXPECT_EQ(b.error().what, kind::malformed);
    auto c = tq::parse_batch(R"({"code":0,"detail":[1]})", three);
    ASSERT_TRUE(c.has_error());
    EXPECT_EQ(c.error().what, kind::malformed);
    auto d = tq::parse_batch(R"({"code":0,"detail":"x"})", three);
    EXPECT_TRUE(d.has_error());
}

TEST(Batch, empty_detail_and_php_empty_array) {
    auto a = tq::parse_batch(R"({"code":0,"detail":[]})", three);
    ASSERT_TRUE(a.has_value());
    for (const auto& e : a->entries) EXPECT_EQ(e.state, st::unknown);
    auto b = tq::parse_batch(R"({"code":0,"detail":{}})", {});
    ASSERT_TRUE(b.has_value());
    EXPECT_TRUE(b->entries.empty());
}

TEST(Batch, huge_detail) {
    std::string body = R"({"code":0,"detail":{)";
    std::vector<std::string> ids;
    for (int i = 0; i < 20000; ++i) {
        ids.push_back(fmt::format("ins-{:08x}", i));
        body += fmt::format(R"({}"{}":{{"code":0,"requestId":{}}})", i ? "," : "", ids.back(), i);
    }
    body += "}}";
    auto r = tq::parse_batch(body, ids);
    ASSERT_TRUE(r.has_value());
    ASSERT_EQ(r->entries.size(), 20000u);
    EXPECT_EQ(r->entries[19999].request_id, "19999");
}

TEST(Batch, duplicate_requested_ids_give_one_entry) {
    std::vector<std::string> ids = {"ins-1", "ins-1"};
    auto r = tq::parse_batch(R"({"code":0,"detail":{"ins-1":{"code":0,"requestId":"5"}}})", ids);
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->entries.size(), 1u);
}

TEST(TaskResult, statuses) {
    EXPECT_EQ(tq::parse_task_result(R"({"code":0,"data":{"status":0}})").value(),
              tq::task_status::succeeded);
    EXPECT_EQ(tq::parse_task_result(R"({"code":0,"data":{"status":"1"}})").value(),
              tq::task_status::failed);
    EXPECT_EQ(
        tq::parse_task_result(R"({"code":0,"codeDesc":"Success","data":{"status":2}})").value(),
        tq::task_status::running);
}

TEST(TaskResult, bad_shapes) {
    for (std::string_view body :
         {R"({"code":0})", R"({"code":0,"data":[]})", R"({"code":0,"data":{}})",
          R"({"code":0,"data":{"status":3}})", R"({"code":0,"data":{"status":-1}})",
          R"({"code":0,"data":{"status":"x"}})", R"({"code":0,"data":{"status":1e300}})"}) {
        auto r = tq::parse_task_result(body);
        ASSERT_TRUE(r.has_error()) << body;
        EXPECT_EQ(r.error().what, kind::malformed) << body;
    }
    auto api = tq::parse_task_result(R"({"code":4000,"message":"requestId not found"})");
    ASSERT_TRUE(api.has_error());
    EXPECT_EQ(api.error().what, kind::api);
    EXPECT_EQ(api.error().code, 4000);
}

TEST(DescribeInstances, page) {
    auto r = tq::parse_describe_instances(R"({"code":0,"totalCount":2,"instanceSet":[
        {"unInstanceId":"ins-1","status":2,"instanceName":"a"},
        {"unInstanceId":"ins-2","status":"9"}]})");
    ASSERT_TRUE(r.has_value()) << r.error().message;
    EXPECT_EQ(r->total_count, 2);
    ASSERT_EQ(r->instances.size(), 2u);
    EXPECT_EQ(r->instances[1].instance_id, "ins-2");
    EXPECT_EQ(r->instances[1].status, 9);
    auto empty = tq::parse_describe_instances(R"({"code":0,"totalCount":0})");
    ASSERT_TRUE(empty.has_value());
    EXPECT_TRUE(empty->instances.empty());
}

TEST(DescribeInstances, bad_shapes) {
    for (std::string_view body :
         {R"({"code":0})", R"({"code":0,"totalCount":-1,"instanceSet":[]})",
          R"({"code":0,"totalCount":1})", R"({"code":0,"totalCount":1,"instanceSet":{}})",
          R"({"code":0,"totalCount":1,"instanceSet":[{"status":2}]})",
          R"({"code":0,"totalCount":1,"instanceSet":[{"unInstanceId":"i","status":null}]})",
          R"({"code":0,"totalCount":1,"instanceSet":[7]})"}) {
        auto r = tq::parse_describe_instances(body);
        ASSERT_TRUE(r.has_error()) << body;
        EXPECT_EQ(r.error().what, kind::malformed) << body;
    }
}
