#include "ctl/outcome.hpp"

#include <array>
#include <boost/json/value.hpp>

namespace taskpoller::ctl {
namespace json = boost::json;
namespace {

std::string_view state_of(const json::value& doc) noexcept {
    const auto* obj = doc.if_object();
    if (obj == nullptr) return {};
    const auto* s = obj->if_contains("state");
    if (s == nullptr || !s->is_string()) return {};
    return s->get_string();
}

std::int64_t count_of(const json::object& counts, std::string_view key) noexcept {
    const auto* v = counts.if_contains(key);
    if (v == nullptr) return 0;
    if (v->is_int64()) return v->get_int64();
    if (v->is_uint64()) return static_cast<std::int64_t>(v->get_uint64());
    return 0;
}

exit_code outcome_from_counts(const json::object& counts, bool final_) noexcept {
    exit_code c = exit_code::ok;
    for (std::string_view s : {"failed", "not_found", "cancelled", "rejected"}) {
        if (count_of(counts, s) > 0) c = worst(c, exit_code::failed);
    }
    for (std::string_view s : {"timed_out", "unknown"}) {
        if (count_of(counts, s) > 0) c = worst(c, exit_code::incomplete);
    }
    if (final_) {
        for (std::string_view s : {"pending", "running"}) {
            if (count_of(counts, s) > 0) c = worst(c, exit_code::incomplete);
        }
    }
    return c;
}

}  // namespace

bool is_terminal_task_state(std::string_view s) noexcept {
    return s == "succeeded" || s == "failed" || s == "timed_out" || s == "not_found" ||
           s == "cancelled";
}

bool is_terminal_batch_state(std::string_view s) noexcept {
    return s == "done" || s == "rejected" || s == "unknown";
}

bool is_finished(const json::value& doc) noexcept {
    const auto state = state_of(doc);
    if (state.empty()) return true;
    const auto* obj = doc.if_object();
    if (obj->contains("entries")) return is_terminal_batch_state(state);
    if (obj->contains("request_id")) return is_terminal_task_state(state);
    return is_terminal_batch_state(state) || is_terminal_task_state(state);
}

exit_code task_state_outcome(std::string_view s, bool final_) noexcept {
    if (s == "succeeded") return exit_code::ok;
    if (s == "failed" || s == "not_found" || s == "cancelled") return exit_code::failed;
    if (s == "pending" || s == "running") return final_ ? exit_code::incomplete : exit_code::ok;
    return exit_code::incomplete;
}

exit_code batch_outcome(const json::value& batch, bool final_) noexcept {
    const auto state = state_of(batch);
    if (state == "rejected") return exit_code::failed;
    if (state == "unknown" || state.empty()) return exit_code::incomplete;
    exit_code c = exit_code::ok;
    if (final_ && !is_terminal_batch_state(state)) c = exit_code::incomplete;
    const auto* counts = batch.as_object().if_contains("counts");
    if (counts != nullptr && counts->is_object()) {
        return worst(c, outcome_from_counts(counts->get_object(), final_));
    }
    // No counts: fall back on the entries' states.
    const auto* entries = batch.as_object().if_contains("entries");
    if (entries == nullptr || !entries->is_array()) return c;
    for (const auto& e : entries->get_array()) {
        const auto es = state_of(e);
        c = worst(c, es == "rejected"  ? exit_code::failed
                     : es == "unknown" ? exit_code::incomplete
                                       : task_state_outcome(es, final_));
    }
    return c;
}

exit_code document_outcome(const json::value& doc, bool final_) noexcept {
    const auto* obj = doc.if_object();
    if (obj == nullptr) return exit_code::incomplete;
    if (obj->contains("entries") || obj->contains("counts")) return batch_outcome(doc, final_);
    return task_state_outcome(state_of(doc), final_);
}

}  // namespace taskpoller::ctl
