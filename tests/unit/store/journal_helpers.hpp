#pragma once
// Shared helpers for the journal tests: a temporary directory, file access, store comparison.

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "core/logger.hpp"
#include "helpers.hpp"
#include "store/journal.hpp"

namespace taskpoller::store::test {

/// A fresh directory, removed with everything in it however the test ends.
class temp_dir {
  public:
    temp_dir() {
        auto tmpl = (std::filesystem::temp_directory_path() / "journal-test-XXXXXX").string();
        if (::mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
        path_ = tmpl;
    }
    ~temp_dir() {
        std::error_code ec;
        std::filesystem::remove_all(path_, ec);
    }
    temp_dir(const temp_dir&) = delete;
    temp_dir& operator=(const temp_dir&) = delete;
    std::string file(const std::string& name) const { return (path_ / name).string(); }

  private:
    std::filesystem::path path_;
};

inline std::string read_bytes(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

inline void write_bytes(const std::string& path, const std::string& bytes) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

/// Captures log lines, to check that warnings are given.
struct log_capture {
    std::vector<std::pair<core::log_level, std::string>> lines;
    core::logger logger() {
        return core::logger{[this](core::log_level l, std::string_view m) {
                                lines.emplace_back(l, std::string(m));
                            },
                            core::log_level::debug};
    }
    bool has(core::log_level l, std::string_view text) const {
        for (const auto& [level, m] : lines) {
            if (level == l && m.find(text) != std::string::npos) return true;
        }
        return false;
    }
};

/// Options whose sync counts calls instead of touching the disk (fast tests).
inline journal_options counting_options(int& syncs, durability mode = durability::strict) {
    journal_options o;
    o.mode = mode;
    o.sync = [&syncs](int) {
        ++syncs;
        return 0;
    };
    return o;
}

inline std::vector<core::task> all_tasks(const store& s) {
    std::vector<core::task> out;
    page_request p{max_page_limit, ""};
    do {
        auto page = s.list_tasks({}, p);
        out.insert(out.end(), page->items.begin(), page->items.end());
        p.page_token = page->next_page_token;
    } while (!p.page_token.empty());
    return out;
}

inline std::vector<core::batch> all_batches(const store& s) {
    std::vector<core::batch> out;
    page_request p{max_page_limit, ""};
    do {
        auto page = s.list_batches({}, p);
        out.insert(out.end(), page->items.begin(), page->items.end());
        p.page_token = page->next_page_token;
    } while (!p.page_token.empty());
    return out;
}

/// Field-by-field equality of everything a client can see, plus seq and expiry schedule.
inline void expect_same_store(const store& a, const store& b) {
    EXPECT_EQ(a.seq(), b.seq());
    EXPECT_EQ(a.task_count(), b.task_count());
    EXPECT_EQ(a.batch_count(), b.batch_count());
    EXPECT_EQ(a.task_counts(), b.task_counts());
    EXPECT_EQ(a.batch_counts(), b.batch_counts());
    EXPECT_EQ(a.next_expiry(), b.next_expiry());
    auto ta = all_tasks(a), tb = all_tasks(b);
    ASSERT_EQ(ta.size(), tb.size());
    for (std::size_t i = 0; i < ta.size(); ++i) EXPECT_EQ(ta[i], tb[i]) << ta[i].request_id;
    auto ba = all_batches(a), bb = all_batches(b);
    ASSERT_EQ(ba.size(), bb.size());
    for (std::size_t i = 0; i < ba.size(); ++i) EXPECT_EQ(ba[i], bb[i]) << ba[i].id;
}

}  // namespace taskpoller::store::test
