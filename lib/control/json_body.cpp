#include "control/json_body.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <boost/json/parse.hpp>
#include <string>

#include "control/json_duplicates.hpp"

namespace taskpoller::control {

namespace json = boost::json;

std::string_view json_kind_name(const json::value& v) noexcept {
    switch (v.kind()) {
        case json::kind::string:
            return "string";
        case json::kind::int64:
        case json::kind::uint64:
            return "integer";
        case json::kind::double_:
            return "number";
        case json::kind::bool_:
            return "boolean";
        case json::kind::object:
            return "object";
        case json::kind::array:
            return "array";
        case json::kind::null:
            return "null";
    }
    return "unknown";
}

namespace {

bool has_kind(const json::value& v, json_kind k) {
    switch (k) {
        case json_kind::string:
            return v.is_string();
        case json_kind::integer:
            return v.is_int64() || v.is_uint64();
        case json_kind::number:
            return v.is_number();
        case json_kind::boolean:
            return v.is_bool();
        case json_kind::object:
            return v.is_object();
        case json_kind::array:
            return v.is_array();
        case json_kind::any:
            return true;
    }
    return false;
}

std::string_view kind_text(json_kind k) {
    switch (k) {
        case json_kind::string:
            return "a string";
        case json_kind::integer:
            return "an integer";
        case json_kind::number:
            return "a number";
        case json_kind::boolean:
            return "a boolean";
        case json_kind::object:
            return "an object";
        case json_kind::array:
            return "an array";
        case json_kind::any:
            return "any value";
    }
    return "?";
}

}  // namespace

expected<void> check_fields(const json::object& obj, std::span<const field_spec> fields,
                            std::string_view prefix) {
    auto spec_of = [&](std::string_view name) -> const field_spec* {
        auto it = std::ranges::find(fields, name, &field_spec::name);
        return it == fields.end() ? nullptr : &*it;
    };
    std::string unknown;
    for (const auto& kv : obj) {
        if (spec_of(kv.key())) continue;
        unknown += fmt::format("{}'{}{}'", unknown.empty() ? "" : ", ", prefix,
                               std::string_view(kv.key()));
    }
    if (!unknown.empty()) {
        std::string allowed;
        for (const auto& f : fields)
            allowed += fmt::format("{}{}", allowed.empty() ? "" : ", ", f.name);
        return bad_request(fmt::format("unknown field{} {} (allowed: {})",
                                       unknown.find(',') == std::string::npos ? "" : "s", unknown,
                                       allowed.empty() ? "none" : allowed));
    }
    for (const auto& f : fields) {
        const json::value* v = obj.if_contains(f.name);
        if (!v) {
            if (f.required)
                return bad_request(fmt::format("missing required field '{}{}'", prefix, f.name));
            continue;
        }
        if (!has_kind(*v, f.kind))
            return bad_request(fmt::format("field '{}{}' must be {}, got {}", prefix, f.name,
                                           kind_text(f.kind), json_kind_name(*v)));
    }
    return {};
}

expected<json::object> parse_json_object(std::string_view body,
                                         std::span<const field_spec> fields) {
    if (body.find_first_not_of(" \t\r\n") == std::string_view::npos)
        return invalid_json("the request body is empty; expected a JSON object");
    boost::system::error_code ec;
    json::parse_options opts;  // strict defaults: no comments, no trailing commas, UTF-8 checked
    opts.max_depth = 32;
    json::value v = json::parse(body, ec, {}, opts);
    if (ec)
        return invalid_json(fmt::format("the request body is not valid JSON: {}", ec.message()));
    if (!v.is_object())
        return invalid_json(
            fmt::format("the request body must be a JSON object, got {}", json_kind_name(v)));
    // parse() keeps the last of repeated keys; a body that says two things is refused instead.
    if (auto dup = first_duplicate_key(body))
        return invalid_json(fmt::format("the request body repeats the key '{}'", *dup));
    auto checked = check_fields(v.as_object(), fields);
    if (!checked) return checked.error();
    return std::move(v.as_object());
}

}  // namespace taskpoller::control
