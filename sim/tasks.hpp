#pragma once
// Services whose async actions return an integer requestId polled through a task-result API
// (docs/protocol.md "Completion"): lb (DescribeLoadBalancersTaskResult), bmlb
// (DescribeBmLoadBalancersTaskResult), bmeip (EipBmQueryTask). I/O-free; time passed in.

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <cstdint>
#include <random>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "qcloud/params.hpp"
#include "sim/config.hpp"
#include "sim/stats.hpp"

namespace taskpoller::sim {

/// The code DescribeLoadBalancersTaskResult & co answer for a requestId they never issued.
inline constexpr int unknown_request_id_code = 5000;

class task_service {
  public:
    /// Keeps references to `cfg` and `st`, which must outlive it.
    task_service(const config& cfg, stats& st);

    /// Whether `service` ("lb", "bmlb", "bmeip") implements `action`.
    static bool knows(std::string_view service, std::string_view action) noexcept;
    /// Whether `service` is one of this class's services.
    static bool serves(std::string_view service) noexcept;

    /// Runs an authenticated request and returns the answer body. A task-creating action
    /// answers `{"code":0,"requestId":<int>}`; the task-result action answers
    /// `{"code":0,"data":{"status":2|0|1}}`, or unknown_request_id_code for an id this
    /// service never issued. Bad parameters give 4000.
    boost::json::object handle(const std::string& service, const std::string& action,
                               const qcloud::param_list& params, std::int64_t now_ms);

    /// Every task: [{service, request_id, action, resources, state, started_at_ms, done_at_ms}].
    boost::json::array tasks_json(std::int64_t now_ms) const;

    /// The status a task-result call would answer now: 0, 1, 2, or -1 if unknown.
    int status(std::int64_t request_id, std::int64_t now_ms) const;

    void reset();

  private:
    struct task {
        std::string service, action;
        std::vector<std::string> resources;
        std::int64_t start_ms = 0, done_ms = 0;
        bool fails = false;
    };
    boost::json::object create(const std::string& service, const std::string& action,
                               const qcloud::param_list& params, std::int64_t now_ms);
    boost::json::object query(const std::string& service, const qcloud::param_list& params,
                              std::int64_t now_ms) const;

    const config& cfg_;
    stats& stats_;
    std::mt19937_64 rng_;
    std::int64_t next_id_ = 0;
    std::unordered_map<std::int64_t, task> tasks_;
    std::vector<std::int64_t> order_;
};

}  // namespace taskpoller::sim
