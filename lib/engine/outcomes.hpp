#pragma once
// The protocol-neutral vocabulary of the engine's protocol seam (engine/cloud.hpp): what a
// submission or a poll came to, in words the engine acts on, whatever protocol carried it. A
// protocol (API 2.0 today: engine/cloud_v2.hpp) turns its wire answers and error codes into
// these; the engine never sees a wire code's meaning, only its class. Plain data, no I/O.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/types.hpp"
#include "engine/clock_skew.hpp"

namespace taskpoller::engine {

/// How the engine must treat one failed call. Each protocol maps its own codes onto these
/// (docs/protocol.md has API 2.0's table).
enum class failure_class {
    transient,  ///< server-side trouble (or a code we cannot read): retry with backoff
    throttled,  ///< rate limited and not executed: slow the action down, then retry
    resign,     ///< expired signature or replay: re-sign with a fresh timestamp, retry once
    missing,    ///< the cloud does not know the task (polls: not_found after N answers)
    account,    ///< credentials, permissions or endpoint: would hit every call alike
    final,      ///< a final answer about this very request
};

std::string_view to_string(failure_class c) noexcept;

/// One failed call.
struct call_failure {
    enum class kind {
        transport,  ///< connect/TLS/timeout/reset, or a non-200 HTTP status
        malformed,  ///< a body that is not the documented shape
        api,        ///< a well-formed answer with an error code
    };
    kind what = kind::transport;
    failure_class cls = failure_class::transient;
    std::string code;     ///< the cloud's code as text ("4400"); empty unless api
    std::string message;  ///< for logs and users ("code 4400: too many requests")
};

/// The api_stats outcome of an answered call: "ok", "malformed", "throttled" or "api_error".
std::string_view stats_label(const std::optional<call_failure>& f) noexcept;

/// What the cloud says of one task-result task.
enum class remote_status { running, succeeded, failed };

/// The answer to one task-result poll: a status, or why there is none.
struct task_poll_answer {
    std::optional<call_failure> failure;
    remote_status status = remote_status::running;
    std::optional<clock_reading> clock{};  ///< from the answer's Date header, if any
};

/// One instance as an instance-state poll saw it, in either protocol's terms.
struct instance_observation {
    std::string instance_id{};
    int status = 0;                      ///< API 2.0: the CVM status code
    std::string state{};                 ///< API 3.0: InstanceState ("STOPPED")
    std::string operation_request_id{};  ///< API 3.0: LatestOperationRequestId (may be empty)
    std::string operation_state{};       ///< API 3.0: LatestOperationState SUCCESS/OPERATING/FAILED
    std::string operation_error{};       ///< API 3.0: LatestOperationErrorMsg
    std::string operation{};             ///< API 3.0: LatestOperation ("StopInstances")
    std::string attached_to{};           ///< API 3.0 CBS: the disk's InstanceId (empty: none)
};

/// The answer to one instance-state poll (up to the protocol's maximum instances per call).
struct instances_answer {
    std::optional<call_failure> failure;
    std::vector<instance_observation> instances;
    std::optional<clock_reading> clock{};  ///< from the answer's Date header, if any
};

/// What one send of a submission came to.
struct submission_answer {
    enum class kind {
        accepted,   ///< answered; `entries` say, per resource, what was accepted or rejected
        rejected,   ///< a final error for the whole call: nothing was started
        throttled,  ///< rate limited: not executed, may be sent again after a backoff
        busy,       ///< the resource is busy with another task: not executed, send again later
        resign,     ///< expired signature or replay: not executed, may be re-signed once
        not_sent,   ///< provably never reached the server: may be sent again
        unknown,    ///< may have been acted on (lost answer, unreadable body): never re-sent
    };
    kind what = kind::not_sent;
    int code = 0;         ///< the call's outer code (accepted: 0 or a partial-success code)
    std::string message;  ///< the call's message, or what went wrong
    std::vector<core::entry> entries;  ///< accepted only: one per resource
};

std::string_view to_string(submission_answer::kind k) noexcept;

/// The answer of a submission sent as several calls (API 3.0 chunks), from each call's final
/// answer and the resources it named (same order; `answers` may be shorter than `resources`:
/// the calls after it were never sent, `unsent_message` says why). One call: its answer as is.
/// Several: `accepted` with one entry per resource of every call (an accepted call's own
/// entries; a failed call's resources `rejected`, or `unknown` if its outcome is unknown), the
/// code and message of the first call that failed, so the store decides the batch's state.
submission_answer merge_calls(std::vector<submission_answer> answers,
                              const std::vector<std::vector<std::string>>& resources,
                              std::string_view unsent_message);

/// What to do after one send of a submission (docs/protocol.md "Retries"): a submission is sent
/// again only when it provably did not execute. Pure.
enum class submit_step {
    record,            ///< record the answer: the submission is over
    send_after_delay,  ///< not executed (not sent, throttled): back off, then send again
    send_now,          ///< signature expired or replayed: re-sign and send again at once
};

/// `attempt` is 0-based; `max_attempts` ≥ 1 bounds the sends; `stopping` records at once.
/// A re-sign is allowed once (on the first attempt only), so a clock that is badly off cannot
/// loop; a lost or unreadable answer is never sent again.
submit_step decide_submission(submission_answer::kind k, std::uint32_t attempt,
                              std::uint32_t max_attempts, bool stopping) noexcept;

}  // namespace taskpoller::engine
