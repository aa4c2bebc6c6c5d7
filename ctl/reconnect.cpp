#include "ctl/reconnect.hpp"

#include <algorithm>

namespace taskpoller::ctl {

reconnect_backoff::milliseconds reconnect_backoff::next() {
    const auto d = step_;
    step_ = std::min(step_ * 2, ceiling);
    const double u = std::clamp(rng_ ? rng_() : 0.0, 0.0, 1.0);
    const auto half = d.count() / 2;
    return milliseconds{half +
                        static_cast<milliseconds::rep>(u * static_cast<double>(d.count() - half))};
}

}  // namespace taskpoller::ctl
