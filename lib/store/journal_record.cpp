// Binary payloads: u8/u32/u64 little-endian, strings as u32 length + bytes, times as i64
// nanoseconds since the epoch. Compact and branch-light, so a million tasks replay quickly.
#include "store/journal_record.hpp"

#include <fmt/format.h>

#include <limits>

#include "store/crc32c.hpp"

namespace taskpoller::store {

namespace {

class writer {
  public:
    explicit writer(std::string& out) : out_(out) {}
    void u8(std::uint8_t v) { out_.push_back(static_cast<char>(v)); }
    void u32(std::uint32_t v) {
        for (int i = 0; i < 4; ++i) out_.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
    }
    void u64(std::uint64_t v) {
        for (int i = 0; i < 8; ++i) out_.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
    }
    void time(core::sys_time t) {
        u64(static_cast<std::uint64_t>(
            std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count()));
    }
    void str(std::string_view s) {
        u32(static_cast<std::uint32_t>(s.size()));
        out_.append(s);
    }
    void labels(const core::labels& l) {
        u32(static_cast<std::uint32_t>(l.size()));
        for (const auto& [k, v] : l) {
            str(k);
            str(v);
        }
    }
    // A mask of the fields set (bit 0 initial_delay, 1 interval, 2 max_interval), then each
    // set one in milliseconds.
    void poll(const core::poll_settings& p) {
        const std::optional<std::chrono::milliseconds>* fields[] = {&p.initial_delay, &p.interval,
                                                                    &p.max_interval};
        std::uint8_t mask = 0;
        for (int i = 0; i < 3; ++i) mask |= *fields[i] ? std::uint8_t(1u << i) : std::uint8_t{0};
        u8(mask);
        for (const auto* f : fields)
            if (*f) u64(static_cast<std::uint64_t>((*f)->count()));
    }

  private:
    std::string& out_;
};

class reader {
  public:
    explicit reader(std::string_view in) : in_(in) {}
    bool ok() const { return ok_; }
    bool done() const { return ok_ && pos_ == in_.size(); }
    std::uint8_t u8() { return need(1) ? static_cast<std::uint8_t>(in_[pos_++]) : 0; }
    std::uint32_t u32() { return static_cast<std::uint32_t>(le(4)); }
    std::uint64_t u64() { return le(8); }
    core::sys_time time() {
        auto ns = std::chrono::nanoseconds{static_cast<std::int64_t>(u64())};
        return core::sys_time{std::chrono::duration_cast<core::sys_time::duration>(ns)};
    }
    std::string str() {
        auto n = u32();
        if (!need(n)) return {};
        std::string s(in_.substr(pos_, n));
        pos_ += n;
        return s;
    }
    core::labels labels() {
        core::labels l;
        auto n = u32();
        for (std::uint32_t i = 0; i < n && ok_; ++i) {
            auto k = str();
            l.emplace(std::move(k), str());
        }
        return l;
    }
    core::poll_settings poll() {
        core::poll_settings p;
        std::optional<std::chrono::milliseconds>* fields[] = {&p.initial_delay, &p.interval,
                                                              &p.max_interval};
        const auto mask = u8();
        if (mask > 7) ok_ = false;
        for (int i = 0; i < 3 && ok_; ++i) {
            if ((mask & (1u << i)) == 0) continue;
            const auto ms = u64();
            if (ms > std::uint64_t{std::numeric_limits<std::int64_t>::max()}) ok_ = false;
            *fields[i] = std::chrono::milliseconds{static_cast<std::int64_t>(ms)};
        }
        return p;
    }
    /// A count of items that each take at least `min_size` bytes; 0 and !ok() if impossible.
    std::uint32_t count(std::size_t min_size) {
        auto n = u32();
        if (ok_ && n > (in_.size() - pos_) / min_size) ok_ = false;
        return ok_ ? n : 0;
    }

  private:
    bool need(std::size_t n) {
        if (ok_ && in_.size() - pos_ < n) ok_ = false;
        return ok_;
    }
    std::uint64_t le(int n) {
        if (!need(static_cast<std::size_t>(n))) return 0;
        std::uint64_t v = 0;
        for (int i = 0; i < n; ++i) {
            v |= std::uint64_t{static_cast<unsigned char>(in_[pos_ + i])} << (8 * i);
        }
        pos_ += static_cast<std::size_t>(n);
        return v;
    }

