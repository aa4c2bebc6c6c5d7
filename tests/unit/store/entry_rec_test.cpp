// A batch entry keeps its requestId and message in one string (store/records.hpp): every
// combination reads back as given, and a new message keeps the requestId.
#include <gtest/gtest.h>

#include <string>

#include "store/records.hpp"

namespace taskpoller::store::detail {
namespace {

TEST(EntryRec, request_id_and_message_read_back_in_every_combination) {
    struct row {
        std::string request_id, message;
    };
    for (const row& r : std::vector<row>{{"", ""},
                                         {"6356081", ""},
                                         {"", "InvalidParameter: no such load balancer"},
                                         {"6356081", "queued"},
                                         {"6356081", "two\nlines\n"},
                                         {"", "\nstarts with a newline"},
                                         {"4f6e2a1c-8b3d-4e5f-9a7b-1c2d3e4f5a6b", "a long one"}}) {
        entry_rec e("lb-0a1b2c3d", r.message, r.request_id, -7, core::entry_outcome::accepted);
        EXPECT_EQ(e.resource_id.view(), "lb-0a1b2c3d");
        EXPECT_EQ(e.request_id(), r.request_id) << r.request_id << " / " << r.message;
        EXPECT_EQ(e.message(), r.message) << r.request_id << " / " << r.message;
        EXPECT_EQ(e.code, -7);
        EXPECT_EQ(e.outcome, core::entry_outcome::accepted);
        e.set_message("the outcome was lost");
        EXPECT_EQ(e.request_id(), r.request_id);
        EXPECT_EQ(e.message(), "the outcome was lost");
        e.set_message("");
        EXPECT_EQ(e.request_id(), r.request_id);
        EXPECT_EQ(e.message(), "");
    }
}

TEST(EntryRec, an_accepted_entry_is_40_bytes_and_a_short_request_id_stays_inline) {
    EXPECT_LE(sizeof(entry_rec), 40u);
    entry_rec e("lb-0a1b2c3d", "", "6356081", 0, core::entry_outcome::accepted);
    EXPECT_FALSE(e.resource_id.on_heap());
}

}  // namespace
}  // namespace taskpoller::store::detail
