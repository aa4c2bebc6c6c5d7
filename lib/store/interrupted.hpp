#pragma once
// After a restart (journal replay) or a change of leader (the PostgreSQL ledger, docs/ha.md
// "Takeover"): a batch still `submitting` had its request maybe sent and its outcome never
// recorded. It becomes `unknown`, never re-sent.

#include <string>
#include <string_view>
#include <vector>

namespace taskpoller::store {

class store;

/// Marks every `submitting` batch unknown with `message`; returns their ids (each is a change).
std::vector<std::string> mark_interrupted_unknown(store& s, std::string_view message);

}  // namespace taskpoller::store
