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
    /// What makes a requestId unique at the cloud besides the service: the region it was issued
    /// in and, for a task our own submission created, its batch (docs/design.md "Task
    /// identity"). Empty = an adopted task (no batch) or, in a lookup, "not given": a lookup
    /// matches the task whose identity equals the key exactly, else the only task whose
    /// service and requestId match and whose region and batch match where the key names them.
    std::string region{};
    std::string batch_id{};

    friend auto operator<=>(const task_key&, const task_key&) = default;
};

/// "service/request_id". Does not validate.
std::string format_task_key(const task_key& k);
std::string format_task_key(std::string_view service, std::string_view request_id);

/// The full identity as one string ("service/request_id\nregion\nbatch_id"; neither part
/// may contain a newline): the change log's subject and the poller's index key.
std::string format_task_identity(const task_key& k);
/// The inverse of format_task_identity (also accepts a bare "service/request_id"). Does not
/// validate.
task_key parse_task_identity(std::string_view text);

/// Checks both parts; returns an invalid error naming the bad part otherwise.
result<void> validate_service_name(std::string_view service);
result<void> validate_request_id(std::string_view request_id);

/// Parses "service/request_id" (split at the first '/'), validating both parts. Errors are
/// `invalid` with a message that quotes (a bounded prefix of) the input.
result<task_key> parse_task_key(std::string_view text);

}  // namespace taskpoller::core
