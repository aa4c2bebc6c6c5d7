#pragma once
// CLB 2018-03-17 (API 3.0): target and listener mutations that each create one task keyed by
// the call's RequestId, polled with DescribeTaskStatus. One running task per load balancer.
// I/O-free; time passed in.

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <cstdint>
#include <random>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "sim/config.hpp"
#include "sim/stats.hpp"
#include "sim/v3.hpp"

namespace taskpoller::sim {

class clb_v3_service {
  public:
    /// Keeps references to `cfg` and `st`, which must outlive it.
    clb_v3_service(const config& cfg, stats& st);

    /// Whether `action` is a CLB 3.0 action this simulator implements.
    static bool knows(std::string_view action) noexcept;

    /// Runs an authenticated request. A task-creating action on a load balancer that has a
    /// running task is refused with FailedOperation.ResourceInOperating (nothing runs).
    v3::result handle(const std::string& action, const boost::json::object& params,
                      const std::string& request_id, std::int64_t now_ms);

    /// Every task: [{service:"clb", request_id, action, resources, state, started_at_ms,
    /// done_at_ms}].
    boost::json::array tasks_json(std::int64_t now_ms) const;

    /// DescribeTaskStatus's Status now: 0 succeeded, 1 failed, 2 running; -1 unknown.
    int status(const std::string& request_id, std::int64_t now_ms) const;

    void reset();

  private:
    struct task {
        std::string request_id, action;
        std::vector<std::string> load_balancers;
        std::int64_t start_ms = 0, done_ms = 0;
        bool fails = false;
    };
    v3::result create(const std::string& action, const boost::json::object& params,
                      const std::string& request_id, std::int64_t now_ms);
    v3::result describe(const boost::json::object& params, std::int64_t now_ms) const;
    int status_of(const task& t, std::int64_t now_ms) const;

    const config& cfg_;
    stats& stats_;
    std::mt19937_64 rng_;
    std::vector<task> tasks_;
    std::unordered_map<std::string, std::size_t> by_request_id_;
    std::unordered_map<std::string, std::size_t> last_task_of_lb_;
    std::uint64_t next_listener_ = 0;
};

}  // namespace taskpoller::sim
