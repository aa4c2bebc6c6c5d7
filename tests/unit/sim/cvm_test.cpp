#include "sim/cvm.hpp"

#include "sim_test_support.hpp"

namespace taskpoller::sim {
namespace {

using namespace cvm_status;
using testing::code;
using testing::fixture;

qcloud::param_list ids_param(const std::vector<std::string>& ids) {
    qcloud::param_list p;
    for (std::size_t i = 0; i < ids.size(); ++i)
        p.push_back({"instanceIds." + std::to_string(i), ids[i]});
    return p;
}

struct Cvm : ::testing::Test {
    fixture f;
    std::vector<std::string> ids = f.sim.cvm().ids();  // 3 running, then 3 stopped
    int shown(const std::string& id) { return *f.sim.cvm().shown_status(id, f.now_ms); }
};

TEST_F(Cvm, InstanceIdsLookRealAndAreReproducible) {
    ASSERT_EQ(ids.size(), 6u);
    for (const auto& id : ids) EXPECT_TRUE(id.size() == 12 && id.starts_with("ins-")) << id;
    fixture other;
    EXPECT_EQ(other.sim.cvm().ids(), ids);
}

TEST_F(Cvm, EachActionGoesThroughItsTransitionalStateToItsTarget) {
    struct step {
        const char* action;
        std::string id;
        int via, target;
    };
    for (auto s : {step{"StopInstances", ids[0], stopping, stopped},
                   step{"StartInstances", ids[3], starting, running},
                   step{"RestartInstances", ids[1], rebooting, running},
                   step{"ResetInstancePassword", ids[4], resetting_password, stopped}}) {
        auto p = ids_param({s.id});
        if (std::string(s.action) == "ResetInstancePassword") p.push_back({"password", "x1!"});
        auto body = f.call("cvm", s.action, p);
        ASSERT_EQ(code(body), 0) << boost::json::serialize(body);
        EXPECT_EQ(body.at("detail").at(s.id).at("code").as_int64(), 0);
        EXPECT_FALSE(body.at("detail").at(s.id).at("requestId").as_string().empty());
        EXPECT_EQ(shown(s.id), s.via) << s.action;
        f.advance(999);
        EXPECT_EQ(shown(s.id), s.via) << s.action;
        f.advance(1);
        EXPECT_EQ(shown(s.id), s.target) << s.action;
        EXPECT_EQ(f.sim.counters().executed(s.id, s.action), 1);
    }
}

TEST_F(Cvm, ResetInstancesIsCommonAsync) {
    auto body = f.call("cvm", "ResetInstances", {{"instanceId", ids[3]}, {"imageId", "img-1"}});
    ASSERT_EQ(code(body), 0);
    EXPECT_TRUE(body.at("requestId").is_int64());
    EXPECT_EQ(shown(ids[3]), reinstalling);
    f.advance(1000);
    EXPECT_EQ(shown(ids[3]), running);
    EXPECT_EQ(code(f.call("cvm", "ResetInstances", {{"instanceId", "ins-zzzzzzzz"}})), 5000);
    EXPECT_EQ(code(f.call("cvm", "ResetInstances", {})), 4000);
}

TEST_F(Cvm, BatchOuterCodeIs0Or5100Or5400) {
    EXPECT_EQ(code(f.call("cvm", "StopInstances", ids_param({ids[0], ids[1]}))), 0);
    auto all_failed = f.call("cvm", "StopInstances", ids_param({ids[3], "ins-nothere"}));
    EXPECT_EQ(code(all_failed), 5100);
    const auto& d = all_failed.at("detail").as_object();
    EXPECT_EQ(d.at(ids[3]).at("code").as_int64(), 5100);
    EXPECT_NE(d.at(ids[3]).at("message").as_string().find("state 4"), std::string::npos);
    EXPECT_EQ(d.at("ins-nothere").at("code").as_int64(), 5000);
    EXPECT_FALSE(d.at("ins-nothere").as_object().contains("requestId"));
    auto partial = f.call("cvm", "StopInstances", ids_param({ids[2], ids[0]}));
    EXPECT_EQ(code(partial), 5400);
    EXPECT_EQ(partial.at("detail").at(ids[2]).at("code").as_int64(), 0);
    EXPECT_NE(partial.at("detail").at(ids[0]).at("message").as_string().find("busy"),
              std::string::npos);
}

TEST_F(Cvm, RepeatedIdRunsOnce) {
    auto body = f.call("cvm", "StopInstances", ids_param({ids[0], ids[0]}));
    EXPECT_EQ(code(body), 0);
    EXPECT_EQ(body.at("detail").as_object().size(), 1u);
    EXPECT_EQ(f.sim.counters().executed(ids[0], "StopInstances"), 1);
}

TEST_F(Cvm, ParameterErrorsAre4000) {
    EXPECT_EQ(code(f.call("cvm", "StopInstances", {})), 4000);
    auto p = ids_param({ids[0]});
    p.push_back({"forceStop", "2"});
    EXPECT_EQ(code(f.call("cvm", "StopInstances", p)), 4000);
    EXPECT_EQ(code(f.call("cvm", "ResetInstancePassword", ids_param({ids[3]}))), 4000);
    std::vector<std::string> many(101, ids[0]);
    EXPECT_EQ(code(f.call("cvm", "StopInstances", ids_param(many))), 4000);
}

TEST_F(Cvm, StaleWindowShowsTheOldState) {
    auto cfg = fixture::quiet_config();
    cfg.stale_window = millis(300);
    fixture g(cfg);
    auto id = g.sim.cvm().ids()[0];
    ASSERT_EQ(code(g.call("cvm", "RestartInstances", ids_param({id}))), 0);
    EXPECT_EQ(*g.sim.cvm().shown_status(id, g.now_ms), running);
    EXPECT_EQ(*g.sim.cvm().true_status(id, g.now_ms), rebooting);
    g.advance(300);
    EXPECT_EQ(*g.sim.cvm().shown_status(id, g.now_ms), rebooting);
}

TEST_F(Cvm, FailedOperationsEndFaulty) {
    auto cfg = fixture::quiet_config();
    cfg.operations["StopInstances"] = {{millis(500), millis(500)}, 1.0};
    fixture g(cfg);
    auto id = g.sim.cvm().ids()[0];
    ASSERT_EQ(code(g.call("cvm", "StopInstances", ids_param({id}))), 0);
    g.advance(500);
    EXPECT_EQ(*g.sim.cvm().shown_status(id, g.now_ms), faulty);
}

TEST_F(Cvm, DurationsAreSampledWithinTheConfiguredRange) {
    auto cfg = fixture::quiet_config();
    cfg.default_operation.duration = {millis(100), millis(900)};
    cfg.instances = {50, 0};
    fixture g(cfg);
    auto all = g.sim.cvm().ids();
    ASSERT_EQ(code(g.call("cvm", "StopInstances", ids_param(all))), 0);
    g.advance(99);
    for (const auto& id : all) EXPECT_EQ(*g.sim.cvm().shown_status(id, g.now_ms), stopping);
    g.advance(400);
    int done = 0;
    for (const auto& id : all) done += *g.sim.cvm().shown_status(id, g.now_ms) == stopped;
    EXPECT_GT(done, 0);
    EXPECT_LT(done, 50);
    g.advance(401);
    for (const auto& id : all) EXPECT_EQ(*g.sim.cvm().shown_status(id, g.now_ms), stopped);
}

TEST_F(Cvm, DescribeInstancesPagesAndFilters) {
    auto page = f.call("cvm", "DescribeInstances", {{"offset", "4"}, {"limit", "100"}});
    EXPECT_EQ(page.at("totalCount").as_int64(), 6);
    EXPECT_EQ(page.at("instanceSet").as_array().size(), 2u);
    auto p = ids_param({ids[5], "ins-unknown1", ids[1]});
    auto filtered = f.call("cvm", "DescribeInstances", p);
    EXPECT_EQ(filtered.at("totalCount").as_int64(), 2);
    const auto& set = filtered.at("instanceSet").as_array();
    ASSERT_EQ(set.size(), 2u);
    EXPECT_EQ(set[0].at("unInstanceId").as_string(), ids[5]);
    EXPECT_EQ(set[0].at("status").as_int64(), stopped);
    EXPECT_EQ(code(f.call("cvm", "DescribeInstances", {{"limit", "101"}})), 4000);
    EXPECT_EQ(code(f.call("cvm", "DescribeInstances", {{"offset", "-1"}})), 4000);
}

TEST_F(Cvm, ResetRestoresTheInitialInstances) {
    ASSERT_EQ(code(f.call("cvm", "StopInstances", ids_param({ids[0]}))), 0);
    f.sim.reset();
    EXPECT_EQ(f.sim.cvm().ids(), ids);
    EXPECT_EQ(shown(ids[0]), running);
    EXPECT_EQ(f.sim.counters().executed(ids[0], "StopInstances"), 0);
}

}  // namespace
}  // namespace taskpoller::sim
