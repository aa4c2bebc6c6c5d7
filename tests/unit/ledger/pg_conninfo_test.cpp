// The connection string's file and its redacted form (ledger/pg_conninfo.hpp).
#include "ledger/pg_conninfo.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>

namespace taskpoller::ledger {
namespace {

// A file with `text`, removed at the end of the test.
class temp_file {
  public:
    explicit temp_file(const std::string& text) {
        char tmpl[] = "/tmp/tp-conninfo-XXXXXX";
        int fd = ::mkstemp(tmpl);
        EXPECT_GE(fd, 0);
        ::close(fd);
        path_ = tmpl;
        std::ofstream(path_) << text;
    }
    ~temp_file() { std::remove(path_.c_str()); }
    const std::string& path() const { return path_; }

  private:
    std::string path_;
};

TEST(Conninfo, RedactHidesThePassword) {
    auto r = redact_conninfo("host=/run/postgresql dbname=tp user=taskpoller password=s3cr3t");
    EXPECT_EQ(r.find("s3cr3t"), std::string::npos) << r;
    EXPECT_NE(r.find("password=********"), std::string::npos) << r;
    EXPECT_NE(r.find("host=/run/postgresql"), std::string::npos) << r;
    EXPECT_NE(r.find("dbname=tp"), std::string::npos) << r;
    EXPECT_NE(r.find("user=taskpoller"), std::string::npos) << r;
}

TEST(Conninfo, RedactHidesAPasswordInAUri) {
    auto r = redact_conninfo("postgresql://tp:hunter2@db.example:5433/ledger?sslmode=require");
    EXPECT_EQ(r.find("hunter2"), std::string::npos) << r;
    EXPECT_NE(r.find("password=********"), std::string::npos) << r;
    EXPECT_NE(r.find("host=db.example"), std::string::npos) << r;
    EXPECT_NE(r.find("port=5433"), std::string::npos) << r;
    EXPECT_NE(r.find("sslmode=require"), std::string::npos) << r;
}

TEST(Conninfo, RedactQuotesValuesAndNeverEchoesAnInvalidString) {
    auto r = redact_conninfo(R"(dbname='my ledger' application_name='it\'s' password='a b')");
    EXPECT_NE(r.find("dbname='my ledger'"), std::string::npos) << r;
    EXPECT_NE(r.find(R"(application_name='it\'s')"), std::string::npos) << r;
    EXPECT_EQ(r.find("a b"), std::string::npos) << r;
    // What it prints reads back as the same options.
    EXPECT_EQ(redact_conninfo(r), r);
    EXPECT_EQ(redact_conninfo("password=abc nonsense_option=1"), "(invalid connection string)");
    EXPECT_EQ(redact_conninfo("password='unterminated"), "(invalid connection string)");
    EXPECT_EQ(redact_conninfo("host=a"), "host=a");
}

TEST(Conninfo, FileIsReadAndTrimmed) {
    temp_file f("  host=/tmp dbname=tp password=pw  \n\n");
    auto r = read_conninfo_file(f.path());
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(*r, "host=/tmp dbname=tp password=pw");
}

TEST(Conninfo, FileErrorsNameThePathNotTheContent) {
    auto missing = read_conninfo_file("/nonexistent/pg.conninfo");
    ASSERT_FALSE(missing);
    EXPECT_NE(missing.error().message.find("/nonexistent/pg.conninfo"), std::string::npos);

    temp_file empty(" \n");
    auto e = read_conninfo_file(empty.path());
    ASSERT_FALSE(e);
    EXPECT_NE(e.error().message.find("empty"), std::string::npos) << e.error().message;

    temp_file bad("host=/tmp password=topsecret bogus_key=1");
    auto b = read_conninfo_file(bad.path());
    ASSERT_FALSE(b);
    EXPECT_NE(b.error().message.find(bad.path()), std::string::npos);
    EXPECT_EQ(b.error().message.find("topsecret"), std::string::npos) << b.error().message;
}

}  // namespace
}  // namespace taskpoller::ledger
