// The credentials section and the secret sources, in order: the configuration (files or inline
// values), $CREDENTIALS_DIRECTORY (systemd LoadCredential=), then the environment.

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>

#include "config/sections.hpp"
#include "core/result.hpp"

namespace taskpoller::config::detail {
namespace {

constexpr std::size_t max_secret_file = 4096;

struct secret_read {
    std::string value;
    bool world_readable = false;
};

// Reads a one-line secret. Errors name the file, never its contents; ENOENT is reported in
// `missing` so the credentials directory can tell "absent" from "broken".
core::result<secret_read> read_secret_file(const std::string& path, bool* missing = nullptr) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        const int err = errno;
        if (missing) *missing = err == ENOENT;
        return core::error{fmt::format("cannot read {}: {}", path, std::strerror(err))};
    }
    struct stat st {};
    secret_read out;
    std::string buf(max_secret_file + 1, '\0');
    std::size_t used = 0;
    bool failed = ::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode);
    while (!failed && used < buf.size()) {
        const auto n = ::read(fd, buf.data() + used, buf.size() - used);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) failed = true;
        if (n <= 0) break;
        used += static_cast<std::size_t>(n);
    }
    ::close(fd);
    out.value = buf.substr(0, used);
    std::fill(buf.begin(), buf.end(), '\0');
    if (failed)
        return core::error{fmt::format("cannot read {}: not a readable regular file", path)};
    if (used > max_secret_file)
        return core::error{fmt::format("{} is too large to hold a secret", path)};
    out.world_readable = (st.st_mode & S_IROTH) != 0;
    while (!out.value.empty() && std::isspace(static_cast<unsigned char>(out.value.back()))) {
        out.value.pop_back();
    }
    if (out.value.empty()) return core::error{fmt::format("{} is empty", path)};
    for (char c : out.value) {
        if (std::isspace(static_cast<unsigned char>(c)) ||
            std::iscntrl(static_cast<unsigned char>(c))) {
            return core::error{fmt::format("{} must hold the secret alone, on one line", path)};
        }
    }
    return out;
}

// One half of the pair as written in the configuration: a file, an inline value, or neither.
struct configured_secret {
    bool file_set = false;
    bool inline_set = false;
    std::string file;
    std::string value;
};

// Reads `<name>_file` and `<name>` without ever echoing the inline value.
configured_secret read_configured(map_reader& m, std::string_view name) {
    configured_secret out;
    const std::string file_key = fmt::format("{}_file", name);
    out.file_set = m.get(file_key).has_value();
    if (out.file_set && !read_string(m, file_key, out.file, string_rule::absolute_path)) {
        out.file.clear();
    }
    if (auto node = m.get(name)) {
        out.inline_set = true;
        if (!node->IsScalar()) {
            m.ctx().error(node->Mark(), m.child(name),
                          fmt::format("expected a string, got {}", describe(*node)));
        } else if (node->Scalar().empty()) {
            m.ctx().error(node->Mark(), m.child(name), "must not be empty");
        } else {
            out.value = node->Scalar();
        }
    }
    if (out.file_set && out.inline_set) {
        m.ctx().error(m.key_mark(name), m.child(name),
                      fmt::format("set either {} or {}, not both", name, file_key));
    }
    return out;
}

// Resolves a configured half into `dest`; returns false on error (already reported).
bool resolve_configured(map_reader& m, std::string_view name, configured_secret& c,
                        secret_string& dest) {
    if (c.inline_set) {
        if (c.value.empty()) return false;
        dest = secret_string(std::move(c.value));
        return true;
    }
    if (c.file.empty()) return false;  // an invalid path, already reported
    const auto key = fmt::format("{}_file", name);
    auto r = read_secret_file(c.file);
    if (!r) {
        m.ctx().error(m.mark_of(key), m.child(key), r.error().message);
        return false;
    }
    if (r->world_readable) {
        m.ctx().warn(severity::warning, m.mark_of(key), m.child(key),
                     fmt::format("{} is readable by every user; chmod 600 it", c.file));
    }
    dest = secret_string(std::move(r->value));
    return true;
}

