#pragma once
// Loading the YAML configuration: strict (unknown keys and wrong types are errors), complete
// (every error is reported, not just the first) and precise (each error carries file:line:col
// and the key path). Loading never throws for bad input and has no side effects besides reading
// the configuration file and the secret files it names.

#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"
#include "config/environment.hpp"

namespace taskpoller::config {

enum class severity { info, warning, critical, error };

/// One finding, printed as `file:line:col: key.path: message` (line and column 1-based; the
/// path is left out for YAML syntax errors, and the position when there is none, as for a file
/// that cannot be read). Messages never contain a secret.
struct diagnostic {
    severity level = severity::error;
    std::string file;
    int line = 0;  ///< 0 when the finding has no position
    int column = 0;
    std::string path;  ///< e.g. "polling.max_interval" or "services.cvm.actions.StopInstances"
    std::string message;

    std::string to_string() const;
};

/// What the engine knows about a service without configuration (its built-in profile).
struct builtin_service {
    resolver_kind resolver = resolver_kind::task_result;
    /// For instance_state services: the actions with a built-in completion rule. Any other
    /// action of such a service must give its own `target_state`.
    std::set<std::string, std::less<>> actions;
    /// For task_result services: the task-result API the engine calls.
    std::string result_action;
    /// The API the engine polls the service with (the task-result action, or DescribeInstances
    /// for cvm). An entry under that name in `actions` may set only `rate_limit`: it limits the
    /// polls (docs/polling.md).
    std::string poll_action;
};

/// The built-in profiles (docs/protocol.md "Completion"): cvm (instance_state, its five async
/// actions), lb, bmlb and bmeip (task_result, with their task-result actions).
std::map<std::string, builtin_service, std::less<>> default_builtin_services();

struct load_options {
    std::map<std::string, builtin_service, std::less<>> builtin_services =
        default_builtin_services();
    /// When no credentials are found anywhere, report a warning instead of an error and leave
    /// `credentials.source` as `none`. Meant for `--check-config` run outside the service unit,
    /// where systemd's LoadCredential= material is not visible. Credentials that are configured
    /// but broken (unreadable file, half a pair) are errors regardless.
    bool allow_missing_credentials = false;
    /// The host name store.postgres.node defaults to; nullopt: gethostname() (tests set it).
    std::optional<std::string> host_name{};
};

/// Either a configuration (and possibly warnings) or every error found (and the warnings).
struct load_result {
    std::shared_ptr<const daemon_config> config;  ///< null exactly when `errors` is not empty
    std::vector<diagnostic> errors;
    /// info (which credential source was used), warning (inline secrets,
    /// insecure_skip_verify), critical (an inline secret in a group- or world-readable file).
    std::vector<diagnostic> warnings;

    bool ok() const noexcept { return config != nullptr; }
    /// Every error, one per line, in file order.
    std::string error_text() const;
};

/// Reads and loads `path`. An unreadable file is one error naming the file. Also warns when the
/// file holds an inline secret and is group- or world-readable.
load_result load_file(const std::filesystem::path& path, const environment& env,
                      const load_options& options = {});

/// Loads YAML `text`; `name` stands for the file name in diagnostics.
load_result load_string(std::string_view text, std::string_view name, const environment& env,
                        const load_options& options = {});

}  // namespace taskpoller::config
