#include "qcloud/encoding.hpp"

#include <fmt/format.h>

namespace taskpoller::qcloud {
namespace {

bool is_unreserved(unsigned char c) noexcept {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_' || c == '~';
}

int hex_value(char c) noexcept {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

}  // namespace

std::size_t percent_encoded_size(std::string_view raw) noexcept {
    std::size_t n = raw.size();
    for (char ch : raw) {
        if (!is_unreserved(static_cast<unsigned char>(ch))) n += 2;
    }
    return n;
}

void append_percent_encoded(std::string& out, std::string_view raw) {
    static constexpr char hex[] = "0123456789ABCDEF";
    // Unreserved runs are copied in one piece; the common parameter values are all unreserved.
    std::size_t i = 0;
    while (i < raw.size()) {
        std::size_t run = i;
        while (run < raw.size() && is_unreserved(static_cast<unsigned char>(raw[run]))) ++run;
        out.append(raw.data() + i, run - i);
        if (run == raw.size()) break;
        auto c = static_cast<unsigned char>(raw[run]);
        const char escaped[3] = {'%', hex[c >> 4], hex[c & 0x0F]};
        out.append(escaped, 3);
        i = run + 1;
    }
}

std::string percent_encode(std::string_view raw) {
    std::string out;
    out.reserve(percent_encoded_size(raw));
    append_percent_encoded(out, raw);
    return out;
}

std::string form_encode(const param_list& params) {
    std::string out;
    append_form_encoded(out, params);
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
