#include "ctl/params_builder.hpp"

#include <fmt/format.h>

#include <boost/json/parse.hpp>
#include <fstream>
#include <iostream>
#include <iterator>
#include <vector>

namespace taskpoller::ctl {
namespace json = boost::json;
namespace {

struct assignment {
    std::string_view key;
    std::string_view value;
};

core::result<assignment> split_assignment(std::string_view arg, std::string_view option) {
    const auto eq = arg.find('=');
    if (eq == std::string_view::npos) {
        return core::error{fmt::format("{} \"{}\": expected KEY=VALUE", option, arg)};
    }
    if (eq == 0) return core::error{fmt::format("{} \"{}\": empty key", option, arg)};
    return assignment{arg.substr(0, eq), arg.substr(eq + 1)};
}

bool all_digits(std::string_view s) {
    if (s.empty()) return false;
    for (char c : s) {
        if (c < '0' || c > '9') return false;
    }
    return true;
}

std::vector<std::string_view> split_path(std::string_view key) {
    std::vector<std::string_view> out;
    std::size_t start = 0;
    while (true) {
        const auto dot = key.find('.', start);
        out.push_back(key.substr(start, dot == std::string_view::npos ? dot : dot - start));
        if (dot == std::string_view::npos) return out;
        start = dot + 1;
    }
}

// A new, empty container suited to hold child segment `next`.
json::value container_for(std::string_view next) {
    if (all_digits(next)) return json::array{};
    return json::object{};
}

core::error path_error(std::string_view key, std::string_view prefix, std::string_view why) {
    return core::error{fmt::format("parameter \"{}\": \"{}\" {}", key, prefix, why)};
}

// The slot for `seg` inside `parent` (creating it if absent), or an error. Array indexes past
// the end are padded with nulls whose paths go into `holes`, so that --param and --param-json
// may fill an array in any order; build() fails if a hole is left.
core::result<json::value*> child_slot(json::value& parent, std::string_view seg,
                                      std::string_view key, std::string_view prefix,
                                      std::set<std::string, std::less<>>& holes) {
    if (auto* obj = parent.if_object()) return &(*obj)[seg];
    auto* arr = parent.if_array();
    if (arr == nullptr) return path_error(key, prefix, "is already a value, not a container");
    if (!all_digits(seg) || seg.size() > 4) {
        return path_error(key, prefix, "is an array: expected an index from 0 to 9999");
    }
    const std::size_t idx = std::stoul(std::string(seg));
    while (arr->size() <= idx) {
        holes.insert(fmt::format("{}.{}", prefix, arr->size()));
        arr->emplace_back(nullptr);
    }
    holes.erase(fmt::format("{}.{}", prefix, idx));
    return &(*arr)[idx];
}

}  // namespace

core::result<void> params_builder::set_base(std::string_view json_text) {
    if (!keys_.empty()) return core::error{"--params-json must come before --param values"};
    boost::system::error_code ec;
    json::value v = json::parse(json_text, ec);
    if (ec) return core::error{fmt::format("--params-json: invalid JSON: {}", ec.message())};
    if (!v.is_object()) return core::error{"--params-json: expected a JSON object {...}"};
    params_ = std::move(v.as_object());
    return {};
}

core::result<void> params_builder::add_string(std::string_view arg) {
    auto a = split_assignment(arg, "--param");
    if (!a) return a.error();
    return set_path(a->key, json::string(a->value));
}

core::result<void> params_builder::add_json(std::string_view arg) {
    auto a = split_assignment(arg, "--param-json");
    if (!a) return a.error();
    boost::system::error_code ec;
    json::value v = json::parse(a->value, ec);
    if (ec) {
        return core::error{
            fmt::format("--param-json \"{}\": invalid JSON: {}", a->key, ec.message())};
    }
    return set_path(a->key, std::move(v));
}

core::result<void> params_builder::set_path(std::string_view key, json::value v) {
    if (keys_.contains(key)) {
        return core::error{fmt::format("parameter \"{}\" given twice", key)};
    }
    const auto segs = split_path(key);
    for (auto s : segs) {
        if (s.empty()) return core::error{fmt::format("parameter \"{}\": empty path segment", key)};
    }
    if (all_digits(segs.front())) {
        return core::error{fmt::format("parameter \"{}\": must start with a name", key)};
    }
    json::value* slot = &params_[segs.front()];
    for (std::size_t i = 1; i < segs.size(); ++i) {
        const std::string_view prefix = key.substr(0, segs[i].data() - key.data() - 1);
        if (slot->is_null()) *slot = container_for(segs[i]);
        auto next = child_slot(*slot, segs[i], key, prefix, holes_);
        if (!next) return next.error();
        slot = *next;
    }
    if ((slot->is_object() || slot->is_array()) && !keys_.empty()) {
        // A container built by earlier --param values must not be silently replaced.
        for (const auto& k : keys_) {
            if (k.size() > key.size() && k.starts_with(key) && k[key.size()] == '.') {
                return path_error(key, key, "already holds values set by " + k);
            }
        }
    }
    *slot = std::move(v);
    keys_.emplace(key);
    return {};
}

core::result<json::object> params_builder::build() const {
    if (!holes_.empty()) {
        return core::error{fmt::format(
            "parameter \"{}\" is missing: array elements must be given from 0 without gaps",
            *holes_.begin())};
    }
    return params_;
}

core::result<std::string> read_inline_or_file(std::string_view arg) {
    if (!arg.starts_with('@')) return core::ok(std::string(arg));
    const std::string path(arg.substr(1));
    constexpr std::size_t limit = 16u << 20;
    std::string text;
    auto read_all = [&](std::istream& in) -> bool {
        char buf[8192];
        while (in.read(buf, sizeof buf) || in.gcount() > 0) {
            text.append(buf, static_cast<std::size_t>(in.gcount()));
            if (text.size() > limit) return false;
        }
        return true;
    };
    bool within = false;
    if (path == "-") {
        within = read_all(std::cin);
    } else {
        std::ifstream f(path, std::ios::binary);
        if (!f) return core::error{fmt::format("cannot read \"{}\"", path)};
        within = read_all(f);
    }
    if (!within) return core::error{fmt::format("\"{}\" is larger than 16 MiB", path)};
    return core::ok(std::move(text));
}

core::result<json::object> parse_labels(const std::vector<std::string>& args) {
    json::object out;
    for (const auto& arg : args) {
        auto a = split_assignment(arg, "--label");
        if (!a) return a.error();
        if (out.contains(a->key)) {
            return core::error{fmt::format("label \"{}\" given twice", a->key)};
        }
        out[a->key] = a->value;
    }
    return out;
}

}  // namespace taskpoller::ctl
