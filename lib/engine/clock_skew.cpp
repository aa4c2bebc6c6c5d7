#include "engine/clock_skew.hpp"

#include <fmt/format.h>

#include "http/http_date.hpp"

namespace taskpoller::engine {

std::optional<clock_reading> read_clock(std::string_view date, core::sys_time sent,
                                        core::sys_time received) {
    if (received < sent) return std::nullopt;
    const auto cloud = http::parse_http_date(date);
    if (!cloud) return std::nullopt;
    using std::chrono::duration_cast;
    clock_reading r;
    r.rtt = duration_cast<milliseconds>(received - sent);
    r.measured_at = sent + (received - sent) / 2;
    const auto local_ms = duration_cast<milliseconds>(r.measured_at.time_since_epoch()).count();
    // The middle of the second Date names.
    const auto cloud_ms = *cloud * 1000 + 500;
    r.skew = milliseconds(cloud_ms - local_ms);
    return r;
}

std::string_view to_string(skew_level l) noexcept {
    switch (l) {
        case skew_level::ok:
            return "ok";
        case skew_level::warn:
            return "warn";
        case skew_level::fail:
            return "fail";
    }
    return "fail";
}

skew_level judge_skew(milliseconds skew, milliseconds uncertainty) noexcept {
    const auto least = (skew < milliseconds(0) ? -skew : skew) - uncertainty;
    if (least > signature_window) return skew_level::fail;
    if (least > skew_warn_after) return skew_level::warn;
    return skew_level::ok;
}

std::string describe_skew(milliseconds skew, milliseconds uncertainty) {
    const auto abs = skew < milliseconds(0) ? -skew : skew;
    if (abs < milliseconds(50) || abs <= uncertainty) return "in step with the cloud";
    return fmt::format("{:.1f} s {} the cloud", static_cast<double>(abs.count()) / 1000.0,
                       skew > milliseconds(0) ? "behind" : "ahead of");
}

std::string describe_reading(const clock_reading& r) {
    return fmt::format("{} (±{:.1f} s)", describe_skew(r.skew, r.uncertainty()),
                       static_cast<double>(r.uncertainty().count()) / 1000.0);
}

}  // namespace taskpoller::engine
