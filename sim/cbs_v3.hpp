#pragma once
// CBS 2017-03-12 (API 3.0): a pool of disks attached to and detached from the instances of the
// CVM pool (AttachDisks, DetachDisks), each disk tracked by its own DiskState (DescribeDisks).
// Whole-call semantics: any refused disk refuses the call and nothing runs. I/O-free; time is
// passed in and transitions are evaluated lazily, like cvm_service.

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <cstdint>
#include <optional>
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

class cbs_v3_service {
  public:
    /// Keeps references to `cfg`, `st` and `cvm`, which must outlive it. The disks are created
    /// by reset(), which must run after cvm.reset() (attached disks name its instances).
    cbs_v3_service(const config& cfg, stats& st, cvm_service& cvm);

    /// Whether `action` is a CBS 3.0 action this simulator implements.
    static bool knows(std::string_view action) noexcept;

    /// Runs an authenticated request: AttachDisks, DetachDisks (every disk gets an operation
    /// tagged with `request_id`) or DescribeDisks.
    v3::result handle(const std::string& action, const boost::json::object& params,
                      const std::string& request_id, std::int64_t now_ms);

    /// Ground truth: [{id, state, shown_state, instance_id, shown_instance_id,
    /// delete_with_instance, operation?}]; a disk deleted with its instance has state DELETED.
    boost::json::array disks_json(std::int64_t now_ms);
    /// One task per accepted call: [{service:"cbs", request_id, action, resources (disks),
    /// state, started_at_ms, done_at_ms}].
    boost::json::array tasks_json(std::int64_t now_ms) const;

    /// Disk ids in creation order.
    std::vector<std::string> ids() const;
    /// The DiskState DescribeDisks shows now (stale window applied); nullopt if unknown.
    std::optional<std::string> shown_state(const std::string& id, std::int64_t now_ms);
    /// The true DiskState now; nullopt if unknown.
    std::optional<std::string> true_state(const std::string& id, std::int64_t now_ms);

    /// Back to the initial disks (after cvm_service::reset()) and RNG state.
    void reset();

  private:
    struct operation {
        std::string action, request_id, disk_id;
        std::string from_instance, to_instance;  // "" = unattached
        std::int64_t start_ms = 0, stale_until_ms = 0, done_ms = 0;
        bool fails = false;
        bool delete_with_instance_before = false, delete_with_instance_after = false;
    };
    struct disk {
        std::string id;
        std::string instance;  // "" = unattached (while resting)
        bool delete_with_instance = false;
        bool deleted = false;
        std::optional<std::size_t> op;       // index into ops_ while transitional
        std::optional<std::size_t> last_op;  // the latest operation, running or ended
    };
    struct view {
        std::string_view state;
        std::string instance;
    };

    disk* find(const std::string& id);
    /// find() after settling; nullptr for a deleted disk too.
    disk* find_live(const std::string& id, std::int64_t now_ms);
    /// Every disk of `ids` into `out`, or InvalidDiskId.NotFound naming the missing ones.
    std::optional<v3::result> find_all_live(const std::vector<std::string>& ids,
                                            std::int64_t now_ms, std::vector<disk*>& out);
    void settle(disk& d, std::int64_t now_ms);
    view true_view(disk& d, std::int64_t now_ms);
    view shown_view(disk& d, std::int64_t now_ms);
    v3::result attach(const boost::json::object& params, const std::string& request_id,
                      std::int64_t now_ms);
    v3::result detach(const boost::json::object& params, const std::string& request_id,
                      std::int64_t now_ms);
    v3::result describe(const boost::json::object& params, std::int64_t now_ms);
    void start(disk& d, const std::string& action, std::string to_instance,
               bool delete_with_instance, const std::string& request_id, std::int64_t now_ms);

    const config& cfg_;
    stats& stats_;
    cvm_service& cvm_;
    std::mt19937_64 rng_;
    std::vector<disk> disks_;
    std::unordered_map<std::string, std::size_t> index_;
    std::vector<operation> ops_;
};

}  // namespace taskpoller::sim
