#include "http/connect_to.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>

namespace taskpoller::http {
namespace {

std::string lower(std::string_view s) {
    std::string out(s);
    std::transform(out.begin(), out.end(), out.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return out;
}

bool parse_port(std::string_view text, std::uint16_t& port) {
    unsigned value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc{} || end != text.data() + text.size() || value == 0 || value > 65535)
        return false;
    port = static_cast<std::uint16_t>(value);
    return true;
}

bool has_space(std::string_view s) {
    return std::any_of(s.begin(), s.end(), [](unsigned char c) { return std::isspace(c) != 0; });
}

core::error bad_target(std::string_view text, std::string_view why) {
    return core::error{"connect_to target '" + std::string(text) + "': " + std::string(why)};
}

}  // namespace

core::result<endpoint_name> parse_connect_target(std::string_view text) {
    if (text.empty()) return bad_target(text, "empty");
    if (has_space(text)) return bad_target(text, "contains whitespace");
    endpoint_name out;
    std::string_view rest;
    if (text.front() == '[') {
        auto close = text.find(']');
        if (close == std::string_view::npos) return bad_target(text, "missing ']'");
        out.host = std::string(text.substr(1, close - 1));
        rest = text.substr(close + 1);
        if (!rest.empty() && rest.front() != ':')
            return bad_target(text, "expected ':port' after ']'");
    } else {
        auto colon = text.find(':');
        if (colon != std::string_view::npos && text.find(':', colon + 1) != std::string_view::npos)
            return bad_target(text, "an IPv6 address needs brackets: [addr]:port");
        out.host = std::string(text.substr(0, colon));
        if (colon != std::string_view::npos) rest = text.substr(colon);
    }
    if (out.host.empty()) return bad_target(text, "empty host");
    if (!rest.empty() && !parse_port(rest.substr(1), out.port))
        return bad_target(text, "port must be 1..65535");
    return out;
}

core::result<connect_to_table> connect_to_table::parse(
    const std::map<std::string, std::string>& entries) {
    connect_to_table table;
    for (const auto& [key, value] : entries) {
        if (key.empty() || has_space(key))
            return core::error{"connect_to key '" + key + "' must be host:port, host or *"};
        std::string normalized = "*";
        if (key != "*") {
            auto parsed_key = parse_connect_target(key);
            if (!parsed_key)
                return core::error{"connect_to key '" + key + "' must be host:port, host or *"};
            normalized = lower(parsed_key->host);
            if (parsed_key->port != 0) normalized += ":" + std::to_string(parsed_key->port);
        }
        auto target = parse_connect_target(value);
        if (!target) return target.error();
        table.entries_.emplace(std::move(normalized), std::move(*target));
    }
    return table;
}

endpoint_name connect_to_table::lookup(std::string_view host, std::uint16_t port) const {
    const std::string name = lower(host);
    auto found = entries_.find(name + ":" + std::to_string(port));
    if (found == entries_.end()) found = entries_.find(name);
    if (found == entries_.end()) found = entries_.find("*");
    if (found == entries_.end()) return endpoint_name{std::string(host), port};
    endpoint_name out = found->second;
    if (out.port == 0) out.port = port;
    return out;
}

}  // namespace taskpoller::http
