// Process metrics from /proc/self, in the names every Prometheus client library uses.
#include <dirent.h>
#include <unistd.h>

#include <fstream>
#include <optional>
#include <sstream>
#include <string>

#include "control/metrics.hpp"

namespace taskpoller::control {

namespace {

std::optional<std::string> read_file(const char* path) {
    std::ifstream in(path);
    if (!in) return std::nullopt;
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

// Fields of /proc/self/stat after the parenthesised command name (which may contain spaces);
// index 0 is field 3 (state).
std::optional<std::vector<std::string>> stat_fields() {
    auto text = read_file("/proc/self/stat");
    if (!text) return std::nullopt;
    auto close = text->rfind(')');
    if (close == std::string::npos) return std::nullopt;
    std::istringstream in(text->substr(close + 1));
    std::vector<std::string> fields;
    for (std::string f; in >> f;) fields.push_back(f);
    if (fields.size() < 20) return std::nullopt;
    return fields;
}

std::optional<double> boot_time_seconds() {
    auto text = read_file("/proc/stat");
    if (!text) return std::nullopt;
    auto pos = text->find("\nbtime ");
    if (pos == std::string::npos) return std::nullopt;
    return std::stod(text->substr(pos + 7));
}

std::optional<double> open_fds() {
    DIR* d = ::opendir("/proc/self/fd");
    if (!d) return std::nullopt;
    double n = 0;
    while (const dirent* e = ::readdir(d))
        if (e->d_name[0] != '.') ++n;
    ::closedir(d);
    return n - 1;  // the directory stream's own descriptor
}

}  // namespace

void add_process_metrics(metrics_registry& r) {
    auto& rss =
        r.add_gauge("process_resident_memory_bytes", "Resident memory size in bytes.").with();
    auto& fds = r.add_gauge("process_open_fds", "Number of open file descriptors.").with();
    auto& cpu =
        r.add_counter("process_cpu_seconds_total", "Total user and system CPU time in seconds.")
            .with();
    auto& start = r.add_gauge("process_start_time_seconds",
                              "Start time of the process since the Unix epoch in seconds.")
                      .with();
    const double ticks = static_cast<double>(::sysconf(_SC_CLK_TCK));
    const double page = static_cast<double>(::sysconf(_SC_PAGESIZE));
    r.on_collect([&rss, &fds, &cpu, &start, ticks, page] {
        if (auto n = open_fds()) fds.set(*n);
        auto f = stat_fields();
        if (!f) return;
        // Fields (1-based in proc(5)): utime 14, stime 15, starttime 22, rss 24.
        cpu.set((std::stod((*f)[11]) + std::stod((*f)[12])) / ticks);
        rss.set(std::stod((*f)[21]) * page);
        if (auto boot = boot_time_seconds()) start.set(*boot + std::stod((*f)[19]) / ticks);
    });
}

}  // namespace taskpoller::control
