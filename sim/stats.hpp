#pragma once
// Counters behind GET /_sim/stats: per action and per resource. I/O-free.

#include <boost/json/object.hpp>
#include <cstdint>
#include <deque>
#include <map>
#include <string>

#include "sim/config.hpp"

namespace taskpoller::sim {

class stats {
  public:
    /// Counts a request for `action` at `now_ms` (non-decreasing) and updates the highest number
    /// of requests seen within any 1-second window.
    void on_request(const std::string& action, std::int64_t now_ms);
    void on_accepted(const std::string& action) { actions_[action].accepted++; }
    /// Counts a refused request by its code (4100 also counts as a signature failure).
    void on_refused(const std::string& action, int code);
    /// The same for an API 3.0 code: AuthFailure.SignatureFailure counts as a signature
    /// failure, RequestLimitExceeded as throttled.
    void on_refused(const std::string& action, const std::string& code);
    void on_fault(const std::string& action, fault_kind k);
    /// Records that `action` was executed on `resource` (an instance or load balancer id).
    void on_executed(const std::string& resource, const std::string& action) {
        resources_[resource][action]++;
    }

    /// How many times `action` was executed on `resource`.
    std::int64_t executed(const std::string& resource, const std::string& action) const;

    /// {"actions":{A:{requests,accepted,throttled,signature_failures,refused:{code:n},
    ///  faults:{kind:n},max_rate_1s}}, "resources":{id:{action:n}}}
    boost::json::object to_json() const;
    void clear();

  private:
    struct per_action {
        std::int64_t requests = 0, accepted = 0, throttled = 0, signature_failures = 0;
        std::int64_t max_rate_1s = 0;
        std::map<std::string, std::int64_t> refused;  // by code, 2.0 as decimal text
        std::map<std::string, std::int64_t> faults;
        std::deque<std::int64_t> last_second;  // request times within the last 1000 ms
    };
    std::map<std::string, per_action> actions_;
    std::map<std::string, std::map<std::string, std::int64_t>> resources_;
};

}  // namespace taskpoller::sim
