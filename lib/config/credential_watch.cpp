#include "config/credential_watch.hpp"

#include <sys/stat.h>

namespace taskpoller::config {

std::vector<file_stamp> stamp_files(const std::vector<std::string>& paths) {
    std::vector<file_stamp> out;
    out.reserve(paths.size());
    for (const auto& p : paths) {
        file_stamp s;
        s.path = p;
        struct stat st {};
        if (::stat(p.c_str(), &st) == 0) {
            s.exists = true;
            s.mtime_ns =
                static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec;
            s.size = static_cast<std::uint64_t>(st.st_size);
            s.inode = static_cast<std::uint64_t>(st.st_ino);
        }
        out.push_back(std::move(s));
    }
    return out;
}

void credential_watch::reset(std::vector<file_stamp> files, std::uint64_t token_failures,
                             time_point now) {
    files_ = std::move(files);
    token_failures_ = token_failures;
    read_at_ = now;
}

std::optional<std::string> credential_watch::due(const std::vector<file_stamp>& files,
                                                 std::uint64_t token_failures,
                                                 time_point now) const {
    for (const auto& f : files) {
        bool known = false;
        for (const auto& old : files_) {
            if (old.path != f.path) continue;
            known = true;
            if (old != f) return f.path + (f.exists ? " changed" : " was removed");
        }
        if (!known) return f.path + " is new";
    }
    if (token_failures > token_failures_ && now - read_at_ >= min_gap_)
        return std::string("a call was answered AuthFailure.TokenFailure");
    return std::nullopt;
}

std::vector<std::string> credential_watch::paths() const {
    std::vector<std::string> out;
    out.reserve(files_.size());
    for (const auto& f : files_) out.push_back(f.path);
    return out;
}

}  // namespace taskpoller::config
