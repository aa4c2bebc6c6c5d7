#include "sim/action_params.hpp"

#include <algorithm>

#include "sim/verifier.hpp"

namespace taskpoller::sim {

namespace {

// For `name` = prefix.N<rest>, returns N and sets rest; nullopt if it does not match.
std::optional<std::int64_t> index_of(std::string_view name, std::string_view prefix,
                                     std::string_view& rest) {
    if (name.size() <= prefix.size() + 1 || name.substr(0, prefix.size()) != prefix ||
        name[prefix.size()] != '.')
        return std::nullopt;
    auto tail = name.substr(prefix.size() + 1);
    auto dot = tail.find('.');
    auto digits = tail.substr(0, dot);
    rest = dot == std::string_view::npos ? std::string_view{} : tail.substr(dot);
    return parse_decimal(digits);
}

std::vector<std::string> collect(const qcloud::param_list& params, std::string_view prefix,
                                 std::string_view want_rest) {
    std::vector<std::pair<std::int64_t, std::string>> found;
    for (const auto& p : params) {
        std::string_view rest;
        auto i = index_of(p.name, prefix, rest);
        if (i && rest == want_rest) found.emplace_back(*i, p.value);
    }
    std::stable_sort(found.begin(), found.end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });
    std::vector<std::string> out;
    out.reserve(found.size());
    for (auto& f : found) out.push_back(std::move(f.second));
    return out;
}

}  // namespace

std::vector<std::string> indexed_values(const qcloud::param_list& params, std::string_view prefix) {
    return collect(params, prefix, {});
}

std::vector<std::string> indexed_field(const qcloud::param_list& params, std::string_view prefix,
                                       std::string_view field) {
    return collect(params, prefix, "." + std::string(field));
}

std::optional<std::int64_t> decimal_param(const qcloud::param_list& params, std::string_view name,
                                          bool& bad) {
    const auto* v = qcloud::find_param(params, name);
    if (!v) return std::nullopt;
    auto d = parse_decimal(*v);
    if (!d) bad = true;
    return d;
}

}  // namespace taskpoller::sim
