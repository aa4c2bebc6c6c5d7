#pragma once
// When the daemon re-reads its credentials without a reload (docs/configuration.md "Temporary
// credentials"): a credentials file changed (its inode, size or modification time), or a call
// was answered AuthFailure.TokenFailure — then at most once per `min_gap`, so that a token nobody
// renewed is not re-read for every failing call. The decision is I/O-free; stamp_files() is the
// one stat() per file it needs.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace taskpoller::config {

struct file_stamp {
    std::string path;
    bool exists = false;
    std::int64_t mtime_ns = 0;
    std::uint64_t size = 0;
    std::uint64_t inode = 0;
    friend bool operator==(const file_stamp&, const file_stamp&) = default;
};

/// stat()s each path; a file that cannot be stat()ed is `exists = false`.
std::vector<file_stamp> stamp_files(const std::vector<std::string>& paths);

class credential_watch {
  public:
    using time_point = std::chrono::steady_clock::time_point;

    explicit credential_watch(
        std::chrono::steady_clock::duration min_gap = std::chrono::seconds(10))
        : min_gap_(min_gap) {}

    /// After the credentials were (re-)read: the files as they were then, and how many
    /// AuthFailure.TokenFailure answers had been counted.
    void reset(std::vector<file_stamp> files, std::uint64_t token_failures, time_point now);

    /// Why to re-read now, or nullopt: "<path> changed", or "a call was answered
    /// AuthFailure.TokenFailure" (only past `min_gap` since the last read).
    std::optional<std::string> due(const std::vector<file_stamp>& files,
                                   std::uint64_t token_failures, time_point now) const;

    /// The files to stamp on each check.
    std::vector<std::string> paths() const;

  private:
    std::chrono::steady_clock::duration min_gap_;
    std::vector<file_stamp> files_;
    std::uint64_t token_failures_ = 0;
    time_point read_at_{};
};

}  // namespace taskpoller::config
