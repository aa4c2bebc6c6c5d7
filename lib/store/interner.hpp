#pragma once
// Small-id tables that keep the per-task record compact: every distinct service, action,
// region and label string is stored once, and every distinct *set* of labels once (the tasks of
// a batch share one set).

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/labels.hpp"
#include "core/poll_settings.hpp"

namespace taskpoller::store {

inline constexpr std::uint32_t no_id = 0xffffffffu;

/// Strings ↔ dense ids. Ids are never reused or forgotten (the sets are small in practice:
/// services, actions, regions and label pairs chosen by operators).
class interner {
  public:
    std::uint32_t intern(std::string_view s);
    /// no_id if never interned.
    std::uint32_t find(std::string_view s) const;
    const std::string& str(std::uint32_t id) const { return *strings_[id]; }
    std::size_t size() const { return strings_.size(); }

  private:
    struct hash {
        using is_transparent = void;
        std::size_t operator()(std::string_view s) const {
            return std::hash<std::string_view>{}(s);
        }
    };
    std::vector<const std::string*> strings_;
    std::uint32_t last_ = no_id;  // the last id intern() returned
    std::unordered_map<std::string, std::uint32_t, hash, std::equal_to<>> ids_;
};

/// Label sets: a set id names a sorted list of label ids ("key=value" interned). Set 0 is empty.
class label_sets {
  public:
    label_sets();
    std::uint32_t intern(const core::labels& l);
    /// Label id of "key=value", or no_id if no set ever contained it.
    std::uint32_t find_label(std::string_view key, std::string_view value) const;
    std::span<const std::uint32_t> labels_of(std::uint32_t set) const { return sets_[set]; }
    bool contains(std::uint32_t set, std::uint32_t label) const;
    core::labels to_labels(std::uint32_t set) const;

  private:
    interner pairs_;      // "key=value" (keys cannot contain '=')
    interner canonical_;  // a set's label ids, as a string key
    std::vector<std::vector<std::uint32_t>> sets_;
    core::labels last_;           // the last set interned (sets are never forgotten)
    std::uint32_t last_set_ = 0;  // its id; 0 = none
};

/// Poll settings ↔ dense ids (a batch's and an adopted task's own schedule). Id 0 is "none":
/// the configured schedule. Never forgotten: each distinct value costs ~100 bytes once.
class poll_table {
  public:
    poll_table() { values_.emplace_back(); }
    std::uint32_t intern(const core::poll_settings& p);
    const core::poll_settings& get(std::uint32_t id) const { return values_[id]; }

  private:
    std::vector<core::poll_settings> values_;
    std::map<core::poll_settings, std::uint32_t> ids_;
};

}  // namespace taskpoller::store
