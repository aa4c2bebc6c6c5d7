#include "store/interner.hpp"

#include <algorithm>

namespace taskpoller::store {

std::uint32_t interner::intern(std::string_view s) {
    // Consecutive calls mostly repeat a name (a batch's tasks, a replay's records).
    if (last_ != no_id && *strings_[last_] == s) return last_;
    if (auto it = ids_.find(s); it != ids_.end()) return last_ = it->second;
    auto id = static_cast<std::uint32_t>(strings_.size());
    auto [it, inserted] = ids_.emplace(std::string(s), id);
    strings_.push_back(&it->first);  // node-based map: the key's address is stable
    return last_ = id;
}

std::uint32_t interner::find(std::string_view s) const {
    auto it = ids_.find(s);
    return it == ids_.end() ? no_id : it->second;
}

label_sets::label_sets() {
    canonical_.intern("");
    sets_.emplace_back();
}

std::uint32_t label_sets::intern(const core::labels& l) {
    if (l.empty()) return 0;
    // The tasks of a batch (and a replay's consecutive records) share one set: skip the work.
    if (last_set_ != 0 && l == last_) return last_set_;
    std::vector<std::uint32_t> ids;
    ids.reserve(l.size());
    std::string pair;
    for (const auto& [k, v] : l) {
        pair.assign(k).append(1, '=').append(v);
        ids.push_back(pairs_.intern(pair));
    }
    std::sort(ids.begin(), ids.end());
    std::string key(reinterpret_cast<const char*>(ids.data()), ids.size() * sizeof(ids[0]));
    auto set = canonical_.intern(key);
    if (set == sets_.size()) sets_.push_back(std::move(ids));
    last_ = l;
    last_set_ = set;
    return set;
}

std::uint32_t label_sets::find_label(std::string_view key, std::string_view value) const {
    std::string pair;
    pair.reserve(key.size() + 1 + value.size());
    pair.append(key).append(1, '=').append(value);
    return pairs_.find(pair);
}

bool label_sets::contains(std::uint32_t set, std::uint32_t label) const {
    const auto& ids = sets_[set];
    return std::binary_search(ids.begin(), ids.end(), label);
}

core::labels label_sets::to_labels(std::uint32_t set) const {
    core::labels out;
    for (auto id : sets_[set]) {
        const std::string& pair = pairs_.str(id);
        auto eq = pair.find('=');
        out.emplace(pair.substr(0, eq), pair.substr(eq + 1));
    }
    return out;
}

std::uint32_t poll_table::intern(const core::poll_settings& p) {
    if (p.empty()) return 0;
    auto [it, inserted] = ids_.emplace(p, static_cast<std::uint32_t>(values_.size()));
    if (inserted) values_.push_back(p);
    return it->second;
}

}  // namespace taskpoller::store
