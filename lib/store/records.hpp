#pragma once
// The store's compact internal records (private to lib/store). 88 bytes a task and 24 a batch
// entry, plus index entries; strings that repeat (service, action, region, labels) are small ids.

#include <algorithm>
#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/states.hpp"
#include "core/types.hpp"
#include "store/compact_string.hpp"

namespace taskpoller::store::detail {

inline constexpr std::uint32_t no_batch = 0xffffffffu;

/// Nanoseconds since the Unix epoch (the representation of core::sys_time on Linux).
inline std::int64_t to_ns(core::sys_time t) {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}
inline core::sys_time from_ns(std::int64_t ns) {
    return core::sys_time{
        std::chrono::duration_cast<core::sys_time::duration>(std::chrono::nanoseconds{ns})};
}

/// A task's last status and last error in one string (most tasks have no error, and a short
/// status such as "running" then fits inline): the status's length as a LEB128 varint, the
/// status, the error. Empty when both are empty.
class status_pair {
  public:
    std::string_view status() const noexcept { return split().first; }
    std::string_view error() const noexcept { return split().second; }
    void set(std::string_view status, std::string_view error) {
        if (status.empty() && error.empty()) {
            text_ = compact_string{};
            return;
        }
        std::string s;
        s.reserve(status.size() + error.size() + 5);
        for (auto n = status.size();; n >>= 7) {
            s.push_back(static_cast<char>((n & 0x7f) | (n > 0x7f ? 0x80 : 0)));
            if (n <= 0x7f) break;
        }
        s.append(status).append(error);
        text_ = compact_string(s);
    }

  private:
    std::pair<std::string_view, std::string_view> split() const noexcept {
        const auto v = text_.view();
        std::size_t n = 0;
        std::size_t i = 0;
        for (unsigned shift = 0; i < v.size() && shift < 35; shift += 7) {
            auto c = static_cast<unsigned char>(v[i++]);
            n |= static_cast<std::size_t>(c & 0x7f) << shift;
            if ((c & 0x80) == 0) break;
        }
        n = std::min(n, v.size() - i);
        return {v.substr(i, n), v.substr(i + n)};
    }

    compact_string text_;
};

inline constexpr std::uint32_t no_attrs = 0xffffffffu;

/// What a task of a batch shares with its batch (and with the batch's other tasks: the time
/// they were created and their deadline, batch_rec::task_*), kept by the task itself only when
/// it has no batch (adopted) or differs (store::attrs_; task_rec::attrs). A batch task's region
/// and poll settings are always its batch's.
struct task_attrs {
    std::int64_t created_at = 0;
    std::int64_t deadline = 0;
    std::uint32_t service = 0;
    std::uint32_t action = 0;
    std::uint32_t labelset = 0;
    std::uint32_t region = 0;  // interned
    std::uint32_t poll = 0;    // poll_table id
};

/// 88 bytes (issue 20): the service, action, labels, region, poll settings, creation time and
/// deadline are its batch's (or in store::attrs_), the status and error share one string.
struct task_rec {
    compact_string request_id;
    compact_string resources;  // joined with '\n' (resource ids never contain one)
    status_pair status;        // last status and last error
    std::int64_t finished_at = 0;
    std::uint64_t created_seq = 0;
    std::uint64_t updated_seq = 0;
    std::uint32_t batch = no_batch;  // position in batches_
    std::uint32_t attrs = no_attrs;  // position in attrs_; no_attrs: the batch's
    std::uint32_t polls = 0;
    core::task_state state = core::task_state::pending;
    bool alive = true;
};
static_assert(sizeof(task_rec) == 88);

/// A batch entry in 24 bytes (issue 20): its resource, code and outcome, and the requestId
/// (accepted entries) either kept in the entry's own string or, once the entry is *linked*,
/// read from its task: `slot` is the task's index in the batch's task list (batch_rec::tasks),
/// which the store keeps right across compaction. The string is "resource", "resource\nmessage"
/// when linked, and "resource\nrequestId\nmessage" (the last part optional) when not; a
/// resource id and a requestId never hold a newline (store::check_entries), a message may.
struct entry_rec {
  private:
    compact_string text_;  // first: the members below pack into its alignment's tail

  public:
    static constexpr std::uint16_t no_slot = 0xffff;

    std::int32_t code = 0;
    core::entry_outcome outcome = core::entry_outcome::unknown;

