#include "engine/outcomes.hpp"

#include <fmt/format.h>

namespace taskpoller::engine {

std::string_view to_string(failure_class c) noexcept {
    switch (c) {
        case failure_class::transient:
            return "transient";
        case failure_class::throttled:
            return "throttled";
        case failure_class::resign:
            return "resign";
        case failure_class::missing:
            return "missing";
        case failure_class::account:
            return "account";
        case failure_class::final:
            return "final";
    }
    return "final";
}

std::string_view stats_label(const std::optional<call_failure>& f) noexcept {
    if (!f) return "ok";
    if (f->what == call_failure::kind::malformed) return "malformed";
    return f->cls == failure_class::throttled ? "throttled" : "api_error";
}

std::string_view to_string(submission_answer::kind k) noexcept {
    using kind = submission_answer::kind;
    switch (k) {
        case kind::accepted:
            return "accepted";
        case kind::rejected:
            return "rejected";
        case kind::throttled:
            return "throttled";
        case kind::busy:
            return "busy";
        case kind::resign:
            return "resign";
        case kind::not_sent:
            return "not_sent";
        case kind::unknown:
            return "unknown";
    }
    return "unknown";
}

submit_step decide_submission(submission_answer::kind k, std::uint32_t attempt,
                              std::uint32_t max_attempts, bool stopping) noexcept {
    if (stopping || attempt + 1 >= max_attempts) return submit_step::record;
    switch (k) {
        case submission_answer::kind::not_sent:
        case submission_answer::kind::throttled:
        case submission_answer::kind::busy:
            return submit_step::send_after_delay;
        case submission_answer::kind::resign:
            return attempt == 0 ? submit_step::send_now : submit_step::record;
        case submission_answer::kind::accepted:
        case submission_answer::kind::rejected:
        case submission_answer::kind::unknown:
            return submit_step::record;
    }
    return submit_step::record;
}

submission_answer merge_calls(std::vector<submission_answer> answers,
                              const std::vector<std::vector<std::string>>& resources,
                              std::string_view unsent_message) {
    using kind = submission_answer::kind;
    if (resources.size() == 1 && answers.size() == 1) return std::move(answers.front());
    submission_answer out{kind::accepted, 0, {}, {}};
    bool failed = false;
    for (std::size_t i = 0; i < resources.size(); ++i) {
        const bool answered = i < answers.size();
        auto a = answered ? std::move(answers[i])
                          : submission_answer{kind::not_sent, -1, std::string(unsent_message), {}};
        if (a.what == kind::accepted) {
            for (auto& e : a.entries) out.entries.push_back(std::move(e));
            continue;
        }
        const bool unknown = a.what == kind::unknown;
        std::string message = fmt::format("call {} of {}: {}{}", i + 1, resources.size(),
                                          a.what == kind::not_sent ? "not sent: " : "", a.message);
        if (!failed) {
            failed = true;
            out.code = a.what == kind::not_sent ? -1 : a.code;
            out.message = message;
        }
        for (const auto& r : resources[i]) {
            out.entries.push_back(
                {r,
                 unknown ? core::entry_outcome::unknown : core::entry_outcome::rejected,
                 unknown ? 0 : (a.what == kind::not_sent ? -1 : a.code),
                 message,
                 {},
                 {}});
        }
    }
    return out;
}

}  // namespace taskpoller::engine
