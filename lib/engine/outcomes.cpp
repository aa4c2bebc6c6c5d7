#include "engine/outcomes.hpp"

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

std::string_view to_string(submission_answer::kind k) noexcept {
    using kind = submission_answer::kind;
    switch (k) {
        case kind::accepted:
            return "accepted";
        case kind::rejected:
            return "rejected";
        case kind::throttled:
            return "throttled";
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

}  // namespace taskpoller::engine