void warn_inline(map_reader& m, std::string_view name, std::optional<unsigned> file_mode) {
    if (file_mode && (*file_mode & 044) != 0) {
        m.ctx().warn(severity::critical, m.key_mark(name), m.child(name),
                     fmt::format("inline {} in a configuration file that other users can read "
                                 "(mode {}): they can act as your account; move it to {}_file or "
                                 "systemd LoadCredential=, or chmod 600 this file",
                                 name, format_file_mode(*file_mode), name));
        return;
    }
    m.ctx().warn(severity::warning, m.key_mark(name), m.child(name),
                 fmt::format("inline {} in the configuration file; prefer {}_file or systemd "
                             "LoadCredential=",
                             name, name));
}

void from_config(map_reader& m, credentials_config& out, configured_secret& id,
                 configured_secret& key, configured_secret& token,
                 std::optional<unsigned> file_mode) {
    for (auto [c, name] : {std::pair{&id, "secret_id"}, std::pair{&key, "secret_key"}}) {
        if (!c->file_set && !c->inline_set) {
            m.ctx().error(m.mark(), m.path(),
                          fmt::format("{}_file (or {}) is required when the other half of the "
                                      "pair is configured",
                                      name, name));
        }
        if (c->inline_set && !c->file_set) warn_inline(m, name, file_mode);
    }
    const bool ok_id = resolve_configured(m, "secret_id", id, out.secret_id);
    const bool ok_key = resolve_configured(m, "secret_key", key, out.secret_key);
    bool ok_token = true;
    if (token.file_set || token.inline_set) {
        if (token.inline_set && !token.file_set) warn_inline(m, "token", file_mode);
        ok_token = resolve_configured(m, "token", token, out.token);
    }
    if (!ok_id || !ok_key || !ok_token) return;
    out.source = credential_source::config_file;
    const auto describe_half = [](const configured_secret& c, std::string_view name) {
        return c.inline_set ? fmt::format("{} inline", name)
                            : fmt::format("{} from {}", name, c.file);
    };
    out.source_detail =
        fmt::format("configuration file ({}, {}{})", describe_half(id, "secret_id"),
                    describe_half(key, "secret_key"),
                    out.token.empty() ? std::string() : ", " + describe_half(token, "token"));
}

// $CREDENTIALS_DIRECTORY/secret_id and secret_key. Returns false when neither file exists.
bool from_credentials_directory(map_reader& m, const std::string& dir, credentials_config& out) {
    bool missing_id = false, missing_key = false;
    auto id = read_secret_file(dir + "/secret_id", &missing_id);
    auto key = read_secret_file(dir + "/secret_key", &missing_key);
    if (missing_id && missing_key) return false;
    bool ok = true;
    for (auto* r : {&id, &key}) {
        if (!*r) {
            m.ctx().error(m.mark(), m.path(),
                          fmt::format("$CREDENTIALS_DIRECTORY: {}", r->error().message));
            ok = false;
        }
    }
    if (!ok) return true;
    // Temporary credentials: an optional third file beside the pair.
    bool missing_token = false;
    auto token = read_secret_file(dir + "/token", &missing_token);
    if (!token && !missing_token) {
        m.ctx().error(m.mark(), m.path(),
                      fmt::format("$CREDENTIALS_DIRECTORY: {}", token.error().message));
        return true;
    }
    out.secret_id = secret_string(std::move(id->value));
    out.secret_key = secret_string(std::move(key->value));
    if (token) out.token = secret_string(std::move(token->value));
    out.source = credential_source::credentials_directory;
    out.files = {dir + "/secret_id", dir + "/secret_key", dir + "/token"};
    out.source_detail = fmt::format("systemd credentials ({}/secret_id, {}/secret_key{})", dir, dir,
                                    token ? fmt::format(", {}/token", dir) : std::string());
    return true;
}

