// Fuzz target: the YAML configuration loader (lib/config/loader.hpp, load_string).
// Input: the configuration text. The environment supplies credentials, so inputs without a
// credentials section can load successfully and reach every later section.
// Invariants: load_string never throws or crashes; it yields either a configuration and no
// errors, or at least one error, each positioned inside the text (file:line:col, 1-based) with a
// message; no diagnostic ever contains the secret key.

#include <algorithm>
#include <string>
#include <string_view>

#include "config/loader.hpp"
#include "fuzz_check.hpp"

namespace {

using namespace taskpoller::config;

constexpr std::string_view file_name = "fuzz.yaml";
constexpr std::string_view secret_key = "FuzzSecretKeyMustNeverLeak0123456789";

const map_environment& fuzz_environment() {
    static const map_environment env = [] {
        map_environment e;
        e.set("TASKPOLLER_SECRET_ID", "AKIDfuzzSecretId0001");
        e.set("TASKPOLLER_SECRET_KEY", std::string(secret_key));
        return e;
    }();
    return env;
}

int line_count(std::string_view text) {
    return static_cast<int>(std::count(text.begin(), text.end(), '\n')) + 1;
}

void check_diagnostic(const diagnostic& d, std::string_view text, bool is_error) {
    FUZZ_CHECK(d.file == file_name);
    FUZZ_CHECK(!d.message.empty());
    const std::string line = d.to_string();
    FUZZ_CHECK(line.find(secret_key) == std::string::npos);
    if (!is_error) return;
    // yaml-cpp may place a mark one past the last line (an unterminated flow collection).
    FUZZ_CHECK(d.line >= 1 && d.line <= line_count(text) + 1);
    FUZZ_CHECK(d.column >= 1);
    const std::string prefix = std::string(file_name) + ":" + std::to_string(d.line) + ":" +
                               std::to_string(d.column) + ": ";
    FUZZ_CHECK(line.starts_with(prefix));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text = taskpoller::fuzz::as_text(data, size);
    const load_result r = load_string(text, file_name, fuzz_environment());
    FUZZ_CHECK(r.ok() == r.errors.empty());
    FUZZ_CHECK(r.ok() == (r.config != nullptr));
    for (const auto& e : r.errors) check_diagnostic(e, text, true);
    for (const auto& w : r.warnings) check_diagnostic(w, text, false);
    if (!r.ok()) {
        const std::string all = r.error_text();
        for (const auto& e : r.errors) FUZZ_CHECK(all.find(e.to_string()) != std::string::npos);
    }
    return 0;
}
