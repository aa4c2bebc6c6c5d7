// CRC-32C: reflected polynomial 0x82F63B78, initial value and final xor 0xFFFFFFFF.
#include "store/crc32c.hpp"

#include <array>
#include <cstring>

#if defined(__x86_64__)
#include <nmmintrin.h>
#endif

namespace taskpoller::store {

namespace {

constexpr std::array<std::uint32_t, 256> make_table() {
    std::array<std::uint32_t, 256> t{};
    for (std::uint32_t i = 0; i < 256; ++i) {
        std::uint32_t c = i;
        for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
        t[i] = c;
    }
    return t;
}

constexpr auto table = make_table();

#if defined(__x86_64__)
__attribute__((target("sse4.2"))) std::uint32_t crc32c_hw(std::string_view data,
                                                          std::uint32_t crc) noexcept {
    std::uint64_t c = ~crc;
    const char* p = data.data();
    std::size_t n = data.size();
    for (; n >= 8; n -= 8, p += 8) {
        std::uint64_t word;
        std::memcpy(&word, p, 8);
        c = _mm_crc32_u64(c, word);
    }
    auto c32 = static_cast<std::uint32_t>(c);
    for (; n > 0; --n, ++p) c32 = _mm_crc32_u8(c32, static_cast<std::uint8_t>(*p));
    return ~c32;
}

const bool have_sse42 = __builtin_cpu_supports("sse4.2");
#endif

}  // namespace

std::uint32_t crc32c_software(std::string_view data, std::uint32_t crc) noexcept {
    crc = ~crc;
    for (unsigned char ch : data) crc = table[(crc ^ ch) & 0xFFu] ^ (crc >> 8);
    return ~crc;
}

std::uint32_t crc32c(std::string_view data, std::uint32_t crc) noexcept {
#if defined(__x86_64__)
    if (have_sse42) return crc32c_hw(data, crc);
#endif
    return crc32c_software(data, crc);
}

}  // namespace taskpoller::store
