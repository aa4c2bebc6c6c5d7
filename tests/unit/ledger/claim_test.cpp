#include "ledger/claim.hpp"

#include <gtest/gtest.h>

#include <stdexcept>

namespace taskpoller::ledger {
namespace {

using add_result = claim_book::add_result;

// A book with one intent claimed (committed) in term `epoch`.
claim_book claimed_in(std::uint64_t epoch, const std::string& token = "tok-1") {
    claim_book b;
    b.add(token, "fp");
    b.begin_term(epoch);
    EXPECT_TRUE(b.begin_claim(token));
    EXPECT_TRUE(b.claim_committed(token));
    return b;
}

TEST(ClaimBook, the_same_token_is_the_same_submission) {
    claim_book b;
    EXPECT_EQ(b.add("tok-1", "fp-a"), add_result::added);
    EXPECT_EQ(b.add("tok-1", "fp-a"), add_result::same);
    EXPECT_EQ(b.add("tok-1", "fp-b"), add_result::conflict);
    EXPECT_EQ(b.size(), 1u);
    EXPECT_EQ(b.counters().duplicates, 1u);
    EXPECT_EQ(b.counters().conflicts, 1u);
    EXPECT_EQ(b.find("tok-1")->fingerprint, "fp-a");
    EXPECT_THROW(b.add("", "fp"), std::invalid_argument);
}

TEST(ClaimBook, nothing_is_sent_before_its_claim_committed) {
    claim_book b;
    b.add("tok-1", "fp");
    EXPECT_FALSE(b.begin_claim("tok-1"));  // no term: not leader
    b.begin_term(4);
    EXPECT_FALSE(b.begin_send("tok-1", true));  // open: not claimed
    ASSERT_TRUE(b.begin_claim("tok-1"));
    EXPECT_FALSE(b.begin_claim("tok-1"));       // already claiming
    EXPECT_FALSE(b.begin_send("tok-1", true));  // claim not committed yet
    ASSERT_TRUE(b.claim_committed("tok-1"));
    EXPECT_EQ(b.find("tok-1")->claimed_epoch, 4u);
    EXPECT_FALSE(b.begin_send("tok-1", false));  // the lease says no
    EXPECT_TRUE(b.begin_send("tok-1", true));
    EXPECT_EQ(b.find("tok-1")->state, intent_state::sent);
    EXPECT_TRUE(b.begin_send("tok-1", true));  // a provably unsent request, sent again
    EXPECT_EQ(b.find("tok-1")->sends, 2u);
    EXPECT_EQ(b.counters().sends_refused, 3u);
    EXPECT_TRUE(b.outcome_recorded("tok-1"));
    EXPECT_FALSE(b.begin_send("tok-1", true));  // done
    EXPECT_FALSE(b.outcome_recorded("tok-1"));
}

TEST(ClaimBook, a_new_term_turns_every_claim_without_outcome_into_unknown) {
    claim_book b = claimed_in(4, "a");
    b.add("b", "fp");
    ASSERT_TRUE(b.begin_claim("b"));
    ASSERT_TRUE(b.claim_committed("b"));
    ASSERT_TRUE(b.begin_send("b", true));
    b.add("c", "fp");  // open: stays open
    b.add("d", "fp");
    ASSERT_TRUE(b.begin_claim("d"));
    ASSERT_TRUE(b.claim_committed("d"));
    ASSERT_TRUE(b.outcome_recorded("d"));  // done: stays done
    b.add("e", "fp");
    ASSERT_TRUE(b.begin_claim("e"));  // claim on its way when the term ended
    b.end_term();
    EXPECT_FALSE(b.begin_send("a", true));  // fenced: no more sends
    // The same node wins again, with a new epoch: its own claims are unknown too.
    const auto lost = b.begin_term(5);
    EXPECT_EQ(lost, (std::vector<std::string>{"a", "b", "e"}));
    for (const char* t : {"a", "b", "e"}) {
        EXPECT_EQ(b.find(t)->state, intent_state::unknown) << t;
        EXPECT_FALSE(b.begin_send(t, true)) << t;
        EXPECT_FALSE(b.begin_claim(t)) << t;
    }
    EXPECT_EQ(b.find("c")->state, intent_state::open);
    EXPECT_EQ(b.find("d")->state, intent_state::done);
    EXPECT_EQ(b.open_intents(), std::vector<std::string>{"c"});
    EXPECT_EQ(b.counters().unknown_on_takeover, 3u);
    // A claim of the old term that commits late is not sendable either.
    EXPECT_FALSE(b.claim_committed("e"));
}

TEST(ClaimBook, a_claim_committed_after_the_term_ended_is_unknown) {
    claim_book b;
    b.add("t", "fp");
    b.begin_term(2);
    ASSERT_TRUE(b.begin_claim("t"));
    b.end_term();
    EXPECT_FALSE(b.claim_committed("t"));
    EXPECT_EQ(b.find("t")->state, intent_state::unknown);
    EXPECT_EQ(b.find("t")->claimed_epoch, 2u);
}

TEST(ClaimBook, an_aborted_claim_is_open_again) {
    claim_book b;
    b.add("t", "fp");
    b.begin_term(2);
    ASSERT_TRUE(b.begin_claim("t"));
    ASSERT_TRUE(b.claim_aborted("t"));  // the fence check found the lease gone
    EXPECT_EQ(b.find("t")->state, intent_state::open);
    EXPECT_FALSE(b.begin_send("t", true));
    EXPECT_EQ(b.begin_term(3), std::vector<std::string>{});  // nothing was claimed
    EXPECT_TRUE(b.begin_claim("t"));
}

TEST(ClaimBook, an_uncertain_commit_is_resolved_from_the_row) {
    claim_book b;
    for (const char* t : {"x", "y", "z"}) b.add(t, "fp");
    b.begin_term(7);
    for (const char* t : {"x", "y", "z"}) {
        ASSERT_TRUE(b.begin_claim(t));
        ASSERT_TRUE(b.claim_uncertain(t));
        EXPECT_FALSE(b.begin_send(t, true)) << t;
    }
    EXPECT_EQ(b.resolve_claim("x", 7), intent_state::claimed);  // it committed
    EXPECT_TRUE(b.begin_send("x", true));
    EXPECT_EQ(b.resolve_claim("y", 0), intent_state::open);     // it rolled back
    EXPECT_EQ(b.resolve_claim("z", 9), intent_state::unknown);  // someone else's claim
    EXPECT_EQ(b.resolve_claim("z", 0), std::nullopt);           // only once
    EXPECT_EQ(b.resolve_claim("nope", 0), std::nullopt);
}

TEST(ClaimBook, loading_a_foreign_claim_makes_it_unknown) {
    claim_book b;
    b.begin_term(10);
    EXPECT_EQ(b.load("old", "fp", 9), intent_state::unknown);  // the previous leader's
    EXPECT_EQ(b.load("fresh", "fp", 0), intent_state::open);
    EXPECT_EQ(b.load("mine", "fp", 10), intent_state::claimed);
    EXPECT_TRUE(b.begin_send("mine", true));
    EXPECT_FALSE(b.begin_send("old", true));
    // Loading again changes nothing the book already knows.
    EXPECT_EQ(b.load("mine", "fp", 10), intent_state::sent);
    EXPECT_EQ(b.counters().intents, 3u);
}

TEST(ClaimBook, terms_need_new_epochs_and_only_final_intents_are_forgotten) {
    claim_book b = claimed_in(3, "t");
    EXPECT_THROW(b.begin_term(3), std::invalid_argument);
    EXPECT_THROW(b.begin_term(0), std::invalid_argument);
    EXPECT_FALSE(b.forget("t"));
    EXPECT_TRUE(b.outcome_recorded("t"));
    EXPECT_TRUE(b.forget("t"));
    EXPECT_FALSE(b.find("t"));
    EXPECT_FALSE(b.forget("t"));
    EXPECT_EQ(b.term(), 3u);
}

TEST(ClaimBook, an_intent_refused_before_sending_is_recorded_from_open) {
    claim_book b;
    b.add("t", "fp");
    EXPECT_TRUE(b.outcome_recorded("t"));  // e.g. rejected "not sent": the action is unknown
    EXPECT_EQ(b.find("t")->state, intent_state::done);
    EXPECT_TRUE(is_final(intent_state::done));
    EXPECT_TRUE(is_final(intent_state::unknown));
    EXPECT_FALSE(is_final(intent_state::sent));
    EXPECT_EQ(to_string(intent_state::claim_unknown), "claim_unknown");
}

}  // namespace
}  // namespace taskpoller::ledger
