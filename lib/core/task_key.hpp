#pragma once
// A task's identity: (service, requestId), written "lb/6356081".

#include <compare>
#include <string>
#include <string_view>

#include "core/result.hpp"

namespace taskpoller::core {

struct task_key {
    std::string service;     ///< a registry service name: [a-z0-9_-], 1..32 characters
    std::string request_id;  ///< the cloud's requestId: 1..128 printable, non-space, no '/'

    friend auto operator<=>(const task_key&, const task_key&) = default;
};

/// "service/request_id". Does not validate.
std::string format_task_key(const task_key& k);
std::string format_task_key(std::string_view service, std::string_view request_id);

/// Checks both parts; returns an invalid error naming the bad part otherwise.
result<void> validate_service_name(std::string_view service);
result<void> validate_request_id(std::string_view request_id);

/// Parses "service/request_id" (split at the first '/'), validating both parts. Errors are
/// `invalid` with a message that quotes (a bounded prefix of) the input.
result<task_key> parse_task_key(std::string_view text);

}  // namespace taskpoller::core
