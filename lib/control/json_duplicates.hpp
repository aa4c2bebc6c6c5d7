#pragma once
// Finds a key that appears twice in one JSON object. boost::json::parse keeps the last of
// duplicate keys silently, so a request body like {"params":{"a":1,"a":2}} would be half
// ignored; the control API refuses such bodies instead (docs/api.md, Errors).

#include <optional>
#include <string>
#include <string_view>

namespace taskpoller::control {

/// The path of the first duplicated key in `json_text`, at any nesting depth, written as the
/// API's messages name fields: `params.a`, `backends[1].weight`, or `a` at the top level.
/// nullopt when no object repeats a key, and also when the text is not valid JSON (the caller
/// reports syntax errors from its own parse).
std::optional<std::string> first_duplicate_key(std::string_view json_text);

}  // namespace taskpoller::control
