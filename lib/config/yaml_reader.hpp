#pragma once
// Internal to the loader: reading typed, range-checked values out of yaml-cpp nodes while
// collecting every error with its position. Not part of the public interface (it exposes
// yaml-cpp types).

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config/loader.hpp"

namespace taskpoller::config::detail {

/// Everything one load accumulates. Lives for one load_string call.
struct load_context {
    std::string file;
    const environment& env;
    const load_options& options;
    std::vector<diagnostic> errors;
    std::vector<diagnostic> warnings;

    void error(const YAML::Mark& at, std::string_view path, std::string message);
    void warn(severity level, const YAML::Mark& at, std::string_view path, std::string message);
};

/// "a.b" from "a" and "b"; "b" when the parent is empty.
std::string join_path(std::string_view parent, std::string_view key);

/// "a mapping", "a sequence", "nothing (null)" or "a scalar", for "expected X, got Y" messages.
std::string_view describe(const YAML::Node& node);

/// One mapping being read. Each get() claims a key (present or not); finish() reports every
/// key that was not claimed as unknown, suggesting the closest claimed name. A null node (an
/// empty section) reads as an empty mapping; any other non-mapping is reported once.
class map_reader {
  public:
    /// `hide_unknown_names`: do not echo unknown key names (the credentials section, where a
    /// mistake could put a secret in key position).
    map_reader(load_context& ctx, const YAML::Node& node, std::string path,
               const YAML::Mark& fallback, bool hide_unknown_names = false);

    load_context& ctx() const noexcept { return *ctx_; }
    /// False when the node was present but not a mapping (already reported): callers skip
    /// "required key" checks that would only repeat that error.
    bool is_mapping() const noexcept { return is_mapping_; }
    const std::string& path() const noexcept { return path_; }
    std::string child(std::string_view key) const { return join_path(path_, key); }
    /// Where the mapping starts (or the fallback position, for a missing or empty section).
    const YAML::Mark& mark() const noexcept { return mark_; }

    /// The value under `key`, or nullopt when absent.
    std::optional<YAML::Node> get(std::string_view key);
    /// Where `key`'s value is, or the mapping's own position when the key is absent.
    YAML::Mark mark_of(std::string_view key) const;
    /// Every entry, in file order, each claimed (for maps keyed by user-chosen names).
    std::vector<std::pair<std::string, YAML::Node>> take_all();
    /// Where the key itself (not its value) is written.
    YAML::Mark key_mark(std::string_view key) const;
    /// Reports unclaimed keys. Call once, after every get().
    void finish();

  private:
    struct entry {
        std::string key;
        YAML::Mark key_mark;
        YAML::Node value;
    };
    const entry* find(std::string_view key) const;

    load_context* ctx_;
    std::string path_;
    YAML::Mark mark_;
    bool hide_unknown_names_;
    bool is_mapping_ = true;
    std::vector<entry> entries_;
    std::set<std::string, std::less<>> claimed_;
};

enum class string_rule { any, non_empty, absolute_path, absolute_path_or_empty };

// Typed readers. Each returns true and sets `out` when the key is present and valid; leaves
// `out` alone and returns false when it is absent; reports an error and returns false when it
// is present but invalid.
bool read_string(map_reader& m, std::string_view key, std::string& out,
                 string_rule rule = string_rule::non_empty);
bool read_bool(map_reader& m, std::string_view key, bool& out);
bool read_uint(map_reader& m, std::string_view key, std::uint64_t& out, std::uint64_t min,
               std::uint64_t max);
bool read_uint(map_reader& m, std::string_view key, unsigned& out, unsigned min, unsigned max);
bool read_double(map_reader& m, std::string_view key, double& out, double min, double max,
                 bool min_exclusive);
bool read_duration(map_reader& m, std::string_view key, duration& out, duration min, duration max);
bool read_size(map_reader& m, std::string_view key, std::uint64_t& out, std::uint64_t min,
               std::uint64_t max);

// The same checks on a single node (for sequence elements); `path` names it in errors.
// `where` overrides the node's own position (yaml-cpp places a null value at the next token).
std::optional<std::string> scalar_value(load_context& ctx, const YAML::Node& node,
                                        std::string_view path, std::string_view expected,
                                        const YAML::Mark* where = nullptr);
std::optional<std::int64_t> int_value(load_context& ctx, const YAML::Node& node,
                                      std::string_view path, std::int64_t min, std::int64_t max,
                                      const YAML::Mark* where = nullptr);

/// Reads an enumerated value spelled as in the file; the error lists the accepted spellings.
template <class E>
bool read_enum(map_reader& m, std::string_view key, E& out,
               std::initializer_list<std::pair<std::string_view, E>> choices) {
    auto node = m.get(key);
    if (!node) return false;
    const YAML::Mark at = m.mark_of(key);
    auto text = scalar_value(m.ctx(), *node, m.child(key), "one of the listed words", &at);
    if (!text) return false;
    std::string accepted;
    for (const auto& [name, value] : choices) {
        if (name == *text) {
            out = value;
            return true;
        }
        accepted += accepted.empty() ? "" : ", ";
        accepted += name;
    }
    m.ctx().error(at, m.child(key),
                  "invalid value \"" + *text + "\"; expected one of: " + accepted);
    return false;
}

/// The closest of `candidates` to `word` by edit distance, if close enough to be a likely typo.
std::optional<std::string> closest_match(std::string_view word,
                                         const std::set<std::string, std::less<>>& candidates);

}  // namespace taskpoller::config::detail
