#pragma once
// Small POSIX file helpers for the journal (internal). Errors name the file and errno's text.

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "core/result.hpp"

namespace taskpoller::store::journal_file {

/// File headers: 4-byte magic, u32 little-endian format version.
inline constexpr std::size_t header_size = 8;
inline constexpr std::uint32_t format_version = 1;
std::string header(std::string_view magic);
/// invalid error (naming `path`) unless `data` starts with the header for `magic`.
core::result<void> check_header(std::string_view data, std::string_view magic,
                                const std::string& path);

/// write(2) replacement (tests inject failures): same contract, -1 with errno set on failure.
using write_fn = std::function<ssize_t(int fd, const void* data, std::size_t size)>;
/// write(2) (or `w` when set) until done (EINTR and short writes handled).
core::result<void> write_all(int fd, std::string_view bytes, const std::string& path,
                             const write_fn& w = {});
/// A read-only memory map of a whole file (replay reads hundreds of MiB: no copy, no zeroing).
class mapped_file {
  public:
    /// Maps what fd holds now; an empty file gives an empty view. The fd may be closed after.
    static core::result<mapped_file> map(int fd, const std::string& path);
    /// nullopt if the file does not exist.
    static core::result<std::optional<mapped_file>> map(const std::string& path);
    mapped_file() = default;
    mapped_file(mapped_file&& o) noexcept : data_(o.data_), size_(o.size_) { o.data_ = nullptr; }
    mapped_file& operator=(mapped_file&& o) noexcept;
    ~mapped_file();
    std::string_view data() const noexcept { return {static_cast<const char*>(data_), size_}; }

  private:
    void* data_ = nullptr;
    std::size_t size_ = 0;
};

/// fsync of the directory holding `path` (makes a create or rename durable).
core::result<void> sync_parent_dir(const std::string& path);
/// "open(P): No such file or directory"
core::error os_error(std::string_view what, const std::string& path, int err);

}  // namespace taskpoller::store::journal_file
