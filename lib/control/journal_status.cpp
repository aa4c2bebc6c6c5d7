#include "control/journal_status.hpp"

#include "store/journal.hpp"

namespace taskpoller::control {

namespace json = boost::json;

boost::json::object journal_status_of(const store::journal& j, std::string_view durability) {
    const auto& c = j.counters();
    auto h = j.health();
    auto compaction = j.compaction_health();
    json::value error = nullptr;
    if (!h) {
        error = json::value(h.error().message);
    } else if (!compaction) {
        error = json::value(compaction.error().message);
    }
    return json::object{{"enabled", true},
                        {"path", j.path()},
                        {"durability", durability},
                        {"healthy", h && compaction},
                        {"durable", bool(h)},
                        {"error", std::move(error)},
                        {"compaction_error", compaction ? json::value(nullptr)
                                                        : json::value(compaction.error().message)},
                        {"pending_changes", j.pending_changes_count()},
                        {"records", c.records},
                        {"syncs", c.syncs},
                        {"compactions", c.compactions},
                        {"compaction_failures", c.compaction_failures},
                        {"log_bytes", c.log_bytes},
                        {"snapshot_bytes", c.snapshot_bytes}};
}

}  // namespace taskpoller::control
