#pragma once
// Shared helpers for the config tests: a temporary directory that removes itself, file writers,
// and a loader call with a controlled environment.

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "config/loader.hpp"

namespace taskpoller::config::test {

/// A fresh directory under $TMPDIR, removed with everything in it when the object dies.
class temp_dir {
  public:
    temp_dir() {
        std::string tmpl = (std::filesystem::temp_directory_path() / "tp-config-XXXXXX").string();
        if (!::mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
        path_ = tmpl;
    }
    ~temp_dir() {
        std::error_code ec;
        std::filesystem::remove_all(path_, ec);
    }
    temp_dir(const temp_dir&) = delete;
    temp_dir& operator=(const temp_dir&) = delete;

    const std::filesystem::path& path() const { return path_; }
    /// Writes `content` to `name` inside the directory with permission `mode`; returns the path.
    std::string write(const std::string& name, const std::string& content,
                      unsigned mode = 0600) const {
        const auto p = path_ / name;
        std::filesystem::create_directories(p.parent_path());
        std::ofstream(p, std::ios::binary | std::ios::trunc) << content;
        ::chmod(p.c_str(), mode);
        return p.string();
    }

  private:
    std::filesystem::path path_;
};

inline constexpr const char* test_secret_id = "AKIDtestSECRETidVALUE0001";
inline constexpr const char* test_secret_key = "KeyMustNeverLeak+0123456789abcdef";

/// An environment that provides credentials through TASKPOLLER_SECRET_ID/KEY.
inline map_environment env_with_secrets() {
    map_environment env;
    env.set("TASKPOLLER_SECRET_ID", test_secret_id);
    env.set("TASKPOLLER_SECRET_KEY", test_secret_key);
    return env;
}

/// Every error line, joined, for readable assertion failures.
inline std::string all_errors(const load_result& r) {
    return r.error_text();
}

/// True when some error's formatted text equals `expected` exactly.
inline bool has_error(const load_result& r, const std::string& expected) {
    return std::any_of(r.errors.begin(), r.errors.end(),
                       [&](const diagnostic& d) { return d.to_string() == expected; });
}

/// The one error at line:col (fails the test when there is not exactly one).
inline diagnostic error_at(const load_result& r, int line, int column) {
    std::vector<diagnostic> found;
    for (const auto& e : r.errors) {
        if (e.line == line && e.column == column) found.push_back(e);
    }
    EXPECT_EQ(found.size(), 1u) << "errors:\n" << r.error_text();
    return found.empty() ? diagnostic{} : found.front();
}

}  // namespace taskpoller::config::test
