#pragma once
// The domain's value types as the rest of the program sees them (the store keeps a compact form
// internally and hands out these). Fields mirror the JSON on the socket (docs/design.md
// "Interfaces other programs rely on", docs/api.md).

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.hpp"
#include "core/labels.hpp"
#include "core/poll_settings.hpp"
#include "core/states.hpp"
#include "core/task_key.hpp"

namespace taskpoller::core {

/// Task counts indexed by static_cast<size_t>(task_state).
using task_counts = std::array<std::uint32_t, task_state_count>;

/// One resource's outcome in a batch answer.
struct entry {
    std::string resource_id;
    entry_outcome outcome = entry_outcome::unknown;
    int code = 0;
    std::string message;
    std::string request_id;  ///< empty unless accepted
    /// The state of the task this entry started, when the store still has it (read side only;
    /// ignored on input).
    std::optional<task_state> state;

    friend bool operator==(const entry&, const entry&) = default;
};

struct batch {
    std::string id;  ///< "b-..." (core/batch_id.hpp)
    batch_state state = batch_state::submitting;
    std::string service;
    std::string action;
    std::string region;
    int code = 0;  ///< the outer code of the answer (0 until answered)
    std::string message;
    sys_time created_at{};
    sys_time finished_at{};  ///< epoch (zero) until the batch is terminal
    core::labels labels;
    std::string client_token;  ///< empty if none
    std::vector<entry> entries;
    task_counts counts{};           ///< this batch's tasks by state (read side only)
    std::uint64_t created_seq = 0;  ///< change sequence number that created it (list order)
    std::uint64_t updated_seq = 0;  ///< sequence number of its latest change
    /// The one resource the call acts on its resources with (AttachDisks' InstanceId), checked
    /// by the tracking; empty for most actions.
    std::string target{};
    /// The submission's own polling schedule (its tasks are polled on it); empty: the
    /// configured one.
    poll_settings poll{};

    friend bool operator==(const batch&, const batch&) = default;
};

struct task {
    std::string service;
    std::string request_id;
    task_state state = task_state::pending;
    std::string action;
    std::string batch_id;                ///< empty for adopted tasks
    std::vector<std::string> resources;  ///< CVM instance ids; else empty or the resource id
    std::string region;                  ///< polled there: its batch's, or the adoption's
    std::string last_status;             ///< short, as last observed from the cloud
    std::string last_error;              ///< why the latest poll failed, if it did
    std::uint32_t polls = 0;
    sys_time created_at{};
    sys_time finished_at{};  ///< epoch (zero) until terminal
    sys_time deadline{};     ///< epoch (zero) = no deadline
    core::labels labels;
    std::uint64_t created_seq = 0;
    std::uint64_t updated_seq = 0;
    std::string target{};  ///< its batch's target (read side only; core::batch::target)
    /// Its own polling schedule: an adopted task's, or its batch's (core::batch::poll).
    poll_settings poll{};

    task_key key() const { return task_key{service, request_id, region, batch_id}; }
    friend bool operator==(const task&, const task&) = default;
};

}  // namespace taskpoller::core
