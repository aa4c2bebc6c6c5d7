// The simulator's API 3.0 over real HTTP: the server passes every header to the simulator (TC3
// verification reads Authorization, X-TC-* and whatever SignedHeaders names) and 2.0 still works
// on the same port.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <chrono>
#include <string>
#include <thread>

#include "qcloud/tc3.hpp"
#include "support/api.hpp"
#include "support/sim_process.hpp"

namespace taskpoller::testing {
namespace {

namespace json = boost::json;

const qcloud::credentials creds{"AKIDz8krbsJ5yKBZQpn74WFkmLPx3gnPhESA",
                                "Gu5t9xGARNpq86cd98joQYCN3Cozk1qA"};

// One request on its own connection (Connection: close); returns the whole raw answer.
std::string round_trip(std::uint16_t port, const std::string& raw) {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    EXPECT_GE(fd, 0);
    timeval tv{10, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    for (std::size_t off = 0; off < raw.size();) {
        auto n = ::write(fd, raw.data() + off, raw.size() - off);
        if (n <= 0) break;
        off += static_cast<std::size_t>(n);
    }
    std::string out;
    char buf[4096];
    for (;;) {
        auto n = ::read(fd, buf, sizeof buf);
        if (n <= 0) break;
        out.append(buf, static_cast<std::size_t>(n));
    }
    ::close(fd);
    return out;
}

// Signs and sends `c`; returns the JSON Response object (or an empty object if the answer is
// not HTTP 200 with JSON).
json::object send_v3(std::uint16_t port, const std::string& host, const std::string& action,
                     const std::string& version, const std::string& body = "{}") {
    const std::string content_type = "application/json";
    auto ts = std::chrono::duration_cast<std::chrono::seconds>(
                  std::chrono::system_clock::now().time_since_epoch())
                  .count();
    auto auth = qcloud::tc3::authorization(creds, {host, content_type, body, ts});
    std::string raw = "POST / HTTP/1.1\r\nHost: " + host + "\r\nContent-Type: " + content_type +
                      "\r\nX-TC-Action: " + action + "\r\nX-TC-Version: " + version +
                      "\r\nX-TC-Timestamp: " + std::to_string(ts) +
                      "\r\nX-TC-Region: ap-guangzhou\r\nAuthorization: " + auth + "\r\n" +
                      "Content-Length: " + std::to_string(body.size()) +
                      "\r\nConnection: close\r\n\r\n" + body;
    auto answer = round_trip(port, raw);
    EXPECT_EQ(answer.rfind("HTTP/1.1 200", 0), 0u) << answer;
    auto at = answer.find("\r\n\r\n");
    if (at == std::string::npos) return {};
    boost::system::error_code ec;
    auto v = json::parse(answer.substr(at + 4), ec);
    if (ec || !v.is_object() || !v.as_object().contains("Response")) return {};
    return v.at("Response").as_object();
}

std::string code_of(const json::object& r) {
    const auto* e = r.if_contains("Error");
    return e ? std::string(e->at("Code").as_string()) : "";
}

TEST(SimV3Http, CvmAndClbOverHttpBesideApi2) {
    sim_process sim(R"(
instances: {running: 2, stopped: 2}
stale_window: 0ms
operations:
  default: {duration: 200ms}
)");
    const std::string cvm_host = "cvm.tencentcloudapi.com:" + std::to_string(sim.port());
    auto all = send_v3(sim.port(), cvm_host, "DescribeInstances", "2017-03-12");
    ASSERT_EQ(code_of(all), "") << json::serialize(all);
    ASSERT_EQ(all.at("TotalCount").as_int64(), 4);
    std::string id(all.at("InstanceSet").at(0).at("InstanceId").as_string());

    auto stop = send_v3(sim.port(), cvm_host, "StopInstances", "2017-03-12",
                        R"({"InstanceIds":[")" + id + R"("]})");
    ASSERT_EQ(code_of(stop), "") << json::serialize(stop);
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    auto after = send_v3(sim.port(), cvm_host, "DescribeInstances", "2017-03-12",
                         R"({"InstanceIds":[")" + id + R"("],"Limit":100})");
    ASSERT_EQ(code_of(after), "");
    const auto& in = after.at("InstanceSet").at(0);
    EXPECT_EQ(in.at("InstanceState").as_string(), "STOPPED");
    EXPECT_EQ(in.at("LatestOperationState").as_string(), "SUCCESS");
    EXPECT_EQ(in.at("LatestOperationRequestId").as_string(), stop.at("RequestId").as_string());

    // The ground truth has the call under its RequestId.
    http_client c(sim.port());
    auto tasks = get_json(c, "/_sim/tasks").at("tasks").as_array();
    ASSERT_EQ(tasks.size(), 1u);
    EXPECT_EQ(tasks[0].at("request_id").as_string(), stop.at("RequestId").as_string());

    // CLB, regional host form.
    const std::string clb_host = "clb.ap-guangzhou.tencentcloudapi.com";
    auto reg = send_v3(sim.port(), clb_host, "RegisterTargets", "2018-03-17",
                       R"({"LoadBalancerId":"lb-1","ListenerId":"lbl-1",)"
                       R"("Targets":[{"InstanceId":")" +
                           id + R"(","Port":80}]})");
    ASSERT_EQ(code_of(reg), "") << json::serialize(reg);
    auto status = send_v3(sim.port(), clb_host, "DescribeTaskStatus", "2018-03-17",
                          R"({"TaskId":")" + std::string(reg.at("RequestId").as_string()) + "\"}");
    EXPECT_EQ(status.at("Status").as_int64(), 2);

    // 2.0 on the same port.
    auto v2 = call(c, "cvm", "DescribeInstances", {{"instanceIds.0", id}});
    EXPECT_EQ(v2.at("instanceSet").at(0).at("status").as_int64(), 4);
}

