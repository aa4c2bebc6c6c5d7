#pragma once
// Inputs and outputs of the store's API (store/store.hpp).

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/types.hpp"

namespace taskpoller::store {

/// Finished work is forgotten after `ttl`, and beyond the counts (oldest finished first).
/// Live tasks are never forgotten; a batch's tasks are forgotten together with the batch.
struct retention_policy {
    std::chrono::seconds ttl{std::chrono::hours{24}};
    std::size_t max_finished_tasks = 1'000'000;
    std::size_t max_finished_batches = 100'000;
};

struct store_options {
    retention_policy retention;
    std::size_t change_log_capacity = 65'536;
    std::optional<std::uint64_t> id_seed;  ///< reproducible batch ids (tests); random otherwise
};

/// A submission about to be sent: becomes a batch in state `submitting`.
struct batch_spec {
    std::string service{};
    std::string action{};
    std::string region{};
    core::labels labels{};
    std::string client_token{};  ///< empty = none; else unique among retained batches
    /// The resources the call names: the batch's entries (outcome unknown, no requestId) until
    /// the answer replaces them, so a batch whose answer is lost still says what it may touch.
    std::vector<std::string> resources{};
    std::string target{};        ///< core::batch::target
    core::poll_settings poll{};  ///< core::batch::poll
    /// Empty: a fresh id. Else this id (a follower chose it for a submission it recorded as an
    /// intent, docs/ha.md); conflict if a retained batch has it.
    std::string id{};
};

/// The parsed answer to a submission. Accepted entries sharing a request_id become one task
/// whose resources are those entries' resource ids.
struct batch_outcome {
    int code = 0;
    std::string message{};
    std::vector<core::entry> entries{};  ///< `state` is ignored
    core::sys_time deadline{};           ///< for the tasks created; epoch = none
};

/// Tracking a requestId something else submitted.
struct adopt_spec {
    std::string service{};
    std::string request_id{};
    std::string action{};
    std::vector<std::string> resources{};
    core::labels labels{};
    core::sys_time deadline{};
    std::string region{};        ///< where it is polled (kept so a restart polls the same region)
    core::poll_settings poll{};  ///< its own polling schedule (core::task::poll)
};

/// What one poll learned. Unset fields keep their value.
struct task_update {
    std::optional<core::task_state> state{};
    std::optional<std::string> last_status{};
    std::optional<std::string> last_error{};
    bool count_poll = false;  ///< increment `polls`
};

/// Every set field must match (AND). Empty strings and an empty label map match anything.
struct task_filter {
    std::optional<core::task_state> state{};
    std::string service{};
    std::string action{};
    std::string batch_id{};
    core::labels labels{};
};

struct batch_filter {
    std::optional<core::batch_state> state{};
    std::string service{};
    std::string action{};
    core::labels labels{};
};

inline constexpr std::size_t max_page_limit = 1000;

/// `limit` is clamped to 1..max_page_limit. `page_token` is empty for the first page, else the
/// `next_page_token` of the previous page.
struct page_request {
    std::size_t limit = 100;
    std::string page_token{};
};

/// Items in creation order. Pages are stable: objects created after the first page was read
/// appear on later pages, and evicted ones simply vanish; nothing is repeated or skipped.
template <class T>
struct page {
    std::vector<T> items{};
    std::string next_page_token{};  ///< empty when there is nothing more (at the time of reading)
};

}  // namespace taskpoller::store
