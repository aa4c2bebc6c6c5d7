#include "engine/cloud_check.hpp"

namespace taskpoller::engine {

std::string_view to_string(cloud_check::verdict v) noexcept {
    switch (v) {
        case cloud_check::verdict::ok:
            return "ok";
        case cloud_check::verdict::refused:
            return "refused";
        case cloud_check::verdict::inconclusive:
            return "inconclusive";
    }
    return "inconclusive";
}

cloud_check judge_probe(std::string service, std::string action,
                        const std::optional<call_failure>& failure,
                        const std::optional<clock_reading>& clock) {
    cloud_check c;
    c.service = std::move(service);
    c.action = std::move(action);
    c.clock = clock;
    using v = cloud_check::verdict;
    if (!failure) {
        c.result = v::ok;
        c.message = "a signed " + c.action + " was answered";
        return c;
    }
    const auto& f = *failure;
    switch (f.cls) {
        case failure_class::missing:
        case failure_class::final:
            // The made-up id was refused on its merits: the request itself was authenticated.
            c.result = f.what == call_failure::kind::api ? v::ok : v::inconclusive;
            c.message = c.result == v::ok ? "a signed " + c.action + " was authenticated (" +
                                                f.message + ", as expected for a made-up id)"
                                          : f.message;
            return c;
        case failure_class::account:
            c.result = v::refused;
            c.message = "refused: " + f.message +
                        " (check the SecretId/SecretKey, the token, their permissions and the "
                        "endpoint)";
            return c;
        case failure_class::resign:
            c.result = v::refused;
            c.message = "refused: " + f.message +
                        (clock ? " (this machine's clock is " + describe_reading(*clock) + ")"
                               : " (is this machine's clock right?)");
            return c;
        case failure_class::throttled:
        case failure_class::transient:
            break;
    }
    c.result = v::inconclusive;
    c.message = "no verdict: " + f.message;
    return c;
}

}  // namespace taskpoller::engine
