// logging: lines as written to a real descriptor, journald detection via JOURNAL_STREAM,
// run-time level changes reaching loggers already handed out.
#include "daemon/logging.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <spdlog/logger.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/json/parse.hpp>
#include <fstream>

#include "test_util.hpp"

namespace td = taskpoller::daemon;
using taskpoller::core::log_level;

namespace {

// A temporary file to log into, read back line by line.
struct log_file {
    daemon_test::temp_dir dir;
    std::string path = (dir.path() / "log").string();
    int fd = ::open(path.c_str(), O_CREAT | O_WRONLY | O_APPEND | O_CLOEXEC, 0600);
    ~log_file() { ::close(fd); }

    std::vector<std::string> lines() const {
        std::ifstream in(path);
        std::vector<std::string> out;
        for (std::string l; std::getline(in, l);) out.push_back(l);
        return out;
    }
    std::string journal_stream() const {
        struct stat st {};
        ::fstat(fd, &st);
        return std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino);
    }
};

// `shape`: '#' stands for any digit, every other character for itself.
bool matches_shape(std::string_view s, std::string_view shape) {
    if (s.size() != shape.size()) return false;
    for (std::size_t i = 0; i < s.size(); ++i) {
        bool ok = shape[i] == '#' ? (s[i] >= '0' && s[i] <= '9') : s[i] == shape[i];
        if (!ok) return false;
    }
    return true;
}

}  // namespace

TEST(JournalStreamMatches, dev_and_inode) {
    log_file f;
    EXPECT_TRUE(td::journal_stream_matches(f.journal_stream(), f.fd));
    log_file other;
    EXPECT_FALSE(td::journal_stream_matches(other.journal_stream(), f.fd));
    for (const char* bad : {"", "1", ":", "1:", ":2", "a:b", "1:2:3", "-1:5"}) {
        EXPECT_FALSE(td::journal_stream_matches(bad, f.fd)) << bad;
    }
    EXPECT_FALSE(td::journal_stream_matches(f.journal_stream(), 1000)) << "closed fd";
}

TEST(Logging, journald_mode_detected_from_environment) {
    log_file f;
    daemon_test::scoped_env js("JOURNAL_STREAM", f.journal_stream());
    td::logging l({}, f.fd);
    EXPECT_TRUE(l.journal());
    auto log = l.get();
    log.error("cannot reach {}", "cvm.api.qcloud.com");
    log.warn("slow");
    log.info("serving");
    log.debug("hidden at info");
    EXPECT_EQ(f.lines(), (std::vector<std::string>{"<3>cannot reach cvm.api.qcloud.com", "<4>slow",
                                                   "<6>serving"}));
}

TEST(Logging, text_mode_when_stream_differs) {
    log_file f, elsewhere;
    daemon_test::scoped_env js("JOURNAL_STREAM", elsewhere.journal_stream());
    td::logging l({}, f.fd);
    EXPECT_FALSE(l.journal());
    l.get().info("two\nlines");
    auto lines = f.lines();
    ASSERT_EQ(lines.size(), 1u);
    EXPECT_TRUE(matches_shape(lines[0], "####-##-##T##:##:##.###Z info  two\\nlines")) << lines[0];
}

TEST(Logging, json_mode_with_fields) {
    log_file f;
    td::log_options o;
    o.format = td::log_format::json;
    o.fields = {{"instance", "acct1"}};
    td::logging l(o, f.fd, false);
    l.get().warn("quote \" and tab\t");
    auto lines = f.lines();
    ASSERT_EQ(lines.size(), 1u);
    auto v = boost::json::parse(lines[0]).as_object();
    EXPECT_EQ(v.at("level").as_string(), "warn");
    EXPECT_EQ(v.at("msg").as_string(), "quote \" and tab\t");
    EXPECT_EQ(v.at("instance").as_string(), "acct1");
    EXPECT_TRUE(v.at("ts").is_string());
}

TEST(Logging, level_change_reaches_existing_loggers) {
    log_file f;
    td::logging l({}, f.fd, true);
    auto log = l.get();  // copied before the change, as library objects hold them
    log.debug("d1");
    l.apply({log_level::debug, td::log_format::text, {}});
    log.debug("d2");
    l.apply({log_level::error, td::log_format::text, {}});
    log.warn("w");
    log.error("e");
    EXPECT_EQ(f.lines(), (std::vector<std::string>{"<7>d2", "<3>e"}));
}

TEST(Logging, format_change_at_runtime_and_spdlog_access) {
    log_file f;
    td::logging l({}, f.fd, true);
    l.spd()->info("from spdlog");
    l.apply({log_level::info, td::log_format::json, {}});
    l.get().info("now json");
    auto lines = f.lines();
    ASSERT_EQ(lines.size(), 2u);
    EXPECT_EQ(lines[0], "<6>from spdlog");
    ASSERT_EQ(lines[1].rfind("<6>{", 0), 0u) << lines[1];
    EXPECT_EQ(boost::json::parse(lines[1].substr(3)).as_object().at("msg").as_string(), "now json");
}
