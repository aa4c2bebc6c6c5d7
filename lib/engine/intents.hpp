#pragma once
// Submissions on a follower of the PostgreSQL ledger (issue 19, docs/ha.md "Submissions on a
// follower"): the follower records the submission as an intent in the ledger (idempotent on its
// client_token), the leader submits it under the batch id the follower chose, and the follower
// answers once the batch reaches its replica. The tracker sees the ledger through this
// interface (the daemon adapts ledger::node to it), so the engine does not depend on lib/ledger.

#include <boost/asio/awaitable.hpp>
#include <string>

#include "core/result.hpp"

namespace taskpoller::engine {

struct submission;

/// One row of tp_intents as the follower writes it and the leader reads it.
struct intent_record {
    std::string client_token{};
    std::string batch_id{};
    std::string fingerprint{};  ///< cloud::prepare's content digest
    std::string request{};      ///< the submission as JSON (submission_to_json)
};

/// An intent's state: "intent" (not taken yet), "done" (its batch exists), "refused" (with why).
struct intent_status {
    std::string state{};
    std::string error{};
};

class intent_ledger {
  public:
    virtual ~intent_ledger() = default;
    /// Whether submissions must be recorded as intents (this node follows) instead of sent.
    virtual bool takes_intents() const = 0;
    /// Inserts the intent unless its client_token has one; yields the row as stored (the earlier
    /// one's batch id and fingerprint for a repeated token). unavailable when the ledger cannot
    /// be reached.
    virtual boost::asio::awaitable<core::result<intent_record>> async_record_intent(
        intent_record r) = 0;
    virtual boost::asio::awaitable<core::result<intent_status>> async_intent_status(
        std::string client_token) = 0;
};

/// The submission as an intent's request (every field async_submit reads), and back.
std::string submission_to_json(const submission& s);
core::result<submission> submission_from_json(std::string_view json);

}  // namespace taskpoller::engine
