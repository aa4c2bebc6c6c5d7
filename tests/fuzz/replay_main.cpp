// A stand-in for libFuzzer's main in the GCC builds: runs the target once on every file of the
// corpus directories (or files) given on the command line, so the normal and sanitizer builds
// replay the seeds (and any committed crash reproducers) without clang. Exits non-zero when no
// input was found, so an empty or misplaced corpus cannot pass silently.

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <string>
#include <vector>

#include "fuzz_check.hpp"

namespace fs = std::filesystem;

namespace {

std::vector<fs::path> inputs_of(const std::vector<std::string>& args) {
    std::vector<fs::path> out;
    for (const auto& a : args) {
        if (fs::is_directory(a)) {
            for (const auto& e : fs::recursive_directory_iterator(a))
                if (e.is_regular_file()) out.push_back(e.path());
        } else if (fs::is_regular_file(a)) {
            out.emplace_back(a);
        } else {
            std::cerr << "replay: no such file or directory: " << a << "\n";
        }
    }
    std::sort(out.begin(), out.end());
    return out;
}

}  // namespace

int main(int argc, char** argv) {
    const auto files = inputs_of({argv + 1, argv + argc});
    if (files.empty()) {
        std::cerr << "replay: no inputs\n";
        return 2;
    }
    for (const auto& f : files) {
        std::ifstream in(f, std::ios::binary);
        std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        if (!in.good() && !in.eof()) {
            std::cerr << "replay: cannot read " << f << "\n";
            return 2;
        }
        std::cerr << "replay: " << f.filename().string() << " (" << bytes.size() << " bytes)\n";
        LLVMFuzzerTestOneInput(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
    }
    // The empty input is every parser's first edge case.
    LLVMFuzzerTestOneInput(reinterpret_cast<const std::uint8_t*>(""), 0);
    std::cout << "replay: " << files.size() << " inputs, no crash\n";
    return 0;
}
