// daemon/reload_sequence.hpp: when a reload may start, what its report says, what is logged.
#include "daemon/reload_sequence.hpp"

#include <gtest/gtest.h>

namespace taskpoller::daemon {
namespace {

TEST(ReloadSequence, one_at_a_time_and_none_while_stopping) {
    reload_sequence s;
    EXPECT_EQ(s.begin(), std::nullopt);
    EXPECT_TRUE(s.running());
    EXPECT_EQ(s.begin(), "a reload is already running");
    config::daemon_config c;
    s.conclude(c, &c, {});
    EXPECT_FALSE(s.running());
    EXPECT_EQ(s.begin(), std::nullopt);
    s.conclude(c, &c, {});
    ASSERT_EQ(s.begin(), std::nullopt);
    s.abort();  // its I/O threw: the next reload may still run
    EXPECT_FALSE(s.running());
    EXPECT_EQ(s.begin(), std::nullopt);
    s.conclude(c, &c, {});
    s.stopping();
    EXPECT_EQ(s.begin(), "shutting down");
}

TEST(ReloadSequence, errors_refuse_the_whole_reload) {
    reload_sequence s;
    config::daemon_config c;
    ASSERT_FALSE(s.begin());
    auto r = s.conclude(c, nullptr, {"/etc/t.yaml:3:5: polling.interval: not a duration"});
    EXPECT_FALSE(r.applied);
    EXPECT_FALSE(s.running());
    ASSERT_FALSE(s.begin());
    auto loaded = c;
    loaded.control.socket = "/elsewhere.sock";
    r = s.conclude(c, &loaded, {"control.group: no such group"});  // a module refused
    EXPECT_FALSE(r.applied);
    EXPECT_TRUE(r.restart_required.empty());
    auto lines = reload_sequence::log_lines(r, "/etc/t.yaml");
    ASSERT_EQ(lines.size(), 2u);
    EXPECT_EQ(lines[0].first, core::log_level::error);
    EXPECT_EQ(lines[1].second, "  control.group: no such group");
}

TEST(ReloadSequence, restart_only_changes_are_applied_later_and_said_so) {
    reload_sequence s;
    config::daemon_config c;
    auto loaded = c;
    loaded.control.socket = "/elsewhere.sock";
    loaded.polling.interval = std::chrono::seconds(5);  // applies now: not listed
    ASSERT_FALSE(s.begin());
    auto r = s.conclude(c, &loaded, {});
    EXPECT_TRUE(r.applied);
    EXPECT_EQ(r.restart_required, std::vector<std::string>{"control.socket"});
    auto lines = reload_sequence::log_lines(r, "/etc/t.yaml");
    ASSERT_EQ(lines.size(), 2u);
    EXPECT_EQ(lines[0], (std::pair<core::log_level, std::string>{
                            core::log_level::info, "configuration reloaded from /etc/t.yaml"}));
    EXPECT_EQ(lines[1].first, core::log_level::warn);
    EXPECT_EQ(lines[1].second, "reload: control.socket changed; it takes effect after a restart");
}

// store.backend and store.postgres.* (issue 19): the store and its lease are set up once.
TEST(ReloadSequence, a_changed_postgres_node_waits_for_a_restart) {
    reload_sequence s;
    config::daemon_config c;
    c.store.backend = config::store_backend::postgres;
    c.store.postgres.conninfo_file = "/etc/taskpoller/pg.conninfo";
    c.store.postgres.node = "host-a";
    auto loaded = c;
    loaded.store.postgres.node = "host-b";
    ASSERT_FALSE(s.begin());
    auto r = s.conclude(c, &loaded, {});
    EXPECT_TRUE(r.applied);
    EXPECT_EQ(r.restart_required, std::vector<std::string>{"store.postgres.node"});
    auto lines = reload_sequence::log_lines(r, "/etc/t.yaml");
    ASSERT_EQ(lines.size(), 2u);
    EXPECT_EQ(lines[1].first, core::log_level::warn);
    EXPECT_EQ(lines[1].second,
              "reload: store.postgres.node changed; it takes effect after a restart");
}

}  // namespace
}  // namespace taskpoller::daemon
