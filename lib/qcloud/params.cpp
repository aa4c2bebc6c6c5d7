#include "qcloud/params.hpp"

#include <fmt/format.h>

#include <boost/json/value.hpp>
#include <charconv>
#include <cmath>
#include <optional>

namespace taskpoller::qcloud {
namespace json = boost::json;

namespace {

core::error path_error(const std::string& path, std::string_view what) {
    return core::error{fmt::format("parameter {}: {}", path, what)};
}

// Appends the flattened form of `v` under `path` to `out`; returns an error naming the path of
// the first value that cannot be sent.
std::optional<core::error> flatten_into(const json::value& v, const std::string& path,
                                        param_list& out) {
    switch (v.kind()) {
        case json::kind::string:
            out.push_back({path, std::string(v.get_string())});
            return std::nullopt;
        case json::kind::int64:
            out.push_back({path, std::to_string(v.get_int64())});
            return std::nullopt;
        case json::kind::uint64:
            out.push_back({path, std::to_string(v.get_uint64())});
            return std::nullopt;
        case json::kind::double_: {
            if (!std::isfinite(v.get_double())) return path_error(path, "number is not finite");
            out.push_back({path, format_decimal(v.get_double())});
            return std::nullopt;
        }
        case json::kind::bool_:
            out.push_back({path, v.get_bool() ? "true" : "false"});
            return std::nullopt;
        case json::kind::null:
            return path_error(path, "null cannot be sent; omit the parameter instead");
        case json::kind::array: {
            const auto& arr = v.get_array();
            if (arr.empty()) return path_error(path, "empty array would send nothing");
            for (std::size_t i = 0; i < arr.size(); ++i) {
                if (auto err = flatten_into(arr[i], fmt::format("{}.{}", path, i), out)) {
                    return err;
                }
            }
            return std::nullopt;
        }
        case json::kind::object: {
            const auto& obj = v.get_object();
            if (obj.empty()) return path_error(path, "empty object would send nothing");
            for (const auto& kv : obj) {
                if (kv.key().empty()) return path_error(path, "empty member name");
                if (auto err =
                        flatten_into(kv.value(), fmt::format("{}.{}", path, kv.key()), out)) {
                    return err;
                }
            }
            return std::nullopt;
        }
    }
    return path_error(path, "unsupported JSON value");
}

}  // namespace

std::string format_decimal(double value) {
    // std::to_chars in fixed notation gives the shortest digits that round-trip, never an
    // exponent; the cloud does not parse "1e+20".
    char buf[400];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, value, std::chars_format::fixed);
    if (ec != std::errc{}) return fmt::format("{:f}", value);
    return std::string(buf, end);
}

core::result<param_list> flatten_params(const json::object& params) {
    param_list out;
    out.reserve(params.size());
    for (const auto& kv : params) {
        if (kv.key().empty()) return core::error{"parameter name must not be empty"};
        if (auto err = flatten_into(kv.value(), std::string(kv.key()), out)) return *err;
    }
    return out;
}

const std::string* find_param(const param_list& params, std::string_view name) noexcept {
    for (const auto& p : params) {
        if (p.name == name) return &p.value;
    }
    return nullptr;
}

param_list describe_instances_params(std::span<const std::string> ids) {
    qcloud::param_list params;
    params.reserve(ids.size() + 2);
    for (std::size_t i = 0; i < ids.size(); ++i) {
        params.push_back({fmt::format("instanceIds.{}", i), ids[i]});
    }
    params.push_back({"offset", "0"});
    params.push_back({"limit", std::to_string(ids.size())});
    return params;
}

}  // namespace taskpoller::qcloud
