#include "ledger/claim.hpp"

#include <algorithm>
#include <stdexcept>

namespace taskpoller::ledger {

std::string_view to_string(intent_state s) noexcept {
    switch (s) {
        case intent_state::open:
            return "open";
        case intent_state::claiming:
            return "claiming";
        case intent_state::claim_unknown:
            return "claim_unknown";
        case intent_state::claimed:
            return "claimed";
        case intent_state::sent:
            return "sent";
        case intent_state::done:
            return "done";
        case intent_state::unknown:
            return "unknown";
    }
    return "?";
}

bool is_final(intent_state s) noexcept {
    return s == intent_state::done || s == intent_state::unknown;
}

claim_book::record* claim_book::get(std::string_view token) {
    const auto it = intents_.find(token);
    return it == intents_.end() ? nullptr : &it->second;
}

claim_book::add_result claim_book::add(std::string_view client_token,
                                       std::string_view fingerprint) {
    if (client_token.empty()) throw std::invalid_argument("intent without a client token");
    if (const record* r = get(client_token)) {
        if (r->info.fingerprint == fingerprint) {
            ++counters_.duplicates;
            return add_result::same;
        }
        ++counters_.conflicts;
        return add_result::conflict;
    }
    record r;
    r.info.client_token = std::string(client_token);
    r.info.fingerprint = std::string(fingerprint);
    r.order = next_order_++;
    intents_.emplace(std::string(client_token), std::move(r));
    ++counters_.intents;
    return add_result::added;
}

intent_state claim_book::load(std::string_view client_token, std::string_view fingerprint,
                              std::uint64_t claimed_epoch) {
    record* r = get(client_token);
    if (!r) {
        add(client_token, fingerprint);
        r = get(client_token);
    }
    if (claimed_epoch == 0 || r->info.state != intent_state::open) return r->info.state;
    r->info.claimed_epoch = claimed_epoch;
    if (term_ != 0 && claimed_epoch == term_) {
        // Only this term's own claim can be in this term; the book would know it. Trust the
        // row: it committed.
        r->info.state = intent_state::claimed;
        r->claim_term = term_;
    } else {
        r->info.state = intent_state::unknown;
        ++counters_.unknown_on_takeover;
    }
    return r->info.state;
}

std::vector<std::string> claim_book::begin_term(std::uint64_t epoch) {
    if (epoch == 0 || epoch == last_term_)
        throw std::invalid_argument("a new term needs a new, non-zero epoch");
    term_ = epoch;
    last_term_ = epoch;
    std::vector<std::pair<std::uint64_t, std::string>> lost;
    for (auto& [token, r] : intents_) {
        switch (r.info.state) {
            case intent_state::claiming:
            case intent_state::claim_unknown:
            case intent_state::claimed:
            case intent_state::sent:
                r.info.state = intent_state::unknown;
                ++counters_.unknown_on_takeover;
                lost.emplace_back(r.order, token);
                break;
            default:
                break;
        }
    }
    std::sort(lost.begin(), lost.end());
    std::vector<std::string> out;
    out.reserve(lost.size());
    for (auto& l : lost) out.push_back(std::move(l.second));
    return out;
}

bool claim_book::begin_claim(std::string_view client_token) {
    record* r = get(client_token);
    if (!r || term_ == 0 || r->info.state != intent_state::open) return false;
    r->info.state = intent_state::claiming;
    r->claim_term = term_;
    return true;
}

bool claim_book::claim_committed(std::string_view client_token) {
    record* r = get(client_token);
    if (!r || r->info.state != intent_state::claiming) return false;
    r->info.claimed_epoch = r->claim_term;
    if (term_ == 0 || r->claim_term != term_) {
        // Committed under an epoch that has ended since: it may not be sent any more.
        r->info.state = intent_state::unknown;
        ++counters_.unknown_on_takeover;
        return false;
    }
    r->info.state = intent_state::claimed;
    ++counters_.claims;
    return true;
}

bool claim_book::claim_aborted(std::string_view client_token) {
    record* r = get(client_token);
    if (!r || r->info.state != intent_state::claiming) return false;
    r->info.state = intent_state::open;
    r->claim_term = 0;
    return true;
}

bool claim_book::claim_uncertain(std::string_view client_token) {
    record* r = get(client_token);
    if (!r || r->info.state != intent_state::claiming) return false;
    r->info.state = intent_state::claim_unknown;
    return true;
}

std::optional<intent_state> claim_book::resolve_claim(std::string_view client_token,
                                                      std::uint64_t row_epoch) {
    record* r = get(client_token);
    if (!r || r->info.state != intent_state::claim_unknown) return std::nullopt;
    if (row_epoch == 0) {
        r->info.state = intent_state::open;
        r->claim_term = 0;
    } else if (term_ != 0 && row_epoch == term_ && r->claim_term == term_) {
        r->info.state = intent_state::claimed;
        r->info.claimed_epoch = row_epoch;
        ++counters_.claims;
    } else {
        r->info.state = intent_state::unknown;
        r->info.claimed_epoch = row_epoch;
        ++counters_.unknown_on_takeover;
    }
    return r->info.state;
}

bool claim_book::begin_send(std::string_view client_token, bool lease_may_send) {
    record* r = get(client_token);
    const bool ok =
        r && lease_may_send && term_ != 0 &&
        (r->info.state == intent_state::claimed || r->info.state == intent_state::sent) &&
        r->info.claimed_epoch == term_;
    if (!ok) {
        ++counters_.sends_refused;
        return false;
    }
    r->info.state = intent_state::sent;
    ++r->info.sends;
    ++counters_.sends;
    return true;
}

bool claim_book::outcome_recorded(std::string_view client_token) {
    record* r = get(client_token);
    if (!r) return false;
    switch (r->info.state) {
        case intent_state::open:
        case intent_state::claimed:
        case intent_state::sent:
            r->info.state = intent_state::done;
            ++counters_.outcomes;
            return true;
        default:
            return false;
    }
}

bool claim_book::forget(std::string_view client_token) {
    const auto it = intents_.find(client_token);
    if (it == intents_.end() || !is_final(it->second.info.state)) return false;
    intents_.erase(it);
    return true;
}

std::optional<intent_info> claim_book::find(std::string_view client_token) const {
    const auto it = intents_.find(client_token);
    if (it == intents_.end()) return std::nullopt;
    return it->second.info;
}

std::vector<std::string> claim_book::open_intents() const {
    std::vector<std::pair<std::uint64_t, std::string>> open;
    for (const auto& [token, r] : intents_)
        if (r.info.state == intent_state::open) open.emplace_back(r.order, token);
    std::sort(open.begin(), open.end());
    std::vector<std::string> out;
    out.reserve(open.size());
    for (auto& o : open) out.push_back(std::move(o.second));
    return out;
}

}  // namespace taskpoller::ledger
