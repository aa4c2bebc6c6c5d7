// Journal records: CRC-32C, encoding round trips, corruption detection.
#include "store/journal_record.hpp"

#include <gtest/gtest.h>

#include <random>

#include "helpers.hpp"
#include "store/crc32c.hpp"

namespace core = taskpoller::core;
using namespace taskpoller::store;
using namespace std::chrono_literals;

namespace {

core::batch sample_batch() {
    core::batch b;
    b.id = "b-0123456789ab";
    b.state = core::batch_state::submitted;
    b.service = "lb";
    b.action = "DeleteLoadBalancers";
    b.region = "ap-guangzhou";
    b.code = -5100;
    b.message = "partly \xe4\xb8\xad \n\0 done";
    b.created_at = core::sys_time{1767225600123456789ns};
    b.finished_at = core::sys_time{1767225700000000001ns};
    b.labels = {{"env", "prod"}, {"team", ""}};
    b.client_token = "tok-1";
    b.entries = {{"lb-1", core::entry_outcome::accepted, 0, "", "L1", std::nullopt},
                 {"lb-2", core::entry_outcome::rejected, 4001, "nope", "", std::nullopt},
                 {"lb-3", core::entry_outcome::unknown, -1, "timeout", "", std::nullopt}};
    b.created_seq = 7;
    b.updated_seq = 12;
    b.target = "ins-attach";
    return b;
}

core::task sample_task() {
    core::task t;
    t.service = "cvm";
    t.request_id = "req-42";
    t.state = core::task_state::timed_out;
    t.action = "StopInstances";
    t.batch_id = "b-0123456789ab";
    t.resources = {"ins-1", "ins-2", ""};
    t.last_status = "RUNNING";
    t.last_error = "HTTP 503";
    t.polls = 99;
    t.created_at = core::sys_time{1767225600000000000ns};
    t.finished_at = core::sys_time{1767225800000000000ns};
    t.deadline = core::sys_time{1767225900000000000ns};
    t.labels = {{"k", "v"}};
    t.created_seq = 8;
    t.updated_seq = 30;
    t.region = "ap-guangzhou";
    return t;
}

journal_frame only_frame(const std::string& bytes) {
    auto f = read_journal_frame(bytes, 0);
    EXPECT_EQ(f.status, frame_status::ok);
    EXPECT_EQ(f.size, bytes.size());
    return f;
}

TEST(JournalCrc32c, matches_the_standard_check_value_in_both_paths) {
    EXPECT_EQ(crc32c("123456789"), 0xE3069283u);
    EXPECT_EQ(crc32c_software("123456789"), 0xE3069283u);
    EXPECT_EQ(crc32c(""), 0u);
    std::string data(1000, '\0');
    std::mt19937 rng{1};
    for (auto& c : data) c = static_cast<char>(rng());
    for (std::size_t n : {0u, 1u, 7u, 8u, 9u, 63u, 1000u}) {
        auto v = std::string_view{data}.substr(0, n);
        EXPECT_EQ(crc32c(v), crc32c_software(v)) << n;
        EXPECT_EQ(crc32c(v.substr(n / 2), crc32c(v.substr(0, n / 2))), crc32c(v)) << n;
    }
}

TEST(JournalRecord, batch_round_trip) {
    auto b = sample_batch();
    std::string out;
    append_batch_record(out, b);
    auto f = only_frame(out);
    EXPECT_EQ(f.type, journal_record_type::batch);
    auto back = decode_batch_record(f.payload);
    ASSERT_TRUE(back) << back.error().message;
    EXPECT_EQ(*back, b);
}

// A batch record ends with its target (AttachDisks' instance); one written before that field
// existed (shorter by the length and the text) decodes without it.
TEST(JournalRecord, a_batch_record_without_its_target_still_decodes) {
    auto b = sample_batch();
    std::string out;
    append_batch_record(out, b);
    auto f = read_journal_frame(out, 0);
    ASSERT_EQ(f.status, frame_status::ok);
    EXPECT_EQ(decode_batch_record(f.payload)->target, "ins-attach");
    // Written before the target and the poll settings (an empty one: its mask byte).
    const auto older = f.payload.substr(0, f.payload.size() - 1 - 4 - b.target.size());
    auto back = decode_batch_record(older);
    ASSERT_TRUE(back) << back.error().message;
    EXPECT_TRUE(back->target.empty());
    EXPECT_EQ(back->entries, b.entries);
    EXPECT_FALSE(decode_batch_record(f.payload.substr(0, f.payload.size() - 2)));
}

// Issue 18: a submission's own poll settings end the batch and task records; records written
// before them decode with none, and a bad field mask is refused.
TEST(JournalRecord, own_poll_settings_round_trip_and_older_records_have_none) {
    auto b = sample_batch();
    b.poll.interval = std::chrono::milliseconds{1500};
    b.poll.max_interval = std::chrono::milliseconds{60'000};
    auto t = sample_task();
    t.poll.initial_delay = std::chrono::milliseconds{250};
    std::string out;
    append_batch_record(out, b);
    const auto batch_size = out.size();
    append_task_record(out, t);
    auto fb = read_journal_frame(out, 0);
    auto ft = read_journal_frame(out, batch_size);
    ASSERT_EQ(fb.status, frame_status::ok);
    ASSERT_EQ(ft.status, frame_status::ok);
    auto b2 = decode_batch_record(fb.payload);
    auto t2 = decode_task_record(ft.payload);
    ASSERT_TRUE(b2) << b2.error().message;
    ASSERT_TRUE(t2) << t2.error().message;
    EXPECT_EQ(b2->poll, b.poll);
    EXPECT_EQ(t2->poll, t.poll);
    EXPECT_EQ(*b2, b);
    EXPECT_EQ(*t2, t);
    // Before the field: the task record ended with its region.
    const auto older_task = ft.payload.substr(0, ft.payload.size() - 1 - 8);
    auto t3 = decode_task_record(older_task);
    ASSERT_TRUE(t3) << t3.error().message;
    EXPECT_TRUE(t3->poll.empty());
    EXPECT_EQ(t3->region, t.region);
    // A mask naming fields that do not exist, or a field cut short.
    std::string bad(ft.payload);
    bad[bad.size() - 9] = static_cast<char>(0x08);
    EXPECT_FALSE(decode_task_record(bad));
    EXPECT_FALSE(decode_task_record(ft.payload.substr(0, ft.payload.size() - 3)));
}

TEST(JournalRecord, a_task_expiry_names_the_whole_identity_and_older_records_still_decode) {
    std::string out;
    const core::task_key key{"lb", "7", "ap-shanghai", "b-0123456789ab"};
    append_task_expired_record(out, key, 9);
    auto f = read_journal_frame(out, 0);
    ASSERT_EQ(f.status, frame_status::ok);
    auto e = decode_task_expired_record(f.payload);
    ASSERT_TRUE(e);
    EXPECT_EQ(e->key, key);
    // Before task identity the record ended after the requestId (two empty strings = 8 bytes
    // here): such a record decodes to an unqualified key, which matches the only task it names.
    const std::string unqualified_record = [] {
        std::string o;
        append_task_expired_record(o, core::task_key{"lb", "7"}, 9);
        return o;
    }();
    auto g = read_journal_frame(unqualified_record, 0);
    auto old = decode_task_expired_record(g.payload.substr(0, g.payload.size() - 8));
    ASSERT_TRUE(old) << old.error().message;
    EXPECT_EQ(old->key, (core::task_key{"lb", "7"}));
    EXPECT_EQ(old->seq, 9u);
    EXPECT_FALSE(decode_task_expired_record(g.payload.substr(0, g.payload.size() - 4)));
}

TEST(JournalRecord, task_round_trip_and_records_concatenate) {
    auto t = sample_task();
    std::string out;
    append_task_record(out, t);
    auto first = out.size();
    append_task_expired_record(out, t.key(), 31);
    append_batch_expired_record(out, "b-0123456789ab", 32);
    append_snapshot_end_record(out, 33, 2);

    auto f = read_journal_frame(out, 0);
    ASSERT_EQ(f.status, frame_status::ok);
    EXPECT_EQ(*decode_task_record(f.payload), t);
    f = read_journal_frame(out, first);
    ASSERT_EQ(f.type, journal_record_type::task_expired);
    auto te = decode_task_expired_record(f.payload);
    EXPECT_EQ(te->key, t.key());
    EXPECT_EQ(te->seq, 31u);
    auto off = first + f.size;
    f = read_journal_frame(out, off);
    ASSERT_EQ(f.type, journal_record_type::batch_expired);
    EXPECT_EQ(decode_batch_expired_record(f.payload)->batch_id, "b-0123456789ab");
    EXPECT_EQ(decode_batch_expired_record(f.payload)->seq, 32u);
    off += f.size;
    f = read_journal_frame(out, off);
    ASSERT_EQ(f.type, journal_record_type::snapshot_end);
    EXPECT_EQ(decode_snapshot_end_record(f.payload)->seq, 33u);
    EXPECT_EQ(decode_snapshot_end_record(f.payload)->records, 2u);
    EXPECT_EQ(off + f.size, out.size());
    EXPECT_EQ(read_journal_frame(out, out.size()).status, frame_status::incomplete);
}

TEST(JournalRecord, every_flipped_bit_is_detected) {
    std::string rec;
    append_batch_record(rec, sample_batch());
    for (std::size_t i = 0; i < rec.size(); ++i) {
        for (int bit = 0; bit < 8; ++bit) {
            auto bad = rec;
            bad[i] = static_cast<char>(bad[i] ^ (1 << bit));
            EXPECT_NE(read_journal_frame(bad, 0).status, frame_status::ok)
                << "byte " << i << " bit " << bit;
        }
    }
}

TEST(JournalRecord, every_truncation_is_incomplete) {
    std::string rec;
    append_task_record(rec, sample_task());
    for (std::size_t n = 0; n < rec.size(); ++n) {
        EXPECT_EQ(read_journal_frame(std::string_view{rec}.substr(0, n), 0).status,
                  frame_status::incomplete)
            << n;
    }
}

TEST(JournalRecord, malformed_payloads_are_refused_not_crashed_on) {
    std::string rec;
    append_task_record(rec, sample_task());
    auto payload = std::string_view{rec}.substr(journal_header_size);
    // A record written before tasks carried their region ends just before it, and one written
    // before their own poll settings just before that field's mask byte: both still read.
    const std::size_t without_poll = payload.size() - 1;
    const std::size_t without_region = without_poll - 4 - sample_task().region.size();
    for (std::size_t n = 0; n < payload.size(); ++n) {
        if (n == without_region || n == without_poll) continue;
        EXPECT_FALSE(decode_task_record(payload.substr(0, n))) << n;
    }
    auto old = decode_task_record(payload.substr(0, without_region));
    ASSERT_TRUE(old);
    EXPECT_EQ(old->region, "");
    EXPECT_EQ(old->updated_seq, 30u);
    std::string longer(payload);
    longer.push_back('x');
    EXPECT_FALSE(decode_task_record(longer));

    std::string newer(payload);
    newer[0] = static_cast<char>(journal_payload_version + 1);
    auto r = decode_task_record(newer);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find("format version"), std::string::npos);

    auto t = sample_task();
    t.state = static_cast<core::task_state>(200);
    std::string bad_state;
    append_task_record(bad_state, t);
    EXPECT_FALSE(decode_task_record(std::string_view{bad_state}.substr(journal_header_size)));

    // A huge element count must not make the decoder allocate or read past the end.
    std::string b;
    append_batch_record(b, sample_batch());
    auto bp = std::string(std::string_view{b}.substr(journal_header_size));
    for (std::size_t i = 1; i + 4 <= bp.size(); ++i) {
        auto m = bp;
        m.replace(i, 4, "\xff\xff\xff\x7f");
        auto d = decode_batch_record(m);
        if (d) {
            EXPECT_NE(*d, sample_batch());
        }
    }
}

}  // namespace
