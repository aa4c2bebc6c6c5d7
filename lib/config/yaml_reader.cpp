#include "config/yaml_reader.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>

namespace taskpoller::config::detail {

namespace {

diagnostic make(severity level, const std::string& file, const YAML::Mark& at,
                std::string_view path, std::string message) {
    diagnostic d;
    d.level = level;
    d.file = file;
    if (!at.is_null()) {
        d.line = at.line + 1;
        d.column = at.column + 1;
    } else {
        d.line = d.column = 1;  // an empty document: point at its start
    }
    d.path = std::string(path);
    d.message = std::move(message);
    return d;
}

std::size_t edit_distance(std::string_view a, std::string_view b) {
    std::vector<std::size_t> row(b.size() + 1);
    for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
    for (std::size_t i = 1; i <= a.size(); ++i) {
        std::size_t diag = row[0];
        row[0] = i;
        for (std::size_t j = 1; j <= b.size(); ++j) {
            const std::size_t up = row[j];
            row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
            diag = up;
        }
    }
    return row[b.size()];
}

}  // namespace

void load_context::error(const YAML::Mark& at, std::string_view path, std::string message) {
    errors.push_back(make(severity::error, file, at, path, std::move(message)));
}

void load_context::warn(severity level, const YAML::Mark& at, std::string_view path,
                        std::string message) {
    warnings.push_back(make(level, file, at, path, std::move(message)));
}

std::string join_path(std::string_view parent, std::string_view key) {
    if (parent.empty()) return std::string(key);
    return fmt::format("{}.{}", parent, key);
}

std::string_view describe(const YAML::Node& node) {
    switch (node.Type()) {
        case YAML::NodeType::Map:
            return "a mapping";
        case YAML::NodeType::Sequence:
            return "a sequence";
        case YAML::NodeType::Null:
            return "nothing (null)";
        case YAML::NodeType::Scalar:
            return "a scalar";
        default:
            return "nothing";
    }
}

std::optional<std::string> closest_match(std::string_view word,
                                         const std::set<std::string, std::less<>>& candidates) {
    std::optional<std::string> best;
    std::size_t best_distance = std::max<std::size_t>(2, word.size() / 3) + 1;
    for (const auto& c : candidates) {
        const auto d = edit_distance(word, c);
        if (d < best_distance) {
            best_distance = d;
            best = c;
        }
    }
    return best;
}

map_reader::map_reader(load_context& ctx, const YAML::Node& node, std::string path,
                       const YAML::Mark& fallback, bool hide_unknown_names)
    : ctx_(&ctx), path_(std::move(path)), mark_(fallback), hide_unknown_names_(hide_unknown_names) {
    if (!node.IsDefined() || node.IsNull()) return;
    mark_ = node.Mark();
    if (!node.IsMap()) {
        ctx.error(mark_, path_, fmt::format("expected a mapping, got {}", describe(node)));
        is_mapping_ = false;
        return;
    }
    // Copy each pair: yaml-cpp's iterator dereferences to a temporary, so a reference into
    // `it->first` would dangle (ASan reports it; GCC warns with -Wdangling-pointer).
    for (const auto& pair : node) {
        const YAML::Node k = pair.first;
        const YAML::Node v = pair.second;
        if (!k.IsScalar()) {
            ctx.error(k.Mark(), path_,
                      fmt::format("keys must be plain words, got {}", describe(k)));
            continue;
        }
        const std::string& name = k.Scalar();
        if (find(name)) {
            ctx.error(k.Mark(), child(hide_unknown_names_ ? "<key>" : name),
                      "duplicate key (it is already set above)");
            continue;
        }
        entries_.push_back(entry{name, k.Mark(), v});
    }
}

const map_reader::entry* map_reader::find(std::string_view key) const {
    for (const auto& e : entries_) {
        if (e.key == key) return &e;
    }
    return nullptr;
}

std::optional<YAML::Node> map_reader::get(std::string_view key) {
    claimed_.emplace(key);
    if (const auto* e = find(key)) return e->value;
    return std::nullopt;
}

YAML::Mark map_reader::mark_of(std::string_view key) const {
    if (const auto* e = find(key)) return e->value.IsNull() ? e->key_mark : e->value.Mark();
    return mark_;
}

YAML::Mark map_reader::key_mark(std::string_view key) const {
    if (const auto* e = find(key)) return e->key_mark;
    return mark_;
}

std::vector<std::pair<std::string, YAML::Node>> map_reader::take_all() {
    std::vector<std::pair<std::string, YAML::Node>> out;
    for (const auto& e : entries_) {
        claimed_.insert(e.key);
        out.emplace_back(e.key, e.value);
    }
    return out;
}

void map_reader::finish() {
    for (const auto& e : entries_) {
        if (claimed_.contains(e.key)) continue;
        if (hide_unknown_names_) {
            ctx_->error(e.key_mark, path_,
                        "unknown key (its name is not shown: this section holds secrets)");
            continue;
        }
        std::string message = "unknown key";
        if (auto near = closest_match(e.key, claimed_)) {
            message += fmt::format("; did you mean \"{}\"?", *near);
        } else {
            std::string names;
            for (const auto& c : claimed_) names += (names.empty() ? "" : ", ") + c;
            message += fmt::format("; expected one of: {}", names);
        }
        ctx_->error(e.key_mark, child(e.key), std::move(message));
    }
}

std::optional<std::string> scalar_value(load_context& ctx, const YAML::Node& node,
                                        std::string_view path, std::string_view expected,
                                        const YAML::Mark* where) {
    if (node.IsScalar()) return node.Scalar();
    const YAML::Mark at = where ? *where : node.Mark();
    ctx.error(at, path, fmt::format("expected {}, got {}", expected, describe(node)));
    return std::nullopt;
}

std::optional<std::int64_t> int_value(load_context& ctx, const YAML::Node& node,
                                      std::string_view path, std::int64_t min, std::int64_t max,
                                      const YAML::Mark* where) {
    auto text = scalar_value(ctx, node, path, "an integer", where);
    if (!text) return std::nullopt;
    const YAML::Mark at = where ? *where : node.Mark();
    std::int64_t v = 0;
    const char* end = text->data() + text->size();
    auto [p, ec] = std::from_chars(text->data(), end, v);
    if (ec == std::errc::result_out_of_range) {
        ctx.error(at, path,
                  fmt::format("{} is out of range: must be between {} and {}", *text, min, max));
        return std::nullopt;
    }
    if (ec != std::errc() || p != end) {
        ctx.error(at, path, fmt::format("expected an integer, got \"{}\"", *text));
        return std::nullopt;
    }
    if (v < min || v > max) {
        ctx.error(at, path,
                  fmt::format("{} is out of range: must be between {} and {}", v, min, max));
        return std::nullopt;
    }
    return v;
}

bool read_string(map_reader& m, std::string_view key, std::string& out, string_rule rule) {
    auto node = m.get(key);
    if (!node) return false;
    const YAML::Mark at = m.mark_of(key);
    if (node->IsNull() && rule == string_rule::absolute_path_or_empty) {
        out.clear();
        return true;
    }
    auto text = scalar_value(
        m.ctx(), *node, m.child(key),
        rule == string_rule::any || rule == string_rule::non_empty ? "a string" : "a path", &at);
    if (!text) return false;
    const bool may_be_empty =
        rule == string_rule::any || rule == string_rule::absolute_path_or_empty;
    if (text->empty() && !may_be_empty) {
        m.ctx().error(at, m.child(key), "must not be empty");
        return false;
    }
    const bool is_path =
        rule == string_rule::absolute_path || rule == string_rule::absolute_path_or_empty;
    if (is_path && !text->empty() && text->front() != '/') {
        m.ctx().error(at, m.child(key), fmt::format("must be an absolute path, got \"{}\"", *text));
        return false;
    }
    out = std::move(*text);
    return true;
}

bool read_bool(map_reader& m, std::string_view key, bool& out) {
    auto node = m.get(key);
    if (!node) return false;
    const YAML::Mark at = m.mark_of(key);
    auto text = scalar_value(m.ctx(), *node, m.child(key), "true or false", &at);
    if (!text) return false;
    if (*text == "true" || *text == "True" || *text == "TRUE") {
        out = true;
        return true;
    }
    if (*text == "false" || *text == "False" || *text == "FALSE") {
        out = false;
        return true;
    }
    m.ctx().error(at, m.child(key), fmt::format("expected true or false, got \"{}\"", *text));
    return false;
}

bool read_uint(map_reader& m, std::string_view key, std::uint64_t& out, std::uint64_t min,
               std::uint64_t max) {
    auto node = m.get(key);
    if (!node) return false;
    const YAML::Mark at = m.mark_of(key);
    const auto cap = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
    auto v = int_value(m.ctx(), *node, m.child(key), static_cast<std::int64_t>(std::min(min, cap)),
                       static_cast<std::int64_t>(std::min(max, cap)), &at);
    if (!v) return false;
    out = static_cast<std::uint64_t>(*v);
    return true;
}

bool read_uint(map_reader& m, std::string_view key, unsigned& out, unsigned min, unsigned max) {
    std::uint64_t v = 0;
    if (!read_uint(m, key, v, std::uint64_t{min}, std::uint64_t{max})) return false;
    out = static_cast<unsigned>(v);
    return true;
}

bool read_double(map_reader& m, std::string_view key, double& out, double min, double max,
                 bool min_exclusive) {
    auto node = m.get(key);
    if (!node) return false;
    const YAML::Mark at = m.mark_of(key);
    auto text = scalar_value(m.ctx(), *node, m.child(key), "a number", &at);
    if (!text) return false;
    double v = 0;
    const char* end = text->data() + text->size();
    auto [p, ec] = std::from_chars(text->data(), end, v);
    if (ec != std::errc() || p != end || !std::isfinite(v)) {
        m.ctx().error(at, m.child(key), fmt::format("expected a number, got \"{}\"", *text));
        return false;
    }
    const bool too_small = min_exclusive ? v <= min : v < min;
    if (too_small || v > max) {
        m.ctx().error(at, m.child(key),
                      fmt::format("{} is out of range: must be {} {} and at most {}", *text,
                                  min_exclusive ? "greater than" : "at least", min, max));
        return false;
    }
    out = v;
    return true;
}

bool read_duration(map_reader& m, std::string_view key, duration& out, duration min, duration max) {
    auto node = m.get(key);
    if (!node) return false;
    const YAML::Mark at = m.mark_of(key);
    auto text =
        scalar_value(m.ctx(), *node, m.child(key), "a duration like 500ms, 2s, 5m or 1h", &at);
    if (!text) return false;
    auto parsed = parse_duration(*text);
    if (!parsed) {
        m.ctx().error(at, m.child(key), parsed.error().message);
        return false;
    }
    if (*parsed < min || *parsed > max) {
        m.ctx().error(at, m.child(key),
                      fmt::format("{} is out of range: must be between {} and {}", *text,
                                  format_duration(min), format_duration(max)));
        return false;
    }
    out = *parsed;
    return true;
}

bool read_size(map_reader& m, std::string_view key, std::uint64_t& out, std::uint64_t min,
               std::uint64_t max) {
    auto node = m.get(key);
    if (!node) return false;
    const YAML::Mark at = m.mark_of(key);
    auto text = scalar_value(m.ctx(), *node, m.child(key), "a size like 64KiB or 8MiB", &at);
    if (!text) return false;
    auto parsed = parse_size(*text);
    if (!parsed) {
        m.ctx().error(at, m.child(key), parsed.error().message);
        return false;
    }
    if (*parsed < min || *parsed > max) {
        m.ctx().error(at, m.child(key),
                      fmt::format("{} is out of range: must be between {} and {}", *text,
                                  format_size(min), format_size(max)));
        return false;
    }
    out = *parsed;
    return true;
}

}  // namespace taskpoller::config::detail
