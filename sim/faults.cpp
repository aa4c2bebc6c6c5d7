#include "sim/faults.hpp"

namespace taskpoller::sim {

bool is_before_kind(fault_kind k) noexcept {
    switch (k) {
        case fault_kind::http_500:
        case fault_kind::http_502:
        case fault_kind::http_503:
        case fault_kind::close_before:
        case fault_kind::code_6000:
        case fault_kind::code_6200:
            return true;
        default:
            return false;
    }
}

fault_injector::fault_injector(fault_config cfg, std::uint64_t seed)
    : cfg_(std::move(cfg)), seed_(seed), rng_(seed) {
    for (double p : cfg_.global) any_ = any_ || p > 0;
    for (const auto& [action, kinds] : cfg_.per_action)
        for (auto [k, p] : kinds) any_ = any_ || p > 0;
}

fault_plan fault_injector::decide(const std::string& action) {
    fault_plan plan;
    if (!any_) return plan;
    fault_probabilities p = cfg_.global;
    if (auto it = cfg_.per_action.find(action); it != cfg_.per_action.end())
        for (auto [k, prob] : it->second) p[static_cast<std::size_t>(k)] = prob;
    std::uniform_real_distribution<double> u(0.0, 1.0);
    for (std::size_t i = 0; i < fault_kind_count; ++i) {
        if (p[i] <= 0) continue;
        bool hit = p[i] >= 1.0 || u(rng_) < p[i];
        if (!hit) continue;
        auto k = static_cast<fault_kind>(i);
        if (k == fault_kind::latency)
            plan.latency = true;
        else if (is_before_kind(k) && !plan.before)
            plan.before = k;
        else if (!is_before_kind(k) && !plan.after)
            plan.after = k;
    }
    return plan;
}

}  // namespace taskpoller::sim
