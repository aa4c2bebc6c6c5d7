#include "support/pg_cluster.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <pwd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <stdexcept>

namespace taskpoller::testing {

namespace {

// A plain array, not a std::string: a static initializer of another file may start a cluster.
constexpr char pg_bin_dir[] = "/usr/lib/postgresql/15/bin/";
std::string pg_bin_path(const char* program) {
    return std::string(pg_bin_dir) + program;
}

std::string read_all(const std::string& path) {
    std::ifstream in(path);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

std::chrono::milliseconds since(std::chrono::steady_clock::time_point t) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                                 t);
}

// A string literal for SQL ('' doubled).
std::string sql_literal(const std::string& s) {
    std::string out = "'";
    for (char c : s) {
        if (c == '\'') out += '\'';
        out += c;
    }
    return out + "'";
}

}  // namespace

pg_cluster::pg_cluster(bool durable) : durable_(durable) {
    char tmpl[] = "/tmp/tp-pg-XXXXXX";
    if (::mkdtemp(tmpl) == nullptr) throw std::runtime_error("pg_cluster: mkdtemp failed");
    dir_ = tmpl;
    as_postgres_ = ::geteuid() == 0;
    if (as_postgres_) {
        const passwd* pw = ::getpwnam("postgres");
        if (pw == nullptr || ::chown(dir_.c_str(), pw->pw_uid, pw->pw_gid) != 0) {
            std::filesystem::remove_all(dir_);
            throw std::runtime_error("pg_cluster: running as root and no usable user postgres");
        }
    }
    start_watchdog();
    auto t0 = std::chrono::steady_clock::now();
    std::string out;
    int rc = run(pg_bin_path("initdb"),
                 {"-D", dir_ + "/data", "--auth=trust", "--username=postgres", "--encoding=UTF8",
                  "--locale=C", "--no-sync", "--no-instructions"},
                 out);
    if (rc != 0) {
        std::filesystem::remove_all(dir_);
        throw std::runtime_error("pg_cluster: initdb failed: " + out);
    }
    initdb_time_ = since(t0);
    auto t1 = std::chrono::steady_clock::now();
    start();
    start_time_ = since(t1);
}

pg_cluster::~pg_cluster() {
    if (running_) stop("immediate");
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
    if (watchdog_fd_ >= 0) {
        // Cleaned up: tell the watchdog it has nothing to do.
        [[maybe_unused]] auto n = ::write(watchdog_fd_, "done\n", 5);
        ::close(watchdog_fd_);
    }
    if (watchdog_ > 0) ::waitpid(watchdog_, nullptr, 0);
}

void pg_cluster::start_watchdog() {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error("pg_cluster: pipe failed");
    // Everything the child needs is built before fork: between fork and exec only
    // async-signal-safe calls.
    std::string script =
        "read -r line; [ \"$line\" = done ] && exit 0; "
        "if [ \"$3\" = 1 ]; then runuser -u postgres -- \"$1\" -D \"$2/data\" stop -m immediate; "
        "else \"$1\" -D \"$2/data\" stop -m immediate; fi; rm -rf \"$2\"";
    std::string ctl = pg_bin_path("pg_ctl");
    std::string root = as_postgres_ ? "1" : "0";
    const char* argv[] = {"/bin/sh",   "-c",         script.c_str(), "pg-watchdog",
                          ctl.c_str(), dir_.c_str(), root.c_str(),   nullptr};
    pid_t pid = ::fork();
    if (pid < 0) throw std::runtime_error("pg_cluster: fork failed");
    if (pid == 0) {
        ::setsid();  // out of the test's process group: a group kill must not take it along
        ::dup2(fds[0], 0);
        int null = ::open("/dev/null", O_WRONLY);
        ::dup2(null, 1);
        ::dup2(null, 2);
        ::execv(argv[0], const_cast<char* const*>(argv));
        ::_exit(127);
    }
    ::close(fds[0]);
    watchdog_ = pid;
    watchdog_fd_ = fds[1];
}

