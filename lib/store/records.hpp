#pragma once
// The store's compact internal records (private to lib/store). About 136 bytes a task plus its
// index entries; strings that repeat (service, action, region, labels) are small ids.

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
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

struct task_rec {
    compact_string request_id;
    compact_string resources;  // joined with '\n' (resource ids never contain one)
    compact_string last_status;
    compact_string last_error;
    std::int64_t created_at = 0;
    std::int64_t finished_at = 0;
    std::int64_t deadline = 0;
    std::uint64_t created_seq = 0;
    std::uint64_t updated_seq = 0;
    std::uint32_t service = 0;
    std::uint32_t action = 0;
    std::uint32_t labelset = 0;
    std::uint32_t batch = no_batch;  // position in batches_
    std::uint32_t polls = 0;
    std::uint32_t region = 0;  // interned; an adopted task's own (a batch task uses its batch's)
    std::uint32_t poll = 0;    // poll_table id; an adopted task's own (a batch task: its batch's)
    core::task_state state = core::task_state::pending;
    bool alive = true;
};

/// A batch entry: its resource and, in one string, its requestId (accepted entries only) and
/// message: "requestId" alone, or "requestId\nmessage" when there is a message (a requestId
/// never holds a newline; a message may). An accepted entry without a message keeps a short
/// requestId inline: 40 bytes an entry instead of three strings' 56 (issue 20).
struct entry_rec {
    compact_string resource_id;
    std::int32_t code = 0;
    core::entry_outcome outcome = core::entry_outcome::unknown;

    entry_rec() = default;
    entry_rec(std::string_view resource, std::string_view message, std::string_view request_id,
              std::int32_t code_, core::entry_outcome outcome_)
        : resource_id(resource), code(code_), outcome(outcome_), rest_(pack(request_id, message)) {}

    std::string_view request_id() const noexcept {
        const auto v = rest_.view();
        return v.substr(0, v.find('\n'));
    }
    std::string_view message() const noexcept {
        const auto v = rest_.view();
        const auto nl = v.find('\n');
        return nl == std::string_view::npos ? std::string_view{} : v.substr(nl + 1);
    }
    void set_message(std::string_view message) { rest_ = pack(request_id(), message); }

  private:
    static compact_string pack(std::string_view request_id, std::string_view message) {
        if (message.empty()) return compact_string(request_id);  // the usual case: no copy
        std::string s;
        s.reserve(request_id.size() + 1 + message.size());
        s.append(request_id).append(1, '\n').append(message);
        return compact_string(s);
    }

    compact_string rest_;
};

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
    std::uint32_t service = 0;
    std::uint32_t action = 0;
    std::uint32_t region = 0;
    std::uint32_t labelset = 0;
    std::int32_t code = 0;
    std::uint32_t poll = 0;  // poll_table id (core::batch::poll)
    core::batch_state state = core::batch_state::submitting;
    bool alive = true;
};

/// A unit retention forgets at once: a terminal batch (with its tasks) or a terminal adopted task.
struct finished_unit {
    std::int64_t finished_at = 0;
    std::uint64_t created_seq = 0;
    bool is_batch = false;
};

}  // namespace taskpoller::store::detail
