// The store's compact record parts (store/records.hpp): a batch entry keeps its resource,
// requestId and message in one string, or, linked to its task, its resource and message only;
// a task keeps its last status and last error in one string. Every combination reads back as
// given, across every change.
#include <gtest/gtest.h>

#include <string>

#include "store/records.hpp"

namespace taskpoller::store::detail {
namespace {

struct row {
    std::string request_id, message;
};
const std::vector<row> rows{{"", ""},
                            {"6356081", ""},
                            {"", "InvalidParameter: no such load balancer"},
                            {"6356081", "queued"},
                            {"6356081", "two\nlines\n"},
                            {"", "\nstarts with a newline"},
                            {"6356081", "\n"},
                            {"4f6e2a1c-8b3d-4e5f-9a7b-1c2d3e4f5a6b", "a long one"}};

TEST(EntryRec, resource_request_id_and_message_read_back_in_every_combination) {
    for (const row& r : rows) {
        SCOPED_TRACE(r.request_id + " / " + r.message);
        entry_rec e("lb-0a1b2c3d", r.message, r.request_id, -7, core::entry_outcome::accepted);
        EXPECT_FALSE(e.linked());
        EXPECT_EQ(e.resource_id(), "lb-0a1b2c3d");
        EXPECT_EQ(e.own_request_id(), r.request_id);
        EXPECT_EQ(e.message(), r.message);
        EXPECT_EQ(e.code, -7);
        EXPECT_EQ(e.outcome, core::entry_outcome::accepted);
        e.set_message("the outcome was lost");
        EXPECT_EQ(e.resource_id(), "lb-0a1b2c3d");
        EXPECT_EQ(e.own_request_id(), r.request_id);
        EXPECT_EQ(e.message(), "the outcome was lost");
        e.set_message("");
        EXPECT_EQ(e.own_request_id(), r.request_id);
        EXPECT_EQ(e.message(), "");
    }
}

TEST(EntryRec, a_linked_entry_keeps_resource_and_message_and_unlinks_to_what_it_was) {
    for (const row& r : rows) {
        SCOPED_TRACE(r.request_id + " / " + r.message);
        entry_rec e("ins-66upoxal", r.message, r.request_id, 3, core::entry_outcome::accepted);
        e.link(41);
        EXPECT_TRUE(e.linked());
        EXPECT_EQ(e.slot(), 41);
        EXPECT_EQ(e.resource_id(), "ins-66upoxal");
        EXPECT_EQ(e.own_request_id(), "");  // its task's is the one
        EXPECT_EQ(e.message(), r.message);
        e.set_message("retold\nwith a newline");
        EXPECT_TRUE(e.linked());
        EXPECT_EQ(e.message(), "retold\nwith a newline");
        EXPECT_EQ(e.resource_id(), "ins-66upoxal");
        e.move_to(2);
        EXPECT_EQ(e.slot(), 2);
        e.set_message(r.message);
        e.unlink(r.request_id);
        EXPECT_FALSE(e.linked());
        EXPECT_EQ(e.resource_id(), "ins-66upoxal");
        EXPECT_EQ(e.own_request_id(), r.request_id);
        EXPECT_EQ(e.message(), r.message);
        EXPECT_EQ(e.code, 3);
    }
}

TEST(EntryRec, an_entry_is_24_bytes_and_a_linked_one_keeps_its_resource_inline) {
    EXPECT_EQ(sizeof(entry_rec), 24u);
    entry_rec e("lb-0a1b2c3d", "", "6356081", 0, core::entry_outcome::accepted);
    EXPECT_TRUE(e.on_heap());  // "lb-0a1b2c3d\n6356081" is 19 characters
    e.link(0);
    EXPECT_FALSE(e.on_heap());
}

TEST(StatusPair, status_and_error_read_back_in_every_combination) {
    const std::string long_status(300, 's');  // a two-byte length
    const std::string long_error(2000, 'e');
    for (const auto& status : {std::string{}, std::string("running"), std::string("\x80\x01"),
                               std::string(127, 'x'), std::string(128, 'y'), long_status}) {
        for (const auto& error :
             {std::string{}, std::string("timeout"), std::string("\n\x05"), long_error}) {
            status_pair p;
            EXPECT_EQ(p.status(), "");
            EXPECT_EQ(p.error(), "");
            p.set(status, error);
            EXPECT_EQ(p.status(), status);
            EXPECT_EQ(p.error(), error);
            p.set(p.status(), "");  // from views into itself
            EXPECT_EQ(p.status(), status);
            EXPECT_EQ(p.error(), "");
        }
    }
}

TEST(StatusPair, is_16_bytes_in_an_88_byte_task_record) {
    EXPECT_EQ(sizeof(task_rec), 88u);
    task_rec t;
    t.status.set("running", "");
    EXPECT_EQ(t.status.status(), "running");
    EXPECT_EQ(sizeof(status_pair), 16u);
}

}  // namespace
}  // namespace taskpoller::store::detail
