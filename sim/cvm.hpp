#pragma once
// Simulated CVM instances and their state machines (docs/protocol.md "Responses", "Completion").
// Time is passed in by the caller (unix milliseconds) and transitions are evaluated lazily when
// state is read, so tests drive it with a fake clock. I/O-free.

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "qcloud/params.hpp"
#include "sim/config.hpp"
#include "sim/stats.hpp"
#include "sim/v3.hpp"

namespace taskpoller::sim {

namespace cvm_status {
inline constexpr int faulty = 1, running = 2, pending = 3, stopped = 4, terminating = 6,
                     rebooting = 7, starting = 8, stopping = 9, resetting_password = 10,
                     reinstalling = 14;
/// 2.0's "creation failed"; 3.0 LAUNCH_FAILED (a RunInstances instance that failed).
inline constexpr int launch_failed = -1;
/// Not a 2.0 status: the instance was terminated (API 3.0 TerminateInstances) and is gone.
inline constexpr int terminated = -2;
}  // namespace cvm_status

struct cvm_rule;

class cvm_service {
  public:
    /// Keeps references to `cfg` and `st`, which must outlive it. Creates the configured
    /// instances with ids drawn from an RNG seeded with `cfg.seed`.
    cvm_service(const config& cfg, stats& st);

    /// Whether `action` is a CVM action this simulator implements.
    static bool knows(std::string_view action) noexcept;

    /// Runs an authenticated CVM request and returns the answer body. Never throws on bad input:
    /// bad parameters give code 4000, an unknown id 5000, a refused instance 5100 (alone) or its
    /// own detail entry (batch).
    boost::json::object handle(const std::string& action, const qcloud::param_list& params,
                               std::int64_t now_ms);

    /// Whether `action` is a CVM 2017-03-12 action this simulator implements.
    static bool knows_v3(std::string_view action) noexcept;

    /// Runs an authenticated API 3.0 request (JSON parameters) on the same instances. A mutation
    /// is all or nothing: any unknown id, busy instance or wrong state refuses the whole call and
    /// nothing runs; otherwise every instance starts an operation tagged with `request_id`.
    v3::result handle_v3(const std::string& action, const boost::json::object& params,
                         const std::string& request_id, std::int64_t now_ms);

    /// Ground truth: [{id, status, shown_status, instance_state, shown_instance_state,
    /// operation?, latest_operation?}].
    boost::json::array instances_json(std::int64_t now_ms);
    /// Every accepted call: [{service:"cvm", request_id, action, resources, state, ...}]; the
    /// operations of one 3.0 call (one RequestId) are one task.
    boost::json::array tasks_json(std::int64_t now_ms);

    /// Instance ids in creation order.
    std::vector<std::string> ids() const;
    /// Whether `id` is an instance that exists now (not terminated).
    bool is_live(const std::string& id, std::int64_t now_ms) { return find_live(id, now_ms); }
    /// The state DescribeInstances shows now (stale window applied); nullopt if unknown id.
    std::optional<int> shown_status(const std::string& id, std::int64_t now_ms);
    /// The real state now.
    std::optional<int> true_status(const std::string& id, std::int64_t now_ms);
    /// The InstanceState 3.0 DescribeInstances shows now (stale window applied); nullopt if
    /// unknown id.
    std::optional<std::string> shown_instance_state(const std::string& id, std::int64_t now_ms);

    /// Back to the initial instances and RNG state; forgets every operation and ClientToken.
    void reset();

    /// How long a RunInstances ClientToken is remembered.
    static constexpr std::int64_t client_token_ttl_ms = 24 * 3600 * 1000;

  private:
    struct operation {
        std::string action, request_id, instance_id;
        int from = 0, via = 0, target = 0;
        int fail_status = 0;  // the status a failed operation leaves
        std::int64_t start_ms = 0, stale_until_ms = 0, done_ms = 0;
        bool fails = false;
        std::optional<std::size_t> prev;  // the instance's operation before this one
    };
    struct instance {
        std::string id;
        int status = 0;
        std::optional<std::size_t> op;       // index into ops_ while transitional
        std::optional<std::size_t> last_op;  // the latest operation, running or ended
    };

    instance* find(const std::string& id);
    /// find() after settling; nullptr for a terminated instance too.
    instance* find_live(const std::string& id, std::int64_t now_ms);
    void settle(instance& in, std::int64_t now_ms);
    int shown(instance& in, std::int64_t now_ms);
    std::string_view shown_state_v3(instance& in, std::int64_t now_ms);
    boost::json::object latest_operation_v3(const instance& in, std::int64_t now_ms,
                                            bool stale) const;
    std::optional<std::string> refusal(instance& in, const cvm_rule& r, std::int64_t now_ms);
    std::string start_operation(instance& in, const cvm_rule& r, std::int64_t now_ms);
    void start(instance& in, std::string_view action, int via, int target, int fail_status,
               std::string request_id, std::int64_t now_ms);
    v3::result mutate_v3(const std::string& action, const boost::json::object& params,
                         const std::string& request_id, std::int64_t now_ms);
    v3::result describe_v3(const boost::json::object& params, std::int64_t now_ms);
    v3::result run_v3(const boost::json::object& params, const std::string& request_id,
                      std::int64_t now_ms);
    std::string new_instance_id();
    boost::json::object handle_batch(const cvm_rule& r, const qcloud::param_list& params,
                                     std::int64_t now_ms);
    boost::json::object handle_reset(const qcloud::param_list& params, std::int64_t now_ms);
    boost::json::object handle_describe(const qcloud::param_list& params, std::int64_t now_ms);

    const config& cfg_;
    stats& stats_;
    std::mt19937_64 rng_;
    std::uint64_t next_request_id_ = 0;
    std::vector<instance> instances_;
    std::unordered_map<std::string, std::size_t> index_;
    std::vector<operation> ops_;
    /// RunInstances calls by ClientToken: their parameters and the instances they created.
    struct client_token_entry {
        boost::json::object params;
        std::vector<std::string> instance_ids;
        std::int64_t at_ms = 0;
    };
    std::unordered_map<std::string, client_token_entry> client_tokens_;
};

}  // namespace taskpoller::sim
