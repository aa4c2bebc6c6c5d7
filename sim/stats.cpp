#include "sim/stats.hpp"

#include <algorithm>

namespace taskpoller::sim {

void stats::on_request(const std::string& action, std::int64_t now_ms) {
    auto& a = actions_[action];
    a.requests++;
    while (!a.last_second.empty() && a.last_second.front() <= now_ms - 1000)
        a.last_second.pop_front();
    a.last_second.push_back(now_ms);
    a.max_rate_1s =
        std::max<std::int64_t>(a.max_rate_1s, static_cast<std::int64_t>(a.last_second.size()));
}

void stats::on_refused(const std::string& action, int code) {
    auto& a = actions_[action];
    a.refused[std::to_string(code)]++;
    if (code == 4100) a.signature_failures++;
    if (code == 4400) a.throttled++;
}

void stats::on_refused(const std::string& action, const std::string& code) {
    auto& a = actions_[action];
    a.refused[code]++;
    if (code == "AuthFailure.SignatureFailure") a.signature_failures++;
    if (code == "RequestLimitExceeded") a.throttled++;
}

void stats::on_fault(const std::string& action, fault_kind k) {
    actions_[action].faults[to_string(k)]++;
}

std::int64_t stats::executed(const std::string& resource, const std::string& action) const {
    auto r = resources_.find(resource);
    if (r == resources_.end()) return 0;
    auto a = r->second.find(action);
    return a == r->second.end() ? 0 : a->second;
}

boost::json::object stats::to_json() const {
    boost::json::object actions;
    for (const auto& [name, a] : actions_) {
        boost::json::object refused, faults;
        for (const auto& [code, n] : a.refused) refused[code] = n;
        for (const auto& [kind, n] : a.faults) faults[kind] = n;
        actions[name] = {
            {"requests", a.requests},        {"accepted", a.accepted},
            {"throttled", a.throttled},      {"signature_failures", a.signature_failures},
            {"refused", std::move(refused)}, {"faults", std::move(faults)},
            {"max_rate_1s", a.max_rate_1s}};
    }
    boost::json::object resources;
    for (const auto& [id, per] : resources_) {
        boost::json::object o;
        for (const auto& [action, n] : per) o[action] = n;
        resources[id] = std::move(o);
    }
    return {{"actions", std::move(actions)}, {"resources", std::move(resources)}};
}

void stats::clear() {
    actions_.clear();
    resources_.clear();
}

}  // namespace taskpoller::sim
