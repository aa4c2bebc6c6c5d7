#pragma once
// Reading action parameters out of a decoded request. I/O-free.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "qcloud/params.hpp"

namespace taskpoller::sim {

/// The values of `prefix.0`, `prefix.1`, ... (any non-negative decimal index, each name
/// exactly `prefix.N`), ordered by numeric index. Empty when there are none.
std::vector<std::string> indexed_values(const qcloud::param_list& params, std::string_view prefix);

/// Every value of `prefix.N.field`, ordered by N.
std::vector<std::string> indexed_field(const qcloud::param_list& params, std::string_view prefix,
                                       std::string_view field);

/// A decimal parameter: nullopt if absent, `bad` set if present but not a non-negative integer.
std::optional<std::int64_t> decimal_param(const qcloud::param_list& params, std::string_view name,
                                          bool& bad);

}  // namespace taskpoller::sim
