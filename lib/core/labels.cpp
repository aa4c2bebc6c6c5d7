#include "core/labels.hpp"

#include <fmt/format.h>

namespace taskpoller::core {
namespace {

bool key_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '/' || c == '-';
}

std::string shown(std::string_view s) {
    std::string out;
    for (char c : s.substr(0, 64)) {
        auto u = static_cast<unsigned char>(c);
        out += (u < 0x20 || u >= 0x7f) ? '?' : c;
    }
    if (s.size() > 64) out += "...";
    return out;
}

}  // namespace

result<void> validate_label(std::string_view key, std::string_view value) {
    if (key.empty() || key.size() > max_label_key) {
        return error{
            fmt::format("label key \"{}\" must be 1 to {} characters", shown(key), max_label_key)};
    }
    for (char c : key) {
        if (!key_char(c)) {
            return error{
                fmt::format("label key \"{}\" may only contain A-Z a-z 0-9 . _ / -", shown(key))};
        }
    }
    if (value.size() > max_label_value) {
        return error{fmt::format("label \"{}\" value is longer than {} characters", shown(key),
                                 max_label_value)};
    }
    for (char c : value) {
        auto u = static_cast<unsigned char>(c);
        if (u < 0x20 || u == 0x7f) {
            return error{
                fmt::format("label \"{}\" value contains a control character", shown(key))};
        }
    }
    return {};
}

result<void> validate_labels(const labels& l) {
    if (l.size() > max_labels) {
        return error{fmt::format("at most {} labels are allowed, got {}", max_labels, l.size())};
    }
    for (const auto& [k, v] : l) {
        if (auto r = validate_label(k, v); !r) return r;
    }
    return {};
}

result<std::pair<std::string, std::string>> parse_label(std::string_view text) {
    auto eq = text.find('=');
    if (eq == std::string_view::npos) {
        return error{fmt::format("label \"{}\" is not of the form key=value", shown(text))};
    }
    auto key = text.substr(0, eq);
    auto value = text.substr(eq + 1);
    if (auto r = validate_label(key, value); !r) return r.error();
    return std::pair{std::string(key), std::string(value)};
}

}  // namespace taskpoller::core
