#pragma once
// Shared helpers for the store tests.

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/clock.hpp"
#include "store/store.hpp"

namespace taskpoller::store::test {

inline store_options seeded_options() {
    store_options o;
    o.id_seed = 1;
    return o;
}

inline core::entry accepted(std::string resource, std::string request_id) {
    return core::entry{
        std::move(resource), core::entry_outcome::accepted, 0, "", std::move(request_id),
        std::nullopt};
}

inline core::entry rejected(std::string resource, int code, std::string message) {
    return core::entry{
        std::move(resource), core::entry_outcome::rejected, code, std::move(message), "",
        std::nullopt};
}

/// Creates a batch and records an answer accepting one resource per request id.
inline std::string submit(store& s, const std::string& service, const std::string& action,
                          const std::vector<std::string>& request_ids, core::labels labels = {}) {
    auto b = s.create_batch({service, action, "ap-guangzhou", std::move(labels), ""});
    EXPECT_TRUE(b) << (b ? "" : b.error().message);
    batch_outcome o;
    for (const auto& rid : request_ids) o.entries.push_back(accepted("res-" + rid, rid));
    auto r = s.record_batch_outcome(b->id, o);
    EXPECT_TRUE(r) << (r ? "" : r.error().message);
    return b->id;
}

inline core::result<core::task_state> set_state(store& s, const std::string& service,
                                                const std::string& rid, core::task_state st) {
    task_update u;
    u.state = st;
    return s.update_task({service, rid}, u);
}

/// Every item of a listing (`list`: &store::list_tasks or &store::list_batches), page by page.
template <class T, class F, class L>
std::vector<T> all_pages(const store& s, const F& filter, std::size_t limit, L list) {
    std::vector<T> out;
    page_request p{limit, ""};
    do {
        auto page = (s.*list)(filter, p);
        EXPECT_TRUE(page);
        if (!page) break;
        out.insert(out.end(), page->items.begin(), page->items.end());
        p.page_token = page->next_page_token;
    } while (!p.page_token.empty());
    return out;
}

/// Request ids of a page of tasks, in order.
inline std::vector<std::string> ids(const page<core::task>& p) {
    std::vector<std::string> out;
    for (const auto& t : p.items) out.push_back(t.request_id);
    return out;
}

}  // namespace taskpoller::store::test