// TASKPOLLER_SECRET_ID and TASKPOLLER_SECRET_KEY. Returns false when neither is set.
bool from_environment(map_reader& m, credentials_config& out) {
    auto id = m.ctx().env.get("TASKPOLLER_SECRET_ID");
    auto key = m.ctx().env.get("TASKPOLLER_SECRET_KEY");
    if (!id && !key) return false;
    for (auto [v, name] :
         {std::pair{&id, "TASKPOLLER_SECRET_ID"}, std::pair{&key, "TASKPOLLER_SECRET_KEY"}}) {
        if (!*v || (*v)->empty()) {
            m.ctx().error(m.mark(), m.path(),
                          fmt::format("environment: {} is unset or empty while the other half of "
                                      "the pair is set",
                                      name));
        }
    }
    if (!id || id->empty() || !key || key->empty()) return true;
    out.secret_id = secret_string(std::move(*id));
    out.secret_key = secret_string(std::move(*key));
    auto token = m.ctx().env.get("TASKPOLLER_SECRET_TOKEN");
    if (token && !token->empty()) out.token = secret_string(std::move(*token));
    out.source = credential_source::environment;
    out.source_detail = out.token.empty()
                            ? "environment (TASKPOLLER_SECRET_ID, TASKPOLLER_SECRET_KEY)"
                            : "environment (TASKPOLLER_SECRET_ID, TASKPOLLER_SECRET_KEY, "
                              "TASKPOLLER_SECRET_TOKEN)";
    return true;
}

}  // namespace

void read_credentials(map_reader& root, credentials_config& out,
                      std::optional<unsigned> file_mode) {
    auto m = section(root, "credentials", /*hide_unknown_names=*/true);
    read_enum(
        m, "signature_method", out.signature,
        {{"HmacSHA256", signature_method::hmac_sha256}, {"HmacSHA1", signature_method::hmac_sha1}});
    auto id = read_configured(m, "secret_id");
    auto key = read_configured(m, "secret_key");
    auto token = read_configured(m, "token");
    m.finish();

    const std::size_t errors_before = m.ctx().errors.size();
    bool found = false;
    if ((token.file_set || token.inline_set) && !(id.file_set || id.inline_set) &&
        !(key.file_set || key.inline_set)) {
        m.ctx().error(m.key_mark(token.file_set ? "token_file" : "token"),
                      m.child(token.file_set ? "token_file" : "token"),
                      "a token belongs to a SecretId/SecretKey pair: configure the pair here too");
    }
    if (id.file_set || id.inline_set || key.file_set || key.inline_set) {
        from_config(m, out, id, key, token, file_mode);
        for (const auto* c : {&id, &key, &token})
            if (c->file_set && !c->file.empty()) out.files.push_back(c->file);
        found = true;
    } else if (auto dir = systemd_directory(m.ctx().env, "CREDENTIALS_DIRECTORY");
               dir && from_credentials_directory(m, *dir, out)) {
        found = true;
    } else {
        found = from_environment(m, out);
    }
    if (out.source != credential_source::none) {
        m.ctx().warn(severity::info, m.mark(), m.path(),
                     "using credentials from " + out.source_detail);
        return;
    }
    if (found || m.ctx().errors.size() != errors_before) return;
    const std::string message =
        "no credentials found: set secret_id_file and secret_key_file, or provide secret_id and "
        "secret_key through systemd LoadCredential= ($CREDENTIALS_DIRECTORY), or set "
        "TASKPOLLER_SECRET_ID and TASKPOLLER_SECRET_KEY";
    if (m.ctx().options.allow_missing_credentials) {
        m.ctx().warn(severity::warning, m.mark(), m.path(), message);
    } else {
        m.ctx().error(m.mark(), m.path(), message);
    }
}

}  // namespace taskpoller::config::detail
