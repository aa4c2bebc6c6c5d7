// Opening the journal: its lock, the log's header, the control file (docs/durability.md).
#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>

#include "store/journal.hpp"
#include "store/journal_file.hpp"

namespace taskpoller::store {

namespace jf = journal_file;

namespace {

constexpr std::string_view log_magic = "TPJL";

// Fills a fresh (or torn-while-created) log with its header and makes it durable.
core::result<void> init_log(int fd, const std::string& path) {
    if (::ftruncate(fd, 0) != 0) return jf::os_error("ftruncate", path, errno);
    if (auto r = jf::write_all(fd, jf::header(log_magic), path); !r) return r;
    if (::fdatasync(fd) != 0) return jf::os_error("fdatasync", path, errno);
    return jf::sync_parent_dir(path);
}

// A log shorter than its header is new (or torn while being created) only if nothing says a
// journal existed here: no control file, no snapshot. Otherwise it was emptied or replaced.
core::result<void> check_short_log(const std::string& path, std::uint64_t size,
                                   const std::optional<journal_control>& control,
                                   const journal_options& o) {
    std::error_code ec;
    bool snapshot = std::filesystem::exists(path + ".snapshot", ec);
    if (!control && !snapshot) return {};
    auto message = fmt::format(
        "{}: the log is {} bytes (not even its header) while {} exists: it was emptied or "
        "replaced; refusing to start: acknowledged changes may be lost (start with --recover to "
        "use what the snapshot holds)",
        path, size, control ? path + ".control" : path + ".snapshot");
    if (!o.recover) return core::error{message};
    o.log.error("RECOVER: {}", message);
    return {};
}

// Checks (or, for an empty or torn-while-created file, writes) the log's header.
core::result<std::uint64_t> prepare_log(int fd, const std::string& path,
                                        const std::optional<journal_control>& control,
                                        const journal_options& o) {
    auto size = ::lseek(fd, 0, SEEK_END);
    if (size < 0) return jf::os_error("lseek", path, errno);
    auto n = static_cast<std::size_t>(size);
    std::string head(std::min(n, jf::header_size), '\0');
    if (!head.empty() && ::pread(fd, head.data(), head.size(), 0) != ssize_t(head.size())) {
        return jf::os_error("read", path, errno);
    }
    if (n >= jf::header_size) {
        if (auto r = jf::check_header(head, log_magic, path); !r) return r.error();
        return static_cast<std::uint64_t>(n);
    }
    if (head != jf::header(log_magic).substr(0, head.size())) {
        return core::error{fmt::format("{} is not a taskpoller journal file (bad magic)", path)};
    }
    if (auto r = check_short_log(path, n, control, o); !r) return r.error();
    if (auto r = init_log(fd, path); !r) return r.error();
    return static_cast<std::uint64_t>(jf::header_size);
}

}  // namespace

core::result<std::unique_ptr<journal>> journal::open(std::string path, journal_options options) {
    if (path.empty()) return core::error{"journal path is empty"};
    auto lock = journal_lock::acquire(path + ".lock");
    if (!lock) return lock.error();
    auto control = read_control(path + ".control");
    if (!control) return control.error();
    int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd < 0) return jf::os_error("open", path, errno);
    auto size = prepare_log(fd, path, *control, options);
    if (!size) {
        ::close(fd);
        return size.error();
    }
    if (!options.sync) options.sync = [](int f) { return ::fdatasync(f); };
    auto j = std::unique_ptr<journal>(
        new journal(std::move(path), std::move(options), std::move(*lock), fd, *size));
    j->found_control_ = *control;
    return j;
}

journal::journal(std::string path, journal_options options, journal_lock lock, int fd,
                 std::uint64_t size)
    : path_(std::move(path)),
      options_(std::move(options)),
      lock_(std::move(lock)),
      fd_(fd),
      durable_bytes_(size),
      backoff_(options_.retry_first, options_.retry_max) {
    counters_.log_bytes = size;
}

journal::~journal() {
    detach();
    if (dirty_ && failed_.empty()) (void)sync_log();
    ::close(fd_);
}

core::result<void> journal::checkpoint() {
    if (!failed_.empty() || store_ == nullptr) return health();
    if (durable_bytes_ == control_.log_durable_bytes && max_group_ == control_.max_group_bytes) {
        return {};
    }
    return write_control_now(durable_bytes_, control_.snapshot_seq);
}

core::result<void> journal::write_control_now(std::uint64_t durable, std::uint64_t snapshot_seq) {
    journal_control c{durable, snapshot_seq, max_group_};
    if (auto r = write_control(path_ + ".control", c); !r) return r;
    control_ = c;
    return {};
}

}  // namespace taskpoller::store
