#pragma once
// The leader's bookkeeping of submissions in a shared ledger (docs/ha.md "Claims"): intent →
// claimed → sent → outcome, one per client_token. I/O-free; the driver writes each step to the
// ledger and reports back.
//
// The rules it keeps:
//  - an intent is one submission per client_token: the same token with the same fingerprint
//    (engine::cloud::prepare's) is the same submission, with another it is a conflict;
//  - an intent is sent only after its claim, carrying the leader's epoch, COMMITTED (the
//    epoch-checked transaction succeeded), only in the term that claimed it, and only while the
//    lease says may_send (begin_send checks all three right before the request leaves);
//  - a new term (begin_term, after the lease was acquired with a new epoch) turns every claim
//    without a recorded outcome into `unknown`, whoever made it, this node included: it may have
//    been sent, so it is never sent again.
//
// Single-threaded (the io_context's thread). Memory: one small record per intent until forget().

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace taskpoller::ledger {

enum class intent_state : std::uint8_t {
    open,           ///< recorded, not claimed: nothing sent
    claiming,       ///< the claim transaction is on its way
    claim_unknown,  ///< the claim's COMMIT outcome is unknown (connection lost): re-read the row
    claimed,        ///< the claim committed in this term: may be sent
    sent,           ///< handed to the cloud at least once (maybe received)
    done,           ///< an outcome (accepted, rejected, not sent) is recorded
    unknown,        ///< claimed in an earlier term without an outcome: never re-sent
};
std::string_view to_string(intent_state s) noexcept;
/// Whether nothing will change it any more (done, unknown).
bool is_final(intent_state s) noexcept;

struct intent_info {
    std::string client_token;
    std::string fingerprint;
    intent_state state = intent_state::open;
    std::uint64_t claimed_epoch = 0;  ///< 0 = never claimed
    std::uint32_t sends = 0;          ///< begin_send calls that returned true
};

struct claim_counters {
    std::uint64_t intents = 0;              ///< distinct intents added or loaded
    std::uint64_t duplicates = 0;           ///< the same submission again (idempotent)
    std::uint64_t conflicts = 0;            ///< a token reused for other content
    std::uint64_t claims = 0;               ///< claims committed
    std::uint64_t sends = 0;                ///< begin_send allowed
    std::uint64_t sends_refused = 0;        ///< begin_send refused (no claim, old term, no lease)
    std::uint64_t outcomes = 0;             ///< outcomes recorded
    std::uint64_t unknown_on_takeover = 0;  ///< claims turned unknown by begin_term/load
};

class claim_book {
  public:
    enum class add_result : std::uint8_t { added, same, conflict };

    /// A new intent row (this node's, or one read from the ledger). Empty tokens are invalid
    /// (std::invalid_argument): every ledger intent has one (the daemon makes one if the client
    /// gave none).
    add_result add(std::string_view client_token, std::string_view fingerprint);

    /// An intent read back from the ledger (takeover, resync; rows in state intent or claimed,
    /// loaded after begin_term): its claim epoch (0 = unclaimed).
    /// A claim of any epoch other than the current term's, without an outcome, becomes unknown.
    /// Returns the state it has afterwards. A token already known keeps what the book knows,
    /// except that an open one learns a foreign claim (→ unknown).
    intent_state load(std::string_view client_token, std::string_view fingerprint,
                      std::uint64_t claimed_epoch);

    /// This node became leader with `epoch` (non-zero, different from the current term's).
    /// Returns the tokens of every claim without an outcome, which are now unknown: the driver
    /// records each batch as unknown. Throws std::invalid_argument for a zero or unchanged epoch.
    std::vector<std::string> begin_term(std::uint64_t epoch);
    /// The term ended (fenced, or the lease lost): nothing more is claimed or sent until the
    /// next begin_term.
    void end_term() noexcept { term_ = 0; }
    /// The current term's epoch, 0 if not leader.
    std::uint64_t term() const noexcept { return term_; }

    /// Starts claiming an open intent in the current term; false (nothing changes) if it is not
    /// open or there is no term.
    bool begin_claim(std::string_view client_token);
    /// The claim transaction committed with the current term's epoch. False unless `claiming`
    /// and the term is the one that began it.
    bool claim_committed(std::string_view client_token);
    /// The claim transaction rolled back (the fence check failed, a constraint): back to open.
    bool claim_aborted(std::string_view client_token);
    /// The claim's COMMIT may or may not have happened: claim_unknown until resolve_claim().
    bool claim_uncertain(std::string_view client_token);
    /// What the row says after claim_uncertain: claimed with `row_epoch` (0 = not claimed).
    /// Claimed in this term → claimed; unclaimed → open; another epoch → unknown.
    std::optional<intent_state> resolve_claim(std::string_view client_token,
                                              std::uint64_t row_epoch);

    /// Right before the request leaves: true (→ sent) only if the intent's claim committed in
    /// the current term and `lease_may_send` (lease::may_send(now)). Called again for each
    /// re-send of a provably unsent request.
    bool begin_send(std::string_view client_token, bool lease_may_send);

    /// The outcome was written to the ledger (epoch-checked): done. Allowed from open (refused
    /// before any send), claimed and sent; false otherwise (unknown tokens, final states).
    bool outcome_recorded(std::string_view client_token);

    /// Forgets a final intent (retention). False if unknown or not final.
    bool forget(std::string_view client_token);

    std::optional<intent_info> find(std::string_view client_token) const;
    /// Open intents in the order they were added: the leader's work queue.
    std::vector<std::string> open_intents() const;
    std::size_t size() const noexcept { return intents_.size(); }
    const claim_counters& counters() const noexcept { return counters_; }

  private:
    struct record {
        intent_info info;
        std::uint64_t order = 0;
        std::uint64_t claim_term = 0;  // the term begin_claim ran in
    };
    record* get(std::string_view token);

    std::map<std::string, record, std::less<>> intents_;
    std::uint64_t term_ = 0;
    std::uint64_t last_term_ = 0;
    std::uint64_t next_order_ = 0;
    claim_counters counters_;
};

}  // namespace taskpoller::ledger
