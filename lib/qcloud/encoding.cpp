#include "qcloud/encoding.hpp"

#include <fmt/format.h>

namespace taskpoller::qcloud {
namespace {

bool is_unreserved(unsigned char c) noexcept {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           c == '-' || c == '.' || c == '_' || c == '~';
}

int hex_value(char c) noexcept {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

}  // namespace

std::string percent_encode(std::string_view raw) {
    static constexpr char hex[] = "0123456789ABCDEF";
    std::string out;
    out.reserve(raw.size() + raw.size() / 2);
    for (char ch : raw) {
        auto c = static_cast<unsigned char>(ch);
        if (is_unreserved(c)) {
            out.push_back(ch);
        } else {
            out.push_back('%');
            out.push_back(hex[c >> 4]);
            out.push_back(hex[c & 0x0F]);
        }
    }
    return out;
}

std::string form_encode(const param_list& params) {
    std::string out;
    for (const auto& p : params) {
        if (!out.empty()) out.push_back('&');
        out += percent_encode(p.name);
        out.push_back('=');
        out += percent_encode(p.value);
    }
    return out;
}

core::result<std::string> percent_decode(std::string_view encoded, bool plus_as_space) {
    std::string out;
    out.reserve(encoded.size());
    for (std::size_t i = 0; i < encoded.size(); ++i) {
        char c = encoded[i];
        if (c == '+' && plus_as_space) {
            out.push_back(' ');
        } else if (c == '%') {
            int hi = i + 2 < encoded.size() ? hex_value(encoded[i + 1]) : -1;
            int lo = i + 2 < encoded.size() ? hex_value(encoded[i + 2]) : -1;
            if (hi < 0 || lo < 0) {
                return core::error{
                    fmt::format("invalid percent-encoding at offset {}: '%' must be followed by "
                                "two hex digits",
                                i)};
            }
            out.push_back(static_cast<char>(hi * 16 + lo));
            i += 2;
        } else {
            out.push_back(c);
        }
    }
    return core::ok(std::move(out));
}

core::result<param_list> form_decode(std::string_view encoded) {
    param_list out;
    std::size_t pos = 0;
    while (pos <= encoded.size()) {
        std::size_t amp = encoded.find('&', pos);
        if (amp == std::string_view::npos) amp = encoded.size();
        std::string_view piece = encoded.substr(pos, amp - pos);
        pos = amp + 1;
        if (piece.empty()) continue;
        std::size_t eq = piece.find('=');
        std::string_view raw_name = piece.substr(0, eq);
        std::string_view raw_value =
            eq == std::string_view::npos ? std::string_view{} : piece.substr(eq + 1);
        auto name = percent_decode(raw_name);
        if (!name) return core::error{"in a parameter name: " + name.error().message};
        if (name->empty()) return core::error{"a parameter has an empty name"};
        auto value = percent_decode(raw_value);
        if (!value) {
            return core::error{fmt::format("in the value of {}: {}", *name, value.error().message)};
        }
        out.push_back({std::move(*name), std::move(*value)});
    }
    return out;
}

}  // namespace taskpoller::qcloud
