#include "store/journal_file.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

namespace taskpoller::store::journal_file {

core::error os_error(std::string_view what, const std::string& path, int err) {
    return core::error{fmt::format("{}({}): {}", what, path, std::strerror(err))};
}

std::string header(std::string_view magic) {
    char h[header_size] = {};
    magic.copy(h, 4);
    for (int i = 0; i < 4; ++i) h[4 + i] = static_cast<char>((format_version >> (8 * i)) & 0xFF);
    return std::string(h, header_size);
}

core::result<void> check_header(std::string_view data, std::string_view magic,
                                const std::string& path) {
    if (data.size() < header_size || data.substr(0, 4) != magic.substr(0, 4)) {
        return core::error{fmt::format("{} is not a taskpoller {} file (bad magic)", path,
                                       magic == "TPSN" ? "snapshot" : "journal")};
    }
    std::uint32_t v = 0;
    for (int i = 0; i < 4; ++i)
        v |= std::uint32_t{static_cast<unsigned char>(data[4 + i])} << (8 * i);
    if (v != format_version) {
        return core::error{fmt::format("{} has format version {}; this build reads version {}",
                                       path, v, format_version)};
    }
    return {};
}

core::result<void> write_all(int fd, std::string_view bytes, const std::string& path) {
    while (!bytes.empty()) {
        auto n = ::write(fd, bytes.data(), bytes.size());
        if (n < 0) {
            if (errno == EINTR) continue;
            return os_error("write", path, errno);
        }
        bytes.remove_prefix(static_cast<std::size_t>(n));
    }
    return {};
}

core::result<std::string> read_all(int fd, const std::string& path) {
    std::string out;
    auto end = ::lseek(fd, 0, SEEK_END);
    if (end < 0) return os_error("lseek", path, errno);
    out.resize(static_cast<std::size_t>(end));
    std::size_t got = 0;
    while (got < out.size()) {
        auto n = ::pread(fd, out.data() + got, out.size() - got, static_cast<off_t>(got));
        if (n < 0) {
            if (errno == EINTR) continue;
            return os_error("read", path, errno);
        }
        if (n == 0) break;  // shrank meanwhile: keep what was read
        got += static_cast<std::size_t>(n);
    }
    out.resize(got);
    return core::ok(std::move(out));
}

core::result<std::optional<std::string>> read_file(const std::string& path) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT) return std::optional<std::string>{};
        return os_error("open", path, errno);
    }
    auto r = read_all(fd, path);
    ::close(fd);
    if (!r) return r.error();
    return std::optional<std::string>{std::move(*r)};
}

core::result<void> sync_parent_dir(const std::string& path) {
    auto parent = std::filesystem::path(path).parent_path();
    const std::string dir = parent.empty() ? std::filesystem::path(".") : parent;
    int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return os_error("open", dir, errno);
    int rc = ::fsync(fd);
    int err = errno;
    ::close(fd);
    if (rc != 0) return os_error("fsync", dir, err);
    return {};
}

}  // namespace taskpoller::store::journal_file