TEST(SimV3Http, CbsVpcAndRunInstancesOverHttp) {
    sim_process sim(R"(
instances: {running: 2, stopped: 0}
disks: {unattached: 1, attached: 2}
stale_window: 0ms
operations:
  default: {duration: 200ms}
)");
    http_client c(sim.port());
    auto disks = get_json(c, "/_sim/disks").at("disks").as_array();
    ASSERT_EQ(disks.size(), 3u);
    std::string free_disk(disks[2].at("id").as_string());
    std::string ins(disks[0].at("instance_id").as_string());
    EXPECT_EQ(disks[2].at("state").as_string(), "UNATTACHED");

    const std::string cbs = "cbs.tencentcloudapi.com";
    auto attach = send_v3(sim.port(), cbs, "AttachDisks", "2017-03-12",
                          R"({"InstanceId":")" + ins + R"(","DiskIds":[")" + free_disk + R"("]})");
    ASSERT_EQ(code_of(attach), "") << json::serialize(attach);
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    auto d = send_v3(sim.port(), cbs, "DescribeDisks", "2017-03-12",
                     R"({"DiskIds":[")" + free_disk + R"("],"Limit":100})");
    ASSERT_EQ(code_of(d), "") << json::serialize(d);
    EXPECT_EQ(d.at("DiskSet").at(0).at("DiskState").as_string(), "ATTACHED");
    EXPECT_EQ(d.at("DiskSet").at(0).at("InstanceId").as_string(), ins);

    const std::string vpc = "vpc.tencentcloudapi.com";
    auto eni = send_v3(sim.port(), vpc, "AttachNetworkInterface", "2017-03-12",
                       R"({"NetworkInterfaceId":"eni-1","InstanceId":")" + ins + R"("})");
    ASSERT_EQ(code_of(eni), "") << json::serialize(eni);
    auto task = send_v3(sim.port(), vpc, "DescribeVpcTaskResult", "2017-03-12",
                        R"({"TaskId":")" + std::string(eni.at("RequestId").as_string()) + R"("})");
    EXPECT_EQ(task.at("Status").as_string(), "RUNNING");

    const std::string cvm = "cvm.tencentcloudapi.com";
    const std::string run = R"({"InstanceCount":2,"ClientToken":"http-token-1"})";
    auto first = send_v3(sim.port(), cvm, "RunInstances", "2017-03-12", run);
    auto again = send_v3(sim.port(), cvm, "RunInstances", "2017-03-12", run);
    ASSERT_EQ(code_of(first), "") << json::serialize(first);
    ASSERT_EQ(code_of(again), "") << json::serialize(again);
    EXPECT_EQ(first.at("InstanceIdSet"), again.at("InstanceIdSet"));
    EXPECT_NE(first.at("RequestId"), again.at("RequestId"));
    EXPECT_EQ(get_json(c, "/_sim/instances").at("instances").as_array().size(), 4u);
}

TEST(SimV3Http, ASignedExtraHeaderIsReadFromTheRequest) {
    sim_process sim;
    const std::string host = "cvm.tencentcloudapi.com";
    const std::string body = "{}";
    auto ts = std::chrono::duration_cast<std::chrono::seconds>(
                  std::chrono::system_clock::now().time_since_epoch())
                  .count();
    namespace tc3 = qcloud::tc3;
    const tc3::header hs[] = {
        {"content-type", "application/json"}, {"host", host}, {"x-tc-action", "describeinstances"}};
    auto date = tc3::utc_date(ts);
    auto sig =
        tc3::signature(tc3::derive_key(creds.secret_key_for_signing(), date, "cvm"),
                       tc3::string_to_sign(ts, "cvm", tc3::canonical_request("POST", hs, body)));
    auto request = [&](const std::string& action) {
        return "POST / HTTP/1.1\r\nHost: " + host +
               "\r\nContent-Type: application/json\r\nX-TC-Action: " + action +
               "\r\nX-TC-Version: 2017-03-12\r\nX-TC-Timestamp: " + std::to_string(ts) +
               "\r\nX-TC-Region: ap-guangzhou\r\nAuthorization: TC3-HMAC-SHA256 Credential=" +
               creds.secret_id() + "/" + date +
               "/cvm/tc3_request, SignedHeaders=content-type;host;x-tc-action, Signature=" + sig +
               "\r\nContent-Length: 2\r\nConnection: close\r\n\r\n" + body;
    };
    auto ok = round_trip(sim.port(), request("DescribeInstances"));
    EXPECT_EQ(ok.find("\"Error\""), std::string::npos) << ok;
    auto bad = round_trip(sim.port(), request("StopInstances"));
    EXPECT_NE(bad.find("AuthFailure.SignatureFailure"), std::string::npos) << bad;
}

}  // namespace
}  // namespace taskpoller::testing
