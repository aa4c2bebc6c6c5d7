#pragma once
// VPC 2017-03-12 (API 3.0): AttachNetworkInterface and DetachNetworkInterface, each one task
// keyed by the call's RequestId and polled with DescribeVpcTaskResult. Any `eni-` id exists
// [chosen]; an ENI is attached to at most one instance of the CVM pool, and has at most one
// running task. I/O-free; time passed in.

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <cstdint>
#include <random>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "sim/config.hpp"
#include "sim/cvm.hpp"
#include "sim/stats.hpp"
#include "sim/v3.hpp"

namespace taskpoller::sim {

class vpc_v3_service {
  public:
    /// Keeps references to `cfg`, `st` and `cvm`, which must outlive it.
    vpc_v3_service(const config& cfg, stats& st, cvm_service& cvm);

    /// Whether `action` is a VPC 3.0 action this simulator implements.
    static bool knows(std::string_view action) noexcept;

    v3::result handle(const std::string& action, const boost::json::object& params,
                      const std::string& request_id, std::int64_t now_ms);

    /// Every task: [{service:"vpc", request_id, action, resources ([ENI]), instance_id, state,
    /// started_at_ms, done_at_ms}].
    boost::json::array tasks_json(std::int64_t now_ms) const;

    /// DescribeVpcTaskResult's Status now: "SUCCESS", "FAILED", "RUNNING"; "" if unknown.
    std::string status(const std::string& request_id, std::int64_t now_ms) const;
    /// The instance `eni` is attached to now ("" if none).
    std::string attachment(const std::string& eni, std::int64_t now_ms) const;

    void reset();

  private:
    struct task {
        std::string request_id, action, eni, instance;
        std::string attached_before;  // the ENI's instance before this task ("" = none)
        std::int64_t start_ms = 0, done_ms = 0;
        bool fails = false;
    };
    v3::result create(const std::string& action, const boost::json::object& params,
                      const std::string& request_id, std::int64_t now_ms);
    v3::result describe(const boost::json::object& params, std::int64_t now_ms) const;
    static std::string_view status_of(const task& t, std::int64_t now_ms);

    const config& cfg_;
    stats& stats_;
    cvm_service& cvm_;
    std::mt19937_64 rng_;
    std::vector<task> tasks_;
    std::unordered_map<std::string, std::size_t> by_request_id_;
    std::unordered_map<std::string, std::size_t> last_task_of_eni_;
};

}  // namespace taskpoller::sim
