#include "store/interrupted.hpp"

#include "store/store.hpp"

namespace taskpoller::store {

std::vector<std::string> mark_interrupted_unknown(store& s, std::string_view message) {
    std::vector<std::string> intents;
    page_request p{max_page_limit, ""};
    do {
        auto page = s.list_batches({.state = core::batch_state::submitting}, p);
        if (!page) break;
        for (const auto& b : page->items) intents.push_back(b.id);
        p.page_token = page->next_page_token;
    } while (!p.page_token.empty());
    std::vector<std::string> marked;
    for (auto& id : intents) {
        if (s.mark_batch_unknown(id, message)) marked.push_back(std::move(id));
    }
    return marked;
}

}  // namespace taskpoller::store