    entry_rec() = default;
    entry_rec(std::string_view resource, std::string_view message, std::string_view request_id,
              std::int32_t code_, core::entry_outcome outcome_)
        : text_(pack(resource, request_id, message, false)), code(code_), outcome(outcome_) {}

    std::string_view resource_id() const noexcept { return parts().resource; }
    std::string_view message() const noexcept { return parts().message; }
    /// The requestId the entry keeps itself (empty once linked: its task's is the one).
    std::string_view own_request_id() const noexcept { return parts().request_id; }
    bool linked() const noexcept { return slot_ != no_slot; }
    std::uint16_t slot() const noexcept { return slot_; }

    void set_message(std::string_view message) {
        auto p = parts();
        text_ = pack(p.resource, p.request_id, message, linked());
    }
    /// Reads the requestId from the batch's task at `slot` from now on (slot < no_slot).
    void link(std::uint16_t slot) {
        auto p = parts();
        text_ = pack(p.resource, {}, p.message, true);
        slot_ = slot;
    }
    /// Keeps `request_id` (its task's) itself again.
    void unlink(std::string_view request_id) {
        auto p = parts();
        text_ = pack(p.resource, request_id, p.message, false);
        slot_ = no_slot;
    }
    /// Whether the entry's string needed a heap block.
    bool on_heap() const noexcept { return text_.on_heap(); }
    /// A linked entry's task moved to another slot of the batch's task list.
    void move_to(std::uint16_t slot) noexcept { slot_ = slot; }

  private:
    struct split {
        std::string_view resource, request_id, message;
    };
    split parts() const noexcept {
        const auto v = text_.view();
        split p;
        auto nl = v.find('\n');
        p.resource = v.substr(0, nl);
        if (nl == std::string_view::npos) return p;
        auto rest = v.substr(nl + 1);
        if (linked()) {
            p.message = rest;
            return p;
        }
        nl = rest.find('\n');
        p.request_id = rest.substr(0, nl);
        if (nl != std::string_view::npos) p.message = rest.substr(nl + 1);
        return p;
    }
    static compact_string pack(std::string_view resource, std::string_view request_id,
                               std::string_view message, bool linked) {
        if (message.empty() && (linked || request_id.empty())) return compact_string(resource);
        std::string s;
        s.reserve(resource.size() + request_id.size() + message.size() + 2);
        s.append(resource).append(1, '\n');
        if (!linked) {
            s.append(request_id);
            if (!message.empty()) s.append(1, '\n');
        }
        s.append(message);
        return compact_string(s);
    }

    std::uint16_t slot_ = no_slot;
};
static_assert(sizeof(entry_rec) == 24);

struct batch_rec {
    std::uint64_t id = 0;
    std::uint64_t created_seq = 0;
    std::uint64_t updated_seq = 0;
    compact_string message;
    compact_string client_token;
    compact_string target;  // core::batch::target
    std::vector<entry_rec> entries;
    std::vector<std::uint32_t> tasks;  // positions in tasks_, in creation order
    core::task_counts counts{};
    std::int64_t created_at = 0;
    std::int64_t finished_at = 0;
    // What its tasks share (task_attrs): set by the first task it gets.
    std::int64_t task_created_at = 0;
    std::int64_t task_deadline = 0;
    std::uint32_t service = 0;
    std::uint32_t action = 0;
    std::uint32_t region = 0;
    std::uint32_t labelset = 0;
    std::int32_t code = 0;
    std::uint32_t poll = 0;  // poll_table id (core::batch::poll)
    core::batch_state state = core::batch_state::submitting;
    bool alive = true;
    bool task_times = false;  // task_created_at and task_deadline are set
    // `entries` is empty and means one accepted entry (code 0, no message) for each resource
    // of each task, in task order (store::collapse_entries).
    bool entries_are_tasks = false;
};

/// What a batch's tasks share with it (task_attrs), as a task of its own would keep it.
inline task_attrs shared_attrs(const batch_rec& b) {
    return {b.task_created_at, b.task_deadline, b.service, b.action, b.labelset, b.region, b.poll};
}

/// A unit retention forgets at once: a terminal batch (with its tasks) or a terminal adopted task.
struct finished_unit {
    std::int64_t finished_at = 0;
    std::uint64_t created_seq = 0;
    bool is_batch = false;
};

}  // namespace taskpoller::store::detail
