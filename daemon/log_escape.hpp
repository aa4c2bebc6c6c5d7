#pragma once
// Escaping for log lines: a message is untrusted text (cloud error messages, client input).

#include <string>
#include <string_view>

namespace taskpoller::daemon {

/// The body of a JSON string (without quotes): '"', '\\' and control characters escaped,
/// invalid UTF-8 bytes replaced by U+FFFD, so the result is always valid JSON.
std::string json_escape(std::string_view s);

/// One-line text: '\n', '\r', '\t' and '\\' become "\n", "\r", "\t", "\\"; other control
/// characters become "\xNN". Other bytes pass unchanged.
std::string text_escape(std::string_view s);

}  // namespace taskpoller::daemon
