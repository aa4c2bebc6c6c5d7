#pragma once
// Shared by the fuzz targets: an invariant check that aborts (libFuzzer and the corpus replayer
// both report an abort as a crash, with the input that caused it), and the entry point's
// signature.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace taskpoller::fuzz {

[[noreturn]] inline void invariant_failed(const char* what, const char* file, int line) {
    std::fprintf(stderr, "%s:%d: fuzz invariant violated: %s\n", file, line, what);
    std::abort();
}

/// The input as text (fuzz inputs are arbitrary bytes; nothing here assumes UTF-8).
inline std::string_view as_text(const std::uint8_t* data, std::size_t size) {
    return {reinterpret_cast<const char*>(data), size};
}

}  // namespace taskpoller::fuzz

// Not assert(): it must hold in release builds too.
#define FUZZ_CHECK(cond)           \
    ((cond) ? static_cast<void>(0) \
            : ::taskpoller::fuzz::invariant_failed(#cond, __FILE__, __LINE__))
