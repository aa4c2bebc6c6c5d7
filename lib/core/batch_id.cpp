#include "core/batch_id.hpp"

namespace taskpoller::core {
namespace {

constexpr std::string_view alphabet = "0123456789abcdefghjkmnpqrstvwxyz";
constexpr std::size_t digits = 12;

int digit_value(char c) noexcept {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    auto pos = alphabet.find(c);
    return pos == std::string_view::npos ? -1 : static_cast<int>(pos);
}

}  // namespace

std::string format_batch_id(std::uint64_t value) {
    std::string s(2 + digits, '0');
    s[0] = 'b';
    s[1] = '-';
    value &= batch_id_mask;
    for (std::size_t i = 0; i < digits; ++i) {
        s[s.size() - 1 - i] = alphabet[value & 31];
        value >>= 5;
    }
    return s;
}

std::optional<std::uint64_t> parse_batch_id(std::string_view text) noexcept {
    if (text.size() != 2 + digits || text[0] != 'b' || text[1] != '-') return std::nullopt;
    std::uint64_t v = 0;
    for (char c : text.substr(2)) {
        int d = digit_value(c);
        if (d < 0) return std::nullopt;
        v = (v << 5) | static_cast<std::uint64_t>(d);
    }
    return v;
}

batch_id_generator::batch_id_generator(std::optional<std::uint64_t> seed)
    : rng_(seed ? *seed : (std::uint64_t{std::random_device{}()} << 32 | std::random_device{}())),
      counter_(static_cast<std::uint32_t>(rng_() & 0xffff)) {}

std::uint64_t batch_id_generator::next() {
    counter_ = (counter_ + 1) & ((1u << 28) - 1);
    std::uint64_t random = rng_() & 0xffffffffu;
    return (std::uint64_t{counter_} << 32) | random;
}

}  // namespace taskpoller::core