    std::string_view in_;
    std::size_t pos_ = 0;
    bool ok_ = true;
};

// Reserves the header, lets `body` write the payload, then fills in length and CRC.
template <class Body>
void append_record(std::string& out, journal_record_type type, Body body) {
    auto start = out.size();
    out.append(journal_header_size, '\0');
    out[start + 8] = static_cast<char>(type);
    writer w{out};
    w.u8(journal_payload_version);
    body(w);
    auto len = static_cast<std::uint32_t>(out.size() - start - journal_header_size);
    auto crc = crc32c(std::string_view{out}.substr(start + 8));
    for (int i = 0; i < 4; ++i) {
        out[start + i] = static_cast<char>((len >> (8 * i)) & 0xFF);
        out[start + 4 + i] = static_cast<char>((crc >> (8 * i)) & 0xFF);
    }
}

core::error malformed(std::string_view what) {
    return core::error{fmt::format("malformed {} record", what)};
}

// Checks the version byte; the rest of the payload is read by the caller.
core::result<void> check_version(reader& r, std::string_view what) {
    auto v = r.u8();
    if (!r.ok()) return malformed(what);
    if (v != journal_payload_version) {
        return core::error{fmt::format("{} record has format version {} (this build reads {})",
                                       what, v, journal_payload_version)};
    }
    return {};
}

}  // namespace

void append_batch_record(std::string& out, const core::batch& b) {
    append_record(out, journal_record_type::batch, [&](writer& w) {
        w.str(b.id);
        w.u8(static_cast<std::uint8_t>(b.state));
        w.str(b.service);
        w.str(b.action);
        w.str(b.region);
        w.u32(static_cast<std::uint32_t>(b.code));
        w.str(b.message);
        w.time(b.created_at);
        w.time(b.finished_at);
        w.labels(b.labels);
        w.str(b.client_token);
        w.u32(static_cast<std::uint32_t>(b.entries.size()));
        for (const auto& e : b.entries) {
            w.str(e.resource_id);
            w.u8(static_cast<std::uint8_t>(e.outcome));
            w.u32(static_cast<std::uint32_t>(e.code));
            w.str(e.message);
            w.str(e.request_id);
        }
        w.u64(b.created_seq);
        w.u64(b.updated_seq);
        w.str(b.target);  // added with CBS attach targets: optional when decoding
        w.poll(b.poll);   // added with per-submission poll settings: optional when decoding
    });
}

void append_task_record(std::string& out, const core::task& t) {
    append_record(out, journal_record_type::task, [&](writer& w) {
        w.str(t.service);
        w.str(t.request_id);
        w.u8(static_cast<std::uint8_t>(t.state));
        w.str(t.action);
        w.str(t.batch_id);
        w.u32(static_cast<std::uint32_t>(t.resources.size()));
        for (const auto& r : t.resources) w.str(r);
        w.str(t.last_status);
        w.str(t.last_error);
        w.u32(t.polls);
        w.time(t.created_at);
        w.time(t.finished_at);
        w.time(t.deadline);
        w.labels(t.labels);
        w.u64(t.created_seq);
        w.u64(t.updated_seq);
        w.str(t.region);  // added after format 1's first records: optional when decoding
        w.poll(t.poll);   // added with per-submission poll settings: optional when decoding
    });
}

void append_batch_expired_record(std::string& out, std::string_view batch_id, std::uint64_t seq) {
    append_record(out, journal_record_type::batch_expired, [&](writer& w) {
        w.u64(seq);
        w.str(batch_id);
    });
}

void append_task_expired_record(std::string& out, const core::task_key& key, std::uint64_t seq) {
    append_record(out, journal_record_type::task_expired, [&](writer& w) {
        w.u64(seq);
        w.str(key.service);
        w.str(key.request_id);
        w.str(key.region);  // added with task identity: optional when decoding
        w.str(key.batch_id);
    });
}

void append_snapshot_end_record(std::string& out, std::uint64_t seq, std::uint64_t records) {
    append_record(out, journal_record_type::snapshot_end, [&](writer& w) {
        w.u64(seq);
        w.u64(records);
    });
}

journal_frame read_journal_frame(std::string_view data, std::size_t offset) noexcept {
    journal_frame f;
    if (offset > data.size() || data.size() - offset < journal_header_size) {
        f.status = frame_status::incomplete;
        return f;
    }
    auto get32 = [&](std::size_t at) {
        std::uint32_t v = 0;
        for (int i = 0; i < 4; ++i) {
            v |= std::uint32_t{static_cast<unsigned char>(data[at + i])} << (8 * i);
        }
        return v;
    };
    auto len = get32(offset);
    auto crc = get32(offset + 4);
    auto type = static_cast<unsigned char>(data[offset + 8]);
    if (len == 0 || len > journal_max_payload || type < 1 || type > 5) return f;  // bad
    if (data.size() - offset - journal_header_size < len) {
        f.status = frame_status::incomplete;
        return f;
    }
    if (crc32c(data.substr(offset + 8, len + 1)) != crc) return f;
    f.status = frame_status::ok;
    f.type = static_cast<journal_record_type>(type);
    f.payload = data.substr(offset + journal_header_size, len);
    f.size = journal_header_size + len;
    return f;
}

core::result<core::batch> decode_batch_record(std::string_view payload) {
    reader r{payload};
    if (auto v = check_version(r, "batch"); !v) return v.error();
    core::batch b;
    b.id = r.str();
    auto state = r.u8();
    b.service = r.str();
    b.action = r.str();
    b.region = r.str();
    b.code = static_cast<int>(r.u32());
    b.message = r.str();
    b.created_at = r.time();
    b.finished_at = r.time();
    b.labels = r.labels();
    b.client_token = r.str();
    auto n = r.count(14);  // an entry takes at least 17 bytes; 14 is a safe bound
    b.entries.reserve(n);
    bool bad_enum = state >= core::batch_state_count;
    for (std::uint32_t i = 0; i < n && r.ok(); ++i) {
        core::entry e;
        e.resource_id = r.str();
        auto outcome = r.u8();
        bad_enum |= outcome > static_cast<std::uint8_t>(core::entry_outcome::unknown);
        e.outcome = static_cast<core::entry_outcome>(outcome);
        e.code = static_cast<int>(r.u32());
        e.message = r.str();
        e.request_id = r.str();
        b.entries.push_back(std::move(e));
    }
    b.created_seq = r.u64();
    b.updated_seq = r.u64();
    if (r.ok() && !r.done()) b.target = r.str();
    if (r.ok() && !r.done()) b.poll = r.poll();
    if (!r.done() || bad_enum) return malformed("batch");
    b.state = static_cast<core::batch_state>(state);
    return b;
}

core::result<core::task> decode_task_record(std::string_view payload) {
    reader r{payload};
    if (auto v = check_version(r, "task"); !v) return v.error();
    core::task t;
    t.service = r.str();
    t.request_id = r.str();
    auto state = r.u8();
    t.action = r.str();
    t.batch_id = r.str();
    auto n = r.count(4);
    t.resources.reserve(n);
    for (std::uint32_t i = 0; i < n && r.ok(); ++i) t.resources.push_back(r.str());
    t.last_status = r.str();
    t.last_error = r.str();
    t.polls = r.u32();
    t.created_at = r.time();
    t.finished_at = r.time();
    t.deadline = r.time();
    t.labels = r.labels();
    t.created_seq = r.u64();
    t.updated_seq = r.u64();
    if (r.ok() && !r.done()) t.region = r.str();
    if (r.ok() && !r.done()) t.poll = r.poll();
    if (!r.done() || state >= core::task_state_count) return malformed("task");
    t.state = static_cast<core::task_state>(state);
    return t;
}

core::result<batch_expiry> decode_batch_expired_record(std::string_view payload) {
    reader r{payload};
    if (auto v = check_version(r, "batch_expired"); !v) return v.error();
    batch_expiry e;
    e.seq = r.u64();
    e.batch_id = r.str();
    if (!r.done()) return malformed("batch_expired");
    return e;
}

core::result<task_expiry> decode_task_expired_record(std::string_view payload) {
    reader r{payload};
    if (auto v = check_version(r, "task_expired"); !v) return v.error();
    task_expiry e;
    e.seq = r.u64();
    e.key.service = r.str();
    e.key.request_id = r.str();
    if (r.ok() && !r.done()) {
        e.key.region = r.str();
        e.key.batch_id = r.str();
    }
    if (!r.done()) return malformed("task_expired");
    return e;
}

core::result<snapshot_end> decode_snapshot_end_record(std::string_view payload) {
    reader r{payload};
    if (auto v = check_version(r, "snapshot_end"); !v) return v.error();
    snapshot_end e;
    e.seq = r.u64();
    e.records = r.u64();
    if (!r.done()) return malformed("snapshot_end");
    return e;
}

}  // namespace taskpoller::store
