#pragma once
// Strict JSON request bodies: the body must be one JSON object (no comments, no trailing
// commas, valid UTF-8, nesting ≤ 32, no key twice in one object), every field must be known, every
// known field must have the declared type. Errors name the field ("poll.timeout") so a client can
// fix its request.

#include <boost/json/object.hpp>
#include <span>
#include <string_view>

#include "control/api_error.hpp"

namespace taskpoller::control {

enum class json_kind { string, integer, number, boolean, object, array, any };

/// One allowed field of an object. `kind` any accepts every value, including null.
struct field_spec {
    std::string_view name;
    json_kind kind = json_kind::any;
    bool required = false;
};

/// Checks `obj` against `fields`: unknown fields (all of them named, in document order),
/// missing required fields, wrong types (null included). `prefix` is prepended to field names
/// in messages ("poll."), for nested objects. Fails with 400 bad_request.
expected<void> check_fields(const boost::json::object& obj, std::span<const field_spec> fields,
                            std::string_view prefix = "");

/// Parses `body` as a JSON object and checks it with check_fields. Fails with 400 invalid_json
/// (empty body, syntax error with its offset, not an object, a key repeated in one object at
/// any depth: "the request body repeats the key 'params.a'") or 400 bad_request (fields).
expected<boost::json::object> parse_json_object(std::string_view body,
                                                std::span<const field_spec> fields);

/// "string", "integer", "number", "boolean", "object", "array", "null" — for messages.
std::string_view json_kind_name(const boost::json::value& v) noexcept;

}  // namespace taskpoller::control
