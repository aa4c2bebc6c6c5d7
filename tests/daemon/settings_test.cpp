// daemon/settings.cpp maps the configuration onto the engine. One set of polling defaults
// (core/polling_defaults.hpp): a configuration without a `polling` section gives the engine
// exactly the engine's own defaults.
#include "daemon/settings.hpp"

#include <gtest/gtest.h>

#include "engine/registry.hpp"
#include "engine/scheduler.hpp"

namespace taskpoller::daemon {
namespace {

TEST(Settings, default_polling_configuration_is_the_engines_default_policy) {
    config::daemon_config c;
    c.cloud.region = "ap-guangzhou";
    auto t = tracker_settings(c);
    ASSERT_TRUE(t) << t.error().message;
    const engine::poll_policy engine_default;
    const auto& poll = t->polling.schedule.poll;
    EXPECT_EQ(poll.initial_delay, engine_default.initial_delay);
    EXPECT_EQ(poll.interval, engine_default.interval);
    EXPECT_EQ(poll.multiplier, engine_default.multiplier);
    EXPECT_EQ(poll.max_interval, engine_default.max_interval);
    EXPECT_EQ(poll.jitter, engine_default.jitter);
    EXPECT_EQ(poll.timeout, engine_default.timeout);
    EXPECT_EQ(t->polling.retry.not_found_checks, engine::retry_options{}.not_found_checks);
    EXPECT_EQ(t->polling.cvm.not_found_checks, engine::cvm_options{}.not_found_checks);
    auto stop = t->services.find_action("cvm", "StopInstances");
    ASSERT_TRUE(stop);
    EXPECT_EQ((*stop)->cvm->settle_delay, engine::cvm_rule{}.settle_delay);
}

}  // namespace
}  // namespace taskpoller::daemon
