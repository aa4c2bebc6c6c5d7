#include "store/journal_control.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <bit>
#include <cerrno>

#include "store/crc32c.hpp"
#include "store/journal_file.hpp"

namespace taskpoller::store {

namespace jf = journal_file;

namespace {

constexpr std::string_view magic = "TPCT";
constexpr std::uint32_t version = 1;
constexpr std::size_t body_size = 36;  // everything before the CRC
constexpr std::size_t file_size = body_size + 4;

void put(std::string& out, std::uint64_t v, int bytes) {
    for (int i = 0; i < bytes; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
}

std::uint64_t get(std::string_view in, std::size_t at, int bytes) {
    std::uint64_t v = 0;
    for (int i = 0; i < bytes; ++i)
        v |= std::uint64_t{static_cast<unsigned char>(in[at + i])} << (8 * i);
    return v;
}

constexpr std::string_view recover_hint =
    "refusing to start: acknowledged changes may be lost (start with --recover to use what is "
    "readable and lose the rest)";

}  // namespace

std::uint64_t group_bound(std::uint64_t bytes) noexcept {
    return std::bit_ceil(std::max(bytes, min_group_bytes));
}

std::string encode_control(const journal_control& c) {
    std::string out(magic);
    put(out, version, 4);
    put(out, c.log_durable_bytes, 8);
    put(out, c.snapshot_seq, 8);
    put(out, c.max_group_bytes, 8);
    put(out, 0, 4);
    put(out, crc32c(out), 4);
    return out;
}

core::result<journal_control> decode_control(std::string_view data, const std::string& path) {
    if (data.size() != file_size || data.substr(0, 4) != magic) {
        return core::error{fmt::format("{} is not a taskpoller journal control file", path)};
    }
    if (get(data, 4, 4) != version) {
        return core::error{fmt::format("{} has format version {}; this build reads version {}",
                                       path, get(data, 4, 4), version)};
    }
    if (get(data, body_size, 4) != crc32c(data.substr(0, body_size))) {
        return core::error{fmt::format("{} is damaged (CRC mismatch); {}", path, recover_hint)};
    }
    return journal_control{get(data, 8, 8), get(data, 16, 8), get(data, 24, 8)};
}

core::result<std::optional<journal_control>> read_control(const std::string& path) {
    auto m = jf::mapped_file::map(path);
    if (!m) return m.error();
    if (!*m) return std::optional<journal_control>{};
    auto c = decode_control((*m)->data(), path);
    if (!c) return c.error();
    return std::optional<journal_control>{*c};
}

core::result<void> write_control(const std::string& path, const journal_control& c) {
    auto tmp = path + ".tmp";
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) return jf::os_error("open", tmp, errno);
    auto r = jf::write_all(fd, encode_control(c), tmp);
    if (r && ::fsync(fd) != 0) r = jf::os_error("fsync", tmp, errno);
    ::close(fd);
    if (r && ::rename(tmp.c_str(), path.c_str()) != 0) r = jf::os_error("rename", tmp, errno);
    if (!r) {
        ::unlink(tmp.c_str());
        return r;
    }
    return jf::sync_parent_dir(path);
}

core::result<void> check_log(const log_facts& f, const std::string& log_path) {
    auto refuse = [&](std::string what) {
        return core::error{fmt::format("{}: {}; {}", log_path, what, recover_hint)};
    };
    if (!f.control) {
        if (f.snapshot_seq && f.log_size < jf::header_size) {
            return refuse(
                fmt::format("the log is {} bytes (not even its header) while {}.snapshot "
                            "exists: it was emptied or replaced",
                            f.log_size, log_path));
        }
        return {};
    }
    const auto& c = *f.control;
    if (c.snapshot_seq > 0 && !f.snapshot_seq) {
        return refuse(fmt::format("{}.snapshot is missing, but {}.control records one (seq {})",
                                  log_path, log_path, c.snapshot_seq));
    }
    if (f.snapshot_seq && *f.snapshot_seq < c.snapshot_seq) {
        return refuse(
            fmt::format("{}.snapshot (seq {}) is older than the one {}.control records "
                        "(seq {}): it was replaced",
                        log_path, *f.snapshot_seq, log_path, c.snapshot_seq));
    }
    if (f.log_size < c.log_durable_bytes) {
        return refuse(
            fmt::format("the log is {} bytes, but {} bytes of it were durable "
                        "({}.control): it was truncated",
                        f.log_size, c.log_durable_bytes, log_path));
    }
    if (f.valid_end < c.log_durable_bytes) {
        return refuse(
            fmt::format("damaged from offset {} to its end ({} bytes), inside what was "
                        "durable (the first {} bytes, {}.control)",
                        f.valid_end, f.log_size - f.valid_end, c.log_durable_bytes, log_path));
    }
    auto tail = f.log_size - f.valid_end;
    auto allowed = std::max(c.max_group_bytes, min_group_bytes);
    if (tail > allowed) {
        return refuse(
            fmt::format("damaged from offset {} to its end: {} bytes, more than a crash "
                        "can tear (at most {} bytes are ever written unsynced, {}.control)",
                        f.valid_end, tail, allowed, log_path));
    }
    return {};
}

}  // namespace taskpoller::store
