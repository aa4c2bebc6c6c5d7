#pragma once
// The whole simulator behind one call: an HTTP request in, a plan for the answer out. It owns
// verification, rate limiting, faults, the services and the stats; the server only moves bytes
// and carries out the plan (delays, closes, slow writes). I/O-free and single-threaded.

#include <chrono>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>

#include "core/logger.hpp"
#include "sim/cbs_v3.hpp"
#include "sim/clb_v3.hpp"
#include "sim/config.hpp"
#include "sim/cvm.hpp"
#include "sim/faults.hpp"
#include "sim/rate_limiter.hpp"
#include "sim/stats.hpp"
#include "sim/tasks.hpp"
#include "sim/v3.hpp"
#include "sim/v3_verifier.hpp"
#include "sim/verifier.hpp"
#include "sim/vpc_v3.hpp"

namespace taskpoller::sim {

/// Unix time in milliseconds.
using now_fn = std::function<std::int64_t()>;

/// The system clock in unix milliseconds.
std::int64_t system_now_ms();

struct http_in {
    std::string_view method;  ///< "GET", "POST", ...
    std::string_view target;  ///< path and query
    std::string_view host;    ///< Host header, possibly with a port
    std::string_view body;
    bool tls = false;
    /// Every request header (API 3.0 reads X-TC-*, Content-Type, Authorization and whatever
    /// SignedHeaders names).
    std::span<const header_field> headers{};
};

struct http_out {
    enum class delivery {
        normal,        ///< write the answer
        close_before,  ///< close without answering; nothing was executed
        close_after,   ///< close without answering; the action was executed
        slow_drip,     ///< write the answer a few bytes at a time
    };
    unsigned status = 200;
    std::string content_type = "application/json";
    std::string body;
    delivery how = delivery::normal;
    std::chrono::milliseconds delay{0};  ///< wait this long before answering
    /// The Date header (IMF-fixdate of the simulated cloud's clock when the answer was made).
    std::string date{};
};

class simulator {
  public:
    simulator(config cfg, now_fn now, core::logger log = {});
    simulator(const simulator&) = delete;
    simulator& operator=(const simulator&) = delete;

    /// Handles one request: `/_sim/...` (control, any host), API 3.0 (a `*.tencentcloudapi.com`
    /// host) or `/v2/index.php` (API 2.0). Never throws on bad input.
    http_out handle(const http_in& in);

    /// Clears tasks, instances and disks (back to the initial sets), nonces, buckets, stats, and
    /// restarts every RNG from the seed.
    void reset();

    const config& settings() const noexcept { return cfg_; }
    stats& counters() noexcept { return stats_; }
    cvm_service& cvm() noexcept { return cvm_; }
    task_service& tasks() noexcept { return tasks_; }
    clb_v3_service& clb_v3() noexcept { return clb_v3_; }
    cbs_v3_service& cbs_v3() noexcept { return cbs_v3_; }
    vpc_v3_service& vpc_v3() noexcept { return vpc_v3_; }

  private:
    http_out route(const http_in& in);
    /// The simulated cloud's clock: now_() + clock_offset, unix milliseconds.
    std::int64_t cloud_now_ms() const { return now_() + cfg_.clock_offset.count(); }
    http_out handle_api(const http_in& in, std::string_view query);
    http_out handle_control(const http_in& in, std::string_view path);
    boost::json::object run_checked(const http_in& in, const std::string& service,
                                    const std::string& action, const qcloud::param_list& params,
                                    const std::string& stats_key, bool& executed);
    void apply_after_fault(http_out& out, fault_kind k, const std::string& stats_key);
    http_out handle_v3(const http_in& in, std::string_view path);
    v3::result run_checked_v3(const http_in& in, std::string_view path, const std::string& service,
                              const std::string& action, const std::string& request_id,
                              bool& executed);

    config cfg_;
    now_fn now_;
    core::logger log_;
    stats stats_;
    verifier verifier_;
    rate_limiter limiter_;
    fault_injector faults_;
    cvm_service cvm_;
    task_service tasks_;
    v3::verifier verifier_v3_;
    /// SecretId → the X-TC-Token its 3.0 calls must carry (accounts' `token`; POST /_sim/token).
    std::unordered_map<std::string, std::string> tokens_;
    v3::request_ids request_ids_;
    clb_v3_service clb_v3_;
    cbs_v3_service cbs_v3_;  // after cvm_: its disks are attached to cvm_'s instances
    vpc_v3_service vpc_v3_;
};

/// The service a Host header addresses: "cvm" for "cvm.api.qcloud.com[:port]" when the suffix
/// is "api.qcloud.com"; empty if the host does not end with ".<suffix>".
std::string service_from_host(std::string_view host, std::string_view suffix);

/// The host without a ":port" part.
std::string_view strip_port(std::string_view host) noexcept;

}  // namespace taskpoller::sim
