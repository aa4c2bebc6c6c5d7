// store.backend and store.postgres.* (issue 19, docs/ha.md): defaults, each key, each error with
// its position, the journal/postgres conflict, /v1/config without secrets, and reload.

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <boost/json.hpp>
#include <string>

#include "config/json.hpp"
#include "config/loader.hpp"
#include "config/reload.hpp"
#include "helpers.hpp"

namespace taskpoller::config {
namespace {

using namespace std::chrono_literals;
using test::env_with_secrets;
using test::error_at;
using test::has_error;
using test::temp_dir;

load_result load(const std::string& text, std::optional<std::string> host = "host-a",
                 const environment* env = nullptr) {
    const auto secrets = env_with_secrets();
    load_options options;
    options.host_name = std::move(host);
    return load_string("cloud: {region: gz}\n" + text, "t.yaml", env ? *env : secrets, options);
}

std::shared_ptr<const daemon_config> load_ok(const std::string& text,
                                             std::optional<std::string> host = "host-a") {
    auto r = load(text, std::move(host));
    EXPECT_TRUE(r.ok()) << r.error_text();
    return r.config;
}

TEST(StoreBackend, defaults_to_the_journal) {
    auto c = load_ok("");
    ASSERT_TRUE(c);
    EXPECT_EQ(c->store.backend, store_backend::journal);
    EXPECT_EQ(c->store.postgres.conninfo_file, "");
    EXPECT_EQ(c->store.postgres.node, "");  // filled in only with backend postgres
    EXPECT_EQ(c->store.postgres.ledger, "default");
    EXPECT_EQ(c->store.postgres.lease_ttl, 10s);
    const auto j = to_json(*c).at("store");
    EXPECT_EQ(j.at("backend"), "journal");
    EXPECT_TRUE(j.at("postgres").is_null());
}

TEST(StoreBackend, reads_every_postgres_key) {
    // Line 1 is the cloud section load() puts first.
    auto c = load_ok(R"(store:
  backend: postgres
  postgres:
    conninfo_file: /etc/taskpoller/pg.conninfo
    node: db-node_2.example
    ledger: account-7
    lease_ttl: 15s
  retention: 2h
)");
    ASSERT_TRUE(c);
    EXPECT_EQ(c->store.backend, store_backend::postgres);
    EXPECT_EQ(c->store.postgres.conninfo_file, "/etc/taskpoller/pg.conninfo");
    EXPECT_EQ(c->store.postgres.node, "db-node_2.example");
    EXPECT_EQ(c->store.postgres.ledger, "account-7");
    EXPECT_EQ(c->store.postgres.lease_ttl, 15s);
    EXPECT_EQ(c->store.retention, 2h);
    EXPECT_EQ(c->store.journal, "");
    // The bounds themselves are accepted.
    auto low =
        load_ok("store: {backend: postgres, postgres: {conninfo_file: /p, lease_ttl: 1s, node: " +
                std::string(63, 'n') + ", ledger: L}}\n");
    ASSERT_TRUE(low);
    EXPECT_EQ(low->store.postgres.lease_ttl, 1s);
    EXPECT_EQ(low->store.postgres.node, std::string(63, 'n'));
    EXPECT_EQ(low->store.postgres.ledger, "L");
    auto high =
        load_ok("store: {backend: postgres, postgres: {conninfo_file: /p, lease_ttl: 5m}}\n");
    ASSERT_TRUE(high);
    EXPECT_EQ(high->store.postgres.lease_ttl, 5min);
    // `backend: journal` spelled out is the default.
    auto journal = load_ok("store: {backend: journal}\n");
    ASSERT_TRUE(journal);
    EXPECT_EQ(journal->store.backend, store_backend::journal);
}

TEST(StoreBackend, node_defaults_to_the_host_name) {
    auto c = load_ok("store: {backend: postgres, postgres: {conninfo_file: /p}}\n", "web-3.lan");
    ASSERT_TRUE(c);
    EXPECT_EQ(c->store.postgres.node, "web-3.lan");
    // Without an injected name: gethostname().
    char host[256] = {};
    ASSERT_EQ(::gethostname(host, sizeof host - 1), 0);
    auto real = load("store: {backend: postgres, postgres: {conninfo_file: /p}}\n", std::nullopt);
    if (std::string(host).size() <= 63) {
        ASSERT_TRUE(real.ok()) << real.error_text();
        EXPECT_EQ(real.config->store.postgres.node, host);
    } else {
        EXPECT_FALSE(real.ok());
    }
}

TEST(StoreBackend, unknown_backend_names_the_accepted_values) {
    auto r = load("store:\n  backend: sqlite\n");
    EXPECT_FALSE(r.ok());
    EXPECT_TRUE(
        has_error(r,
                  "t.yaml:3:12: store.backend: invalid value \"sqlite\"; expected one of: journal, "
                  "postgres"))
        << r.error_text();
}

TEST(StoreBackend, postgres_needs_a_conninfo_file) {
    // With a store.postgres section: reported where it starts.
    auto r = load("store:\n  backend: postgres\n  postgres:\n    node: a\n");
    EXPECT_FALSE(r.ok());
    EXPECT_EQ(error_at(r, 5, 5).to_string(),
              "t.yaml:5:5: store.postgres.conninfo_file: required with backend postgres: the "
              "file holding the libpq connection string");
    // Without one: at the backend.
    auto bare = load("store:\n  backend: postgres\n");
    EXPECT_FALSE(bare.ok());
    EXPECT_EQ(error_at(bare, 3, 12).path, "store.postgres.conninfo_file");
    EXPECT_EQ(bare.errors.size(), 1u) << bare.error_text();
    // With backend journal the section is accepted and unused.
    auto unused = load_ok("store:\n  postgres:\n    node: a\n    lease_ttl: 3s\n");
    ASSERT_TRUE(unused);
    EXPECT_EQ(unused->store.backend, store_backend::journal);
    EXPECT_EQ(unused->store.postgres.node, "a");
}

TEST(StoreBackend, each_invalid_key_is_reported_at_its_value) {
    auto r = load(R"(store:
  backend: postgres
  postgres:
    conninfo_file: pg.conninfo
    node: host/a
    ledger: "two words"
    lease_ttl: 500ms
    lease_tll: 10s
)");
    EXPECT_FALSE(r.ok());
    EXPECT_TRUE(
        has_error(r,
                  "t.yaml:5:20: store.postgres.conninfo_file: must be an absolute path, got "
                  "\"pg.conninfo\""))
        << r.error_text();
    EXPECT_TRUE(has_error(r,
                          "t.yaml:6:11: store.postgres.node: invalid name \"host/a\": expected "
                          "1-63 characters of A-Z a-z 0-9 . _ -"))
        << r.error_text();
    EXPECT_TRUE(has_error(r,
                          "t.yaml:7:13: store.postgres.ledger: invalid name \"two words\": "
                          "expected 1-63 characters of A-Z a-z 0-9 . _ -"))
        << r.error_text();
    EXPECT_TRUE(has_error(
        r,
        "t.yaml:8:16: store.postgres.lease_ttl: 500ms is out of range: must be between 1s "
        "and 5m"))
        << r.error_text();
    EXPECT_TRUE(has_error(
        r, "t.yaml:9:5: store.postgres.lease_tll: unknown key; did you mean \"lease_ttl\"?"))
        << r.error_text();
    EXPECT_EQ(r.errors.size(), 5u) << r.error_text();

    auto more = load(R"(store:
  backend: postgres
  postgres:
    conninfo_file: /p
    node: )" + std::string(64, 'n') +
                     R"(
    ledger: ""
    lease_ttl: 5m1s
)");
    EXPECT_FALSE(more.ok());
    EXPECT_NE(error_at(more, 6, 11).message.find("invalid name"), std::string::npos);
    EXPECT_EQ(error_at(more, 7, 13).message,
              "invalid name \"\": expected 1-63 characters of A-Z "
              "a-z 0-9 . _ -");
    EXPECT_EQ(error_at(more, 8, 16).message, "5m1s is out of range: must be between 1s and 5m");
    EXPECT_EQ(more.errors.size(), 3u) << more.error_text();
}

TEST(StoreBackend, a_host_name_that_is_no_node_name_asks_for_the_key) {
    auto r = load("store:\n  backend: postgres\n  postgres: {conninfo_file: /p}\n", "bad host!");
    EXPECT_FALSE(r.ok());
    EXPECT_EQ(error_at(r, 4, 13).to_string(),
              "t.yaml:4:13: store.postgres.node: the host name \"bad host!\" cannot be the default "
              "node name (expected 1-63 characters of A-Z a-z 0-9 . _ -); set "
              "store.postgres.node");
    // An explicit node makes the host name irrelevant; with backend journal it is never used.
    EXPECT_TRUE(
        load("store: {backend: postgres, postgres: {conninfo_file: /p, node: n1}}\n", "bad host!")
            .ok());
    EXPECT_TRUE(load("store: {postgres: {conninfo_file: /p}}\n", "bad host!").ok());
}

TEST(StoreBackend, an_explicit_journal_conflicts_with_postgres_but_the_default_does_not) {
    auto r =
        load("store:\n  backend: postgres\n  postgres: {conninfo_file: /p}\n  journal: /var/j\n");
    EXPECT_FALSE(r.ok());
    EXPECT_EQ(error_at(r, 5, 12).to_string(),
              "t.yaml:5:12: store.journal: store.journal is the journal backend's; with backend "
              "postgres the ledger is in PostgreSQL");
    EXPECT_EQ(r.errors.size(), 1u) << r.error_text();

    // `journal: ""` (no journal, as /v1/config shows it with backend postgres) agrees.
    auto empty = load("store: {backend: postgres, postgres: {conninfo_file: /p}, journal: \"\"}\n");
    EXPECT_TRUE(empty.ok()) << empty.error_text();

    // $STATE_DIRECTORY gives the journal a default path: not a conflict, and not used.
    auto env = env_with_secrets();
    env.set("STATE_DIRECTORY", "/var/lib/taskpoller");
    auto journal = load("", "h", &env);
    ASSERT_TRUE(journal.ok()) << journal.error_text();
    EXPECT_EQ(journal.config->store.journal, "/var/lib/taskpoller/taskpoller.journal");
    auto postgres = load("store: {backend: postgres, postgres: {conninfo_file: /p}}\n", "h", &env);
    ASSERT_TRUE(postgres.ok()) << postgres.error_text();
    EXPECT_EQ(postgres.config->store.journal, "");
}

TEST(StoreBackend, config_json_shows_the_path_never_the_conninfo) {
    temp_dir dir;
    const std::string password = "PgPassw0rdMustNotLeak";
    const auto conninfo = dir.write(
        "pg.conninfo", "host=db.example user=tp password=" + password + " dbname=tp\n", 0600);
    auto c = load_ok("store:\n  backend: postgres\n  postgres:\n    conninfo_file: " + conninfo +
                     "\n    node: n1\n    ledger: acct\n    lease_ttl: 1m30s\n");
    ASSERT_TRUE(c);
    const auto j = to_json(*c);
    const auto& p = j.at("store").at("postgres");
    EXPECT_EQ(j.at("store").at("backend"), "postgres");
    EXPECT_EQ(p.at("conninfo_file"), conninfo.c_str());
    EXPECT_EQ(p.at("node"), "n1");
    EXPECT_EQ(p.at("ledger"), "acct");
    EXPECT_EQ(p.at("lease_ttl"), "1m30s");
    const auto text = boost::json::serialize(j);
    EXPECT_EQ(text.find(password), std::string::npos);
    EXPECT_EQ(text.find("db.example"), std::string::npos);
    // The loader does not read the file (the daemon does, at start): a missing one loads.
    EXPECT_TRUE(load_ok("store: {backend: postgres, postgres: {conninfo_file: /nonexistent}}\n"));

    // The JSON view loads back to the same store settings.
    auto o = j.as_object();
    o.erase("credentials");
    o["cloud"].as_object().erase("connect_to");
    auto env = env_with_secrets();
    auto again = load_string(boost::json::serialize(o), "json.yaml", env);
    ASSERT_TRUE(again.ok()) << again.error_text();
    EXPECT_EQ(boost::json::serialize(to_json(*again.config).at("store")),
              boost::json::serialize(j.at("store")));
}

TEST(StoreBackend, every_key_needs_a_restart) {
    const std::string base = "store:\n  backend: postgres\n  postgres:\n    conninfo_file: /p\n";
    auto a = load_ok(base + "    node: n1\n");
    auto renamed = load_ok(base + "    node: n2\n");
    ASSERT_TRUE(a && renamed);
    EXPECT_EQ(diff_requires_restart(*a, *renamed), std::vector<std::string>{"store.postgres.node"});
    const auto applied = apply_reloadable(*a, *renamed);
    EXPECT_EQ(applied.store.postgres.node, "n1");
    EXPECT_TRUE(diff_requires_restart(*a, applied).empty());

    auto others = load_ok(
        "store:\n  backend: postgres\n  postgres:\n    conninfo_file: /q\n    node: n1\n    "
        "ledger: other\n    lease_ttl: 20s\n");
    ASSERT_TRUE(others);
    EXPECT_EQ(diff_requires_restart(*a, *others),
              (std::vector<std::string>{"store.postgres.conninfo_file", "store.postgres.ledger",
                                        "store.postgres.lease_ttl"}));

    auto journal = load_ok("");
    ASSERT_TRUE(journal);
    const auto switched = diff_requires_restart(*journal, *a);
    EXPECT_NE(std::find(switched.begin(), switched.end(), "store.backend"), switched.end());
    EXPECT_EQ(apply_reloadable(*journal, *a).store.backend, store_backend::journal);
}

}  // namespace
}  // namespace taskpoller::config
