#include "control/router.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <stdexcept>

namespace taskpoller::control {

namespace {

std::vector<std::string_view> split_path(std::string_view path) {
    std::vector<std::string_view> out;
    path.remove_prefix(1);  // callers guarantee a leading '/'
    while (true) {
        auto slash = path.find('/');
        out.push_back(path.substr(0, slash));
        if (slash == std::string_view::npos) break;
        path.remove_prefix(slash + 1);
    }
    return out;
}

bool is_param(std::string_view seg) {
    return seg.size() >= 2 && seg.front() == '{' && seg.back() == '}';
}

// Specificity: 1 for each literal segment, compared left to right.
std::vector<int> specificity(const route& r) {
    std::vector<int> s;
    for (const auto& seg : r.segments) s.push_back(is_param(seg) ? 0 : 1);
    return s;
}

bool shape_matches(const route& r, const std::vector<std::string_view>& segs) {
    if (r.segments.size() != segs.size()) return false;
    for (std::size_t i = 0; i < segs.size(); ++i) {
        if (is_param(r.segments[i])) {
            if (segs[i].empty()) return false;
        } else if (r.segments[i] != segs[i]) {
            return false;
        }
    }
    return true;
}

}  // namespace

router& router::add(std::string method, std::string pattern, handler fn, access_kind access) {
    if (pattern.empty() || pattern.front() != '/')
        throw std::invalid_argument("route pattern must start with '/': " + pattern);
    route r{method, pattern, std::move(fn), false, {}};
    for (auto seg : split_path(pattern)) {
        bool open = seg.find('{') != std::string_view::npos;
        bool close = seg.find('}') != std::string_view::npos;
        if ((open || close) &&
            (!is_param(seg) || seg.size() == 2 ||
             seg.substr(1, seg.size() - 2).find_first_of("{}/") != std::string_view::npos))
            throw std::invalid_argument("malformed parameter segment in route: " + pattern);
        r.segments.emplace_back(seg);
    }
    auto same_shape = [](const route& a, const route& b) {
        return std::ranges::equal(a.segments, b.segments, [](const auto& x, const auto& y) {
            return x == y || (is_param(x) && is_param(y));
        });
    };
    for (const auto& other : routes_)
        if (other.method == method && same_shape(other, r))
            throw std::invalid_argument("duplicate route: " + method + " " + pattern);
    r.mutation = access == access_kind::mutation ||
                 (access == access_kind::by_method && is_mutating_method(method));
    routes_.push_back(std::move(r));
    return *this;
}

router::match_result router::match(std::string_view method, std::string_view path) const {
    match_result res;
    if (path.empty() || path.front() != '/') {
        res.kind = outcome::bad_path;
        res.error = bad_request(fmt::format("request target '{}' is not an absolute path", path));
        return res;
    }
    const auto segs = split_path(path);
    const route* best = nullptr;
    for (const auto& r : routes_) {
        if (!shape_matches(r, segs)) continue;
        if (std::ranges::find(res.allowed, r.method) == res.allowed.end())
            res.allowed.push_back(r.method);
        bool method_ok = r.method == method || (method == "HEAD" && r.method == "GET");
        if (method_ok && (!best || specificity(r) > specificity(*best))) best = &r;
    }
    // An explicit HEAD route beats the GET fallback.
    if (method == "HEAD")
        for (const auto& r : routes_)
            if (r.method == "HEAD" && shape_matches(r, segs) &&
                (best == nullptr || best->method == "GET"))
                best = &r;
    if (!best) {
        if (res.allowed.empty()) {
            res.kind = outcome::not_found;
            res.error = not_found(fmt::format("no route for '{}'", path));
        } else {
            if (std::ranges::find(res.allowed, "GET") != res.allowed.end() &&
                std::ranges::find(res.allowed, "HEAD") == res.allowed.end())
                res.allowed.emplace_back("HEAD");
            std::ranges::sort(res.allowed);
            res.kind = outcome::method_not_allowed;
            res.error =
                method_not_allowed(fmt::format("method {} is not allowed on '{}' (allowed: {})",
                                               method, path, allow_header(res.allowed)));
        }
        return res;
    }
    std::vector<std::pair<std::string, std::string>> params;
    for (std::size_t i = 0; i < segs.size(); ++i) {
        if (!is_param(best->segments[i])) continue;
        auto decoded = percent_decode(segs[i], false);
        if (!decoded) {
            res.kind = outcome::bad_path;
            res.error = decoded.error();
            return res;
        }
        const auto& name = best->segments[i];
        params.emplace_back(name.substr(1, name.size() - 2), std::move(*decoded));
    }
    res.kind = outcome::found;
    res.matched = best;
    res.params = path_params(std::move(params));
    res.allowed.clear();
    return res;
}

std::string allow_header(const std::vector<std::string>& methods) {
    std::string out;
    for (const auto& m : methods) {
        if (!out.empty()) out += ", ";
        out += m;
    }
    return out;
}

}  // namespace taskpoller::control
