// The ledger schema is data (lib/ledger/schema.hpp); these tests keep it well-formed without a
// database: versions strictly increasing from 1, one non-empty statement per entry (the
// extended protocol refuses several), every table the design names created once.
#include "ledger/schema.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <set>
#include <string>

namespace taskpoller::ledger {
namespace {

bool blank(std::string_view s) {
    return std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isspace(c); });
}

// Outside single-quoted literals: no semicolon (one statement each).
// No ';' outside quotes: '...' strings and $tag$...$tag$ bodies (a function's).
bool single_statement(std::string_view s) {
    bool quoted = false;
    for (std::size_t i = 0; i < s.size(); ++i) {
        char c = s[i];
        if (!quoted && c == '$' && i + 1 < s.size() &&
            (s[i + 1] == '$' || std::isalpha(static_cast<unsigned char>(s[i + 1])) ||
             s[i + 1] == '_')) {  // not $1: a parameter
            auto close = s.find('$', i + 1);
            if (close == std::string_view::npos) return false;
            auto tag = s.substr(i, close - i + 1);
            auto end = s.find(tag, close + 1);
            if (end == std::string_view::npos) return false;
            i = end + tag.size() - 1;
            continue;
        }
        if (c == '\'') quoted = !quoted;
        if (c == ';' && !quoted) return false;
    }
    return !quoted;
}

std::string created_table(std::string_view s) {
    constexpr std::string_view prefix = "CREATE TABLE ";
    if (s.substr(0, prefix.size()) != prefix) return {};
    s.remove_prefix(prefix.size());
    return std::string(s.substr(0, s.find_first_of(" (")));
}

TEST(LedgerSchema, versions_increase_strictly_from_one) {
    const auto ms = migrations();
    ASSERT_FALSE(ms.empty());
    EXPECT_EQ(ms.front().version, 1);
    for (std::size_t i = 1; i < ms.size(); ++i)
        EXPECT_GT(ms[i].version, ms[i - 1].version) << "migration " << i;
    EXPECT_EQ(latest_schema_version(), ms.back().version);
}

TEST(LedgerSchema, every_statement_is_one_non_empty_statement) {
    std::vector<std::string_view> all{
        bootstrap_statement,   record_version_statement, current_version_statement,
        lease_sql::ensure_row, lease_sql::acquire,       lease_sql::renew,
        lease_sql::read,       lease_sql::release,       lease_sql::fence};
    for (const migration& m : migrations()) {
        EXPECT_FALSE(blank(m.description)) << m.version;
        EXPECT_FALSE(m.statements.empty()) << m.version;
        for (std::string_view s : m.statements) all.push_back(s);
    }
    for (std::string_view s : all) {
        EXPECT_FALSE(blank(s));
        EXPECT_TRUE(single_statement(s)) << s;
    }
}

TEST(LedgerSchema, creates_each_table_once) {
    std::multiset<std::string> tables;
    for (const migration& m : migrations())
        for (std::string_view s : m.statements)
            if (auto t = created_table(s); !t.empty()) tables.insert(t);
    for (const char* t :
         {"tp_lease", "tp_changes", "tp_ledger_state", "tp_batches", "tp_tasks", "tp_intents"})
        EXPECT_EQ(tables.count(t), 1u) << t;
    EXPECT_EQ(tables.size(), 6u);
    EXPECT_NE(bootstrap_statement.find("IF NOT EXISTS tp_schema_version"), std::string::npos);
}

TEST(LedgerSchema, the_lease_statements_use_the_database_clock_and_check_the_epoch) {
    // Times come from now() only: no client-supplied timestamp parameter.
    EXPECT_NE(lease_sql::acquire.find("epoch = epoch + 1"), std::string::npos);
    EXPECT_NE(lease_sql::acquire.find("expires_at <= now() OR holder = $2"), std::string::npos);
    EXPECT_EQ(lease_sql::renew.find("epoch + 1"), std::string::npos);
    EXPECT_NE(lease_sql::renew.find("epoch = $3"), std::string::npos);
    EXPECT_NE(lease_sql::fence.find("expires_at > now() FOR SHARE"), std::string::npos);
    // Never shortens the expiry (a late statement with an older, shorter ttl).
    for (std::string_view s : {lease_sql::acquire, lease_sql::renew})
        EXPECT_NE(s.find("expires_at = greatest(expires_at, now() + $"), std::string::npos) << s;
    for (std::string_view s : {lease_sql::acquire, lease_sql::renew})
        EXPECT_NE(s.find("RETURNING epoch, expires_at, now()"), std::string::npos) << s;
}

}  // namespace
}  // namespace taskpoller::ledger
