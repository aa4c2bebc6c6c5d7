// A follower's submissions (issue 19, docs/ha.md "Submissions on a follower"): recorded as an
// intent in the ledger, submitted by the leader under the batch id chosen here, answered when
// that batch reaches this node's replica.
#include "engine/tracker.hpp"

// GCC 12 reports a false -Wmismatched-new-delete for coroutine frames whose promise type has a
// sized operator delete (Asio's awaitable); see GCC bug 109224.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

#include <fmt/format.h>

#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <random>

#include "store/store.hpp"

namespace taskpoller::engine {
namespace asio = boost::asio;

namespace {

// "kind|message" (how the leader records a refusal, node.cpp) back into an error.
core::error refusal(std::string_view text) {
    auto bar = text.find('|');
    auto kind = core::error_kind::invalid;
    if (bar != std::string_view::npos) {
        auto k = text.substr(0, bar);
        if (k == "conflict") kind = core::error_kind::conflict;
        if (k == "unavailable") kind = core::error_kind::unavailable;
        if (k == "not_found") kind = core::error_kind::not_found;
        text.remove_prefix(bar + 1);
    }
    return core::error{"the leader refused the submission: " + std::string(text), kind};
}

}  // namespace

asio::awaitable<core::result<submit_result>> tracker::submit_as_intent(submission s,
                                                                       std::string fingerprint) {
    if (s.client_token.empty()) {
        // Without one a retry could not find its intent again: every intent has a token.
        std::random_device rd;
        s.client_token = fmt::format("intent-{:08x}{:08x}", rd(), rd());
    }
    intent_record mine{s.client_token, core::format_batch_id(intent_ids_.next()), fingerprint,
                       submission_to_json(s)};
    auto stored = co_await intents_->async_record_intent(mine);
    if (!stored) co_return stored.error();
    if (stored->fingerprint != fingerprint) {
        ++submit_stats_.outcomes["conflict"];
        co_return core::error{fmt::format("client_token \"{}\" was already used for a different "
                                          "submission (batch {})",
                                          s.client_token, stored->batch_id),
                              core::error_kind::conflict};
    }
    const bool repeated = stored->batch_id != mine.batch_id;
    ++submit_stats_.outcomes["intent"];
    asio::steady_timer wait(executor_);
    const auto deadline = clock_.steady_now() + intent_wait;
    auto next_status = clock_.steady_now() + std::chrono::seconds(1);
    for (;;) {
        if (auto b = store_.find_batch_by_token(s.client_token)) {
            co_return submit_result{std::move(*b), repeated};
        }
        const auto now = clock_.steady_now();
        if (now >= deadline) {
            co_return core::error{
                fmt::format("the submission is recorded in the ledger as an intent for batch {}, "
                            "but the leader has not taken it up within {} s; repeat it with "
                            "client_token \"{}\" to learn its state",
                            stored->batch_id, intent_wait.count(), s.client_token),
                core::error_kind::unavailable};
        }
        if (now >= next_status) {
            auto st = co_await intents_->async_intent_status(s.client_token);
            if (st && st->state == "refused") co_return refusal(st->error);
            next_status = now + std::chrono::seconds(1);
        }
        wait.expires_after(std::chrono::milliseconds(20));
        boost::system::error_code ec;
        co_await wait.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
}

}  // namespace taskpoller::engine
