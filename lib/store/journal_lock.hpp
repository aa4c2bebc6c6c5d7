#pragma once
// The journal's single-writer lock (issue 16): an exclusive flock(2) on `<journal>.lock` in the
// journal's directory, held for the journal's life, so a second daemon configured with the same
// store.journal (even with another socket) refuses to start instead of replaying and appending
// to the same files.

#include <string>

#include "core/result.hpp"

namespace taskpoller::store {

class journal_lock {
  public:
    /// Creates `lock_path` (0600) if absent and takes an exclusive, non-blocking flock on it,
    /// then writes this process's pid into it (for the next one's message). Fails, naming the
    /// path and the pid recorded in the file when there is one, if another process or another
    /// open file description in this process holds it; or with the OS error if it cannot be
    /// opened. The lock is released when the returned object is destroyed (or the process ends,
    /// kill -9 included: a stale file never blocks a restart).
    static core::result<journal_lock> acquire(const std::string& lock_path);
    journal_lock() = default;
    journal_lock(journal_lock&& o) noexcept : fd_(o.fd_) { o.fd_ = -1; }
    journal_lock& operator=(journal_lock&& o) noexcept;
    journal_lock(const journal_lock&) = delete;
    journal_lock& operator=(const journal_lock&) = delete;
    ~journal_lock();
    bool held() const noexcept { return fd_ >= 0; }

  private:
    explicit journal_lock(int fd) : fd_(fd) {}
    int fd_ = -1;
};

}  // namespace taskpoller::store
