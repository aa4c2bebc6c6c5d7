#pragma once
// Action parameters as API 2.0 sends them: an ordered list of (name, value) strings, flattened
// from a JSON object with dotted names (docs/protocol.md "Requests").

#include <boost/json/object.hpp>
#include <span>
#include <string>
#include <vector>

#include "core/result.hpp"

namespace taskpoller::qcloud {

struct param {
    std::string name;
    std::string value;
    friend bool operator==(const param&, const param&) = default;
};

using param_list = std::vector<param>;

/// Flattens `params` in the object's order: arrays become `name.0`, `name.1`, ...; objects
/// become `name.key`, to any depth; strings are kept as they are; integers and doubles are
/// written in plain decimal (never an exponent); booleans as `true`/`false`.
/// Fails, naming the offending path (`backends.0.weight`), on null, non-finite numbers, empty
/// names, and empty arrays or objects (they would send nothing, silently).
core::result<param_list> flatten_params(const boost::json::object& params);

/// DescribeInstances parameters for `ids` (at most 100, the API's maximum per call):
/// `instanceIds.N`, `offset=0`, `limit=<count>` (docs/protocol.md "Completion").
param_list describe_instances_params(std::span<const std::string> ids);

/// Formats a finite double in plain decimal, shortest round-trip form ("0.1", "1e+20" never).
std::string format_decimal(double value);

/// Returns the value of the first parameter called `name`, or nullptr.
const std::string* find_param(const param_list& params, std::string_view name) noexcept;

}  // namespace taskpoller::qcloud