int pg_cluster::run(const std::string& program, const std::vector<std::string>& args,
                    std::string& output) const {
    std::vector<std::string> all;
    if (as_postgres_) all = {"/usr/sbin/runuser", "-u", "postgres", "--"};
    all.push_back(program);
    all.insert(all.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& a : all) argv.push_back(a.data());
    argv.push_back(nullptr);
    char out_tmpl[] = "/tmp/tp-pg-out-XXXXXX";
    int out = ::mkstemp(out_tmpl);
    if (out < 0) throw std::runtime_error("pg_cluster: mkstemp failed");
    pid_t pid = ::fork();
    if (pid < 0) throw std::runtime_error("pg_cluster: fork failed");
    if (pid == 0) {
        ::dup2(out, 1);
        ::dup2(out, 2);
        ::close(out);  // the server pg_ctl starts must not keep it
        int null = ::open("/dev/null", O_RDONLY);
        ::dup2(null, 0);
        ::close(null);
        ::execv(argv[0], argv.data());
        ::_exit(127);
    }
    ::close(out);
    int status = 0;
    ::waitpid(pid, &status, 0);
    output = read_all(out_tmpl);
    ::unlink(out_tmpl);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

void pg_cluster::start() {
    // Only the Unix socket in dir_ (no TCP), no fsync: a test cluster is thrown away (unless a
    // benchmark asked for a durable one).
    std::string options =
        "-c listen_addresses='' -c unix_socket_directories='" + dir_ + "'" +
        (durable_ ? " -c fsync=on -c synchronous_commit=on -c full_page_writes=on"
                  : " -c fsync=off -c synchronous_commit=off -c full_page_writes=off");
    std::string out;
    int rc = run(
        pg_bin_path("pg_ctl"),
        {"-D", dir_ + "/data", "-l", dir_ + "/log", "-o", options, "-w", "-t", "60", "start"}, out);
    if (rc != 0) {
        throw std::runtime_error("pg_cluster: pg_ctl start failed: " + out + "\n" +
                                 read_all(dir_ + "/log"));
    }
    running_ = true;
}

void pg_cluster::stop(const std::string& mode) {
    std::string out;
    int rc = run(pg_bin_path("pg_ctl"), {"-D", dir_ + "/data", "-m", mode, "-w", "stop"}, out);
    running_ = false;
    if (rc != 0) throw std::runtime_error("pg_cluster: pg_ctl stop failed: " + out);
}

std::string pg_cluster::conninfo(const std::string& db) const {
    return "host=" + dir_ + " port=5432 user=postgres dbname=" + db;
}

std::string pg_cluster::psql(const std::string& db, const std::string& sql) const {
    std::string out;
    int rc = run(pg_bin_path("psql"),
                 {"-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h", dir_, "-U", "postgres",
                  "-d", db, "-c", sql},
                 out);
    if (rc != 0) throw std::runtime_error("psql failed (" + sql + "): " + out);
    while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
    return out;
}

std::string pg_cluster::create_database(const std::string& hint) {
    std::string name = "t" + std::to_string(++databases_) + "_";
    for (char c : hint) {
        if (name.size() >= 60) break;
        name +=
            std::isalnum(static_cast<unsigned char>(c)) ? static_cast<char>(std::tolower(c)) : '_';
    }
    psql("postgres", "CREATE DATABASE " + name);
    return name;
}

int pg_cluster::terminate_backends(const std::string& db) const {
    auto n = psql("postgres",
                  "SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                  "WHERE datname = " +
                      sql_literal(db) + " AND pid <> pg_backend_pid()) t");
    return std::stoi(n);
}

bool pg_cluster::terminate_backend(int pid) const {
    return psql("postgres", "SELECT pg_terminate_backend(" + std::to_string(pid) + ")") == "t";
}

namespace {

std::unique_ptr<pg_cluster>& cluster_slot() {
    static std::unique_ptr<pg_cluster> cluster;
    return cluster;
}

// Stops the shared cluster once all tests ran.
class pg_environment : public ::testing::Environment {
  public:
    void TearDown() override { cluster_slot().reset(); }
};

[[maybe_unused]] const auto* const environment =
    ::testing::AddGlobalTestEnvironment(new pg_environment);

}  // namespace

pg_cluster& shared_pg_cluster() {
    auto& c = cluster_slot();
    if (!c) {
        c = std::make_unique<pg_cluster>();
        std::fprintf(stderr, "pg_cluster: %s: initdb %lld ms, start %lld ms\n", c->dir().c_str(),
                     static_cast<long long>(c->initdb_time().count()),
                     static_cast<long long>(c->start_time().count()));
    }
    return *c;
}

}  // namespace taskpoller::testing
