// load_string/load_file and the small sections (polling, rate_limit, control, store, logging).

#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/parser.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <optional>
#include <sstream>
#include <vector>

#include "config/groups.hpp"
#include "config/redact.hpp"
#include "config/sections.hpp"

namespace taskpoller::config {
namespace detail {

using namespace std::chrono_literals;

map_reader section(map_reader& parent, std::string_view key, bool hide_unknown_names) {
    auto node = parent.get(key);
    return map_reader(parent.ctx(), node ? *node : YAML::Node(), parent.child(key),
                      parent.mark_of(key), hide_unknown_names);
}

std::optional<std::string> systemd_directory(const environment& env, std::string_view name) {
    auto value = env.get(name);
    if (!value || value->empty()) return std::nullopt;
    std::string first = value->substr(0, value->find(':'));
    if (first.empty() || first.front() != '/') return std::nullopt;
    while (first.size() > 1 && first.back() == '/') first.pop_back();
    return first;
}

void read_polling(map_reader& root, polling_config& out) {
    auto m = section(root, "polling");
    read_duration(m, "initial_delay", out.initial_delay, 0ms, 24h);
    const bool has_interval = read_duration(m, "interval", out.interval, 10ms, 24h);
    read_double(m, "multiplier", out.multiplier, 1.0, 10.0, false);
    const bool has_max = read_duration(m, "max_interval", out.max_interval, 10ms, 24h);
    read_enum(m, "jitter", out.jitter, {{"full", jitter_kind::full}, {"none", jitter_kind::none}});
    read_duration(m, "timeout", out.timeout, 1s, 24h * 30);
    read_uint(m, "not_found_checks", out.not_found_checks, 1u, 1000u);
    read_duration(m, "settle_delay", out.settle_delay, 0ms, 1h);
    read_duration(m, "min_interval", out.min_interval, 10ms, 24h);
    if (out.max_interval < out.interval) {
        // Point at whichever of the two the file sets (max_interval when both are).
        const auto key = has_max || !has_interval ? "max_interval" : "interval";
        m.ctx().error(
            m.mark_of(key), m.child(key),
            fmt::format("max_interval ({}) must be at least interval ({})",
                        format_duration(out.max_interval), format_duration(out.interval)));
    }
    m.finish();
}

void read_rate_limit(map_reader& root, rate_limit_config& out) {
    auto m = section(root, "rate_limit");
    read_double(m, "default", out.default_rate, 0.0, 100'000.0, true);
    read_double(m, "burst", out.burst, 1.0, 100'000.0, false);
    m.finish();
}

// admin_uids and admin_groups: sequences whose every element is checked and reported.
void read_admin_lists(map_reader& m, control_config& out) {
    if (auto node = m.get("admin_uids")) {
        out.admin_uids.clear();
        if (!node->IsSequence()) {
            m.ctx().error(node->Mark(), m.child("admin_uids"),
                          fmt::format("expected a sequence of user ids, got {}", describe(*node)));
        } else {
            for (std::size_t i = 0; i < node->size(); ++i) {
                auto path = fmt::format("{}[{}]", m.child("admin_uids"), i);
                if (auto v = int_value(m.ctx(), (*node)[i], path, 0, 4'294'967'294)) {
                    out.admin_uids.push_back(static_cast<std::uint32_t>(*v));
                }
            }
        }
    }
    if (auto node = m.get("admin_groups")) {
        out.admin_groups.clear();
        if (!node->IsSequence()) {
            m.ctx().error(
                node->Mark(), m.child("admin_groups"),
                fmt::format("expected a sequence of group names, got {}", describe(*node)));
        } else {
            for (std::size_t i = 0; i < node->size(); ++i) {
                auto path = fmt::format("{}[{}]", m.child("admin_groups"), i);
                auto v = scalar_value(m.ctx(), (*node)[i], path, "a group name");
                if (v && v->empty())
                    m.ctx().error((*node)[i].Mark(), path, "must not be empty");
                else if (v)
                    out.admin_groups.push_back(std::move(*v));
            }
        }
    }
}

void read_control(map_reader& root, control_config& out) {
    auto m = section(root, "control");
    const auto runtime = systemd_directory(m.ctx().env, "RUNTIME_DIRECTORY");
    out.socket = runtime ? *runtime + "/taskpoller.sock" : "/run/taskpoller/taskpoller.sock";
    read_string(m, "socket", out.socket, string_rule::absolute_path);
    if (out.socket.size() > 107) {  // sizeof(sockaddr_un::sun_path) - 1 on Linux
        m.ctx().error(m.mark_of("socket"), m.child("socket"),
                      fmt::format("a Unix socket path can be at most 107 bytes, this one is {}",
                                  out.socket.size()));
    }
    if (auto node = m.get("mode")) {
        if (auto text =
                scalar_value(m.ctx(), *node, m.child("mode"), "an octal mode like \"0660\"")) {
            auto mode = parse_file_mode(*text);
            if (mode)
                out.mode = *mode;
            else
                m.ctx().error(node->Mark(), m.child("mode"), mode.error().message);
        }
    }
    read_string(m, "group", out.group, string_rule::any);
    if (auto g = check_group_exists(out.group); !out.group.empty() && !g)
        m.ctx().error(m.mark_of("group"), m.child("group"), g.error().message);
    read_admin_lists(m, out);
    read_uint(m, "max_connections", out.max_connections, 1u, 65'535u);
    out.max_connections_per_uid = std::max(1u, out.max_connections / 4);
    read_uint(m, "max_connections_per_uid", out.max_connections_per_uid, 1u, 65'535u);
    read_uint(m, "admin_reserved_connections", out.admin_reserved_connections, 0u, 65'535u);
    read_uint(m, "max_waiters", out.max_waiters, 1u, 65'535u);
    read_size(m, "max_body", out.max_body, 1ULL << 10, 1ULL << 30);
    read_duration(m, "header_timeout", out.header_timeout, 1ms, 1h);
    read_duration(m, "request_timeout", out.request_timeout, 1ms, 1h);
    read_duration(m, "max_wait", out.max_wait, 1s, 24h);
    m.finish();
}

namespace {

// A node or ledger name: stored in the ledger, shown in status and used in the lease holder
// ("node/incarnation", docs/ha.md), so short and free of separators.
bool is_ledger_name(std::string_view s) {
    if (s.empty() || s.size() > 63) return false;
    return std::all_of(s.begin(), s.end(), [](char c) {
        return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
               c == '.' || c == '_' || c == '-';
    });
}

constexpr std::string_view ledger_name_rule = "1-63 characters of A-Z a-z 0-9 . _ -";

bool read_ledger_name(map_reader& m, std::string_view key, std::string& out) {
    std::string value;
    if (!read_string(m, key, value, string_rule::any)) return false;
    if (!is_ledger_name(value)) {
        m.ctx().error(m.mark_of(key), m.child(key),
                      fmt::format("invalid name \"{}\": expected {}", value, ledger_name_rule));
        return false;
    }
    out = std::move(value);
    return true;
}

std::string host_name(const load_options& options) {
    if (options.host_name) return *options.host_name;
    char buf[256] = {};
    if (::gethostname(buf, sizeof buf - 1) != 0) return {};
    return buf;
}

// store.postgres; `used`: backend postgres (the required key and the node default apply).
void read_store_postgres(map_reader& store, postgres_store_config& out, bool used) {
    auto m = section(store, "postgres");
    const bool has_conninfo = m.get("conninfo_file").has_value();
    read_string(m, "conninfo_file", out.conninfo_file, string_rule::absolute_path);
    const bool has_node = m.get("node").has_value();
    read_ledger_name(m, "node", out.node);
    read_ledger_name(m, "ledger", out.ledger);
    read_duration(m, "lease_ttl", out.lease_ttl, 1s, 5min);
    m.finish();
    if (!used || !m.is_mapping()) return;
    // Missing keys are reported where the section is, or at `backend` when there is none.
    const YAML::Mark at = store.get("postgres") ? m.mark() : store.mark_of("backend");
    if (!has_conninfo) {
        m.ctx().error(at, m.child("conninfo_file"),
                      "required with backend postgres: the file holding the libpq connection "
                      "string");
    }
    if (!has_node) {
        out.node = host_name(m.ctx().options);
        if (!is_ledger_name(out.node)) {
            m.ctx().error(at, m.child("node"),
                          fmt::format("the host name \"{}\" cannot be the default node name "
                                      "(expected {}); set store.postgres.node",
                                      out.node, ledger_name_rule));
        }
    }
}

}  // namespace

void read_store(map_reader& root, store_config& out) {
    auto m = section(root, "store");
    read_enum(m, "backend", out.backend,
              {{"journal", store_backend::journal}, {"postgres", store_backend::postgres}});
    const bool postgres = out.backend == store_backend::postgres;
    read_store_postgres(m, out.postgres, postgres);
    if (auto state = systemd_directory(m.ctx().env, "STATE_DIRECTORY")) {
        out.journal = *state + "/taskpoller.journal";
    }
    read_duration(m, "retention", out.retention, 0ms, 24h * 3650);
    read_uint(m, "max_finished", out.max_finished, 0, 1'000'000'000);
    const bool journal_set =
        read_string(m, "journal", out.journal, string_rule::absolute_path_or_empty) &&
        !out.journal.empty();
    read_enum(m, "durability", out.durability,
              {{"strict", durability_kind::strict}, {"relaxed", durability_kind::relaxed}});
    read_size(m, "snapshot_size", out.snapshot_size, 64ULL << 10, 64ULL << 30);
    m.finish();
    if (postgres) {
        // The default ($STATE_DIRECTORY) is not a choice the file made, and `journal: ""` (no
        // journal, as /v1/config shows it) agrees with the backend: only an explicit path is.
        if (journal_set) {
            m.ctx().error(m.mark_of("journal"), m.child("journal"),
                          "store.journal is the journal backend's; with backend postgres the "
                          "ledger is in PostgreSQL");
        }
        out.journal.clear();
    }
}

void read_logging(map_reader& root, logging_config& out) {
    auto m = section(root, "logging");
    read_enum(m, "level", out.level,
              {{"trace", log_level::trace},
               {"debug", log_level::debug},
               {"info", log_level::info},
               {"warn", log_level::warn},
               {"error", log_level::error}});
    read_enum(m, "format", out.format, {{"text", log_format::text}, {"json", log_format::json}});
    m.finish();
}

namespace {

// Remembers where the root node of each document starts; ignores everything else.
class root_marks final : public YAML::EventHandler {
  public:
    std::vector<YAML::Mark> roots;

    void OnDocumentStart(const YAML::Mark&) override { depth_ = 0; }
    void OnDocumentEnd() override {}
    void OnNull(const YAML::Mark& m, YAML::anchor_t) override { node(m); }
    void OnAlias(const YAML::Mark& m, YAML::anchor_t) override { node(m); }
    void OnScalar(const YAML::Mark& m, const std::string&, YAML::anchor_t,
                  const std::string&) override {
        node(m);
    }
    void OnSequenceStart(const YAML::Mark& m, const std::string&, YAML::anchor_t,
                         YAML::EmitterStyle::value) override {
        node(m);
        ++depth_;
    }
    void OnSequenceEnd() override { --depth_; }
    void OnMapStart(const YAML::Mark& m, const std::string&, YAML::anchor_t,
                    YAML::EmitterStyle::value) override {
        node(m);
        ++depth_;
    }
    void OnMapEnd() override { --depth_; }

  private:
    void node(const YAML::Mark& m) {
        if (depth_ == 0) roots.push_back(m);
    }
    int depth_ = 0;
};

// Where a second document's root is, if the text has one. Reads at most two documents: yaml-cpp
// 0.7's YAML::LoadAll loops forever, allocating, on some malformed input ("\n,\n": it keeps
// returning empty documents; jbeder/yaml-cpp#1319), so it must not be used on a file we read.
std::optional<YAML::Mark> second_document(const std::string& text) {
    std::istringstream in(text);
    YAML::Parser parser(in);
    root_marks marks;
    for (int i = 0; i < 2 && parser.HandleNextDocument(marks); ++i) {
    }
    if (marks.roots.size() < 2) return std::nullopt;
    return marks.roots[1];
}

// Parses the text into one document; false (with the error recorded) when it is not YAML.
bool parse_document(load_context& ctx, std::string_view text, YAML::Node& doc) {
    try {
        const std::string copy(text);
        doc = YAML::Load(copy);
        if (auto second = second_document(copy)) {
            ctx.error(*second, "", "the file holds more than one YAML document; expected one");
            return false;
        }
        return true;
    } catch (const YAML::Exception& e) {
        ctx.error(e.mark, "", fmt::format("invalid YAML: {}", e.msg));
        return false;
    }
}

load_result load_text(std::string_view text, std::string_view name, const environment& env,
                      const load_options& options, std::optional<unsigned> file_mode) {
    load_context ctx{std::string(name), env, options, {}, {}};
    auto cfg = std::make_shared<daemon_config>();
    cfg->source_name = std::string(name);
    YAML::Node doc;
    if (parse_document(ctx, text, doc)) {
        YAML::Mark start;  // 1:1, for keys missing from an empty document
        map_reader root(ctx, doc, "", start);
        read_credentials(root, cfg->credentials, file_mode);
        read_cloud(root, cfg->cloud);
        read_services(root, cfg->services, cfg->cloud.protocol);
        read_polling(root, cfg->polling);
        read_rate_limit(root, cfg->rate_limit);
        read_control(root, cfg->control);
        read_store(root, cfg->store);
        read_logging(root, cfg->logging);
        root.finish();
    }
    // Last, over every message: nothing from the credentials may be shown, however it got there.
    const auto hidden = sensitive_values(doc, cfg->credentials);
    redact(ctx.errors, hidden);
    redact(ctx.warnings, hidden);
    const auto by_position = [](const diagnostic& a, const diagnostic& b) {
        return std::tie(a.line, a.column) < std::tie(b.line, b.column);
    };
    std::stable_sort(ctx.errors.begin(), ctx.errors.end(), by_position);
    std::stable_sort(ctx.warnings.begin(), ctx.warnings.end(), by_position);
    load_result r;
    r.errors = std::move(ctx.errors);
    r.warnings = std::move(ctx.warnings);
    if (r.errors.empty()) r.config = std::move(cfg);
    return r;
}

}  // namespace
}  // namespace detail

std::string diagnostic::to_string() const {
    std::string out = file;
    if (line > 0) out += fmt::format(":{}:{}", line, column);
    out += ": ";
    if (!path.empty()) out += path + ": ";
    return out + message;
}

std::string load_result::error_text() const {
    std::string out;
    for (const auto& e : errors) out += e.to_string() + "\n";
    return out;
}

load_result load_string(std::string_view text, std::string_view name, const environment& env,
                        const load_options& options) {
    return detail::load_text(text, name, env, options, std::nullopt);
}

load_result load_file(const std::filesystem::path& path, const environment& env,
                      const load_options& options) {
    const std::string name = path.string();
    const auto fail = [&](std::string message) {
        load_result r;
        r.errors.push_back(diagnostic{severity::error, name, 0, 0, "",
                                      "cannot read the configuration file: " + message});
        return r;
    };
    struct stat st {};
    if (::stat(name.c_str(), &st) != 0) return fail(std::strerror(errno));
    if (!S_ISREG(st.st_mode)) return fail("not a regular file");
    if (st.st_size > (1 << 20)) return fail("larger than 1MiB");
    std::ifstream in(path, std::ios::binary);
    if (!in) return fail(std::strerror(errno));
    std::ostringstream text;
    text << in.rdbuf();
    if (in.bad()) return fail("read error");
    return detail::load_text(text.str(), name, env, options, st.st_mode & 0777);
}

}  // namespace taskpoller::config
