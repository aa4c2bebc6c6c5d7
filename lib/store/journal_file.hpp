#pragma once
// Small POSIX file helpers for the journal (internal). Errors name the file and errno's text.

#include <cstdint>
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

/// write(2) until done (EINTR and short writes handled).
core::result<void> write_all(int fd, std::string_view bytes, const std::string& path);
/// The whole content of fd from offset 0.
core::result<std::string> read_all(int fd, const std::string& path);
/// nullopt if the file does not exist.
core::result<std::optional<std::string>> read_file(const std::string& path);
/// fsync of the directory holding `path` (makes a create or rename durable).
core::result<void> sync_parent_dir(const std::string& path);
/// "open(P): No such file or directory"
core::error os_error(std::string_view what, const std::string& path, int err);

}  // namespace taskpoller::store::journal_file
