#pragma once
// Labels: user-chosen key=value pairs on batches and tasks, used to filter lists.

#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <utility>

#include "core/result.hpp"

namespace taskpoller::core {

using labels = std::map<std::string, std::string, std::less<>>;

inline constexpr std::size_t max_labels = 16;
inline constexpr std::size_t max_label_key = 63;
inline constexpr std::size_t max_label_value = 255;

/// Key: 1..63 of [A-Za-z0-9._/-]; value: 0..255 printable ASCII (no control characters).
/// At most 16 labels. Returns an invalid error naming the offending label otherwise.
result<void> validate_labels(const labels& l);
result<void> validate_label(std::string_view key, std::string_view value);

/// Parses "key=value" (split at the first '='), validating both parts.
result<std::pair<std::string, std::string>> parse_label(std::string_view text);

}  // namespace taskpoller::core
