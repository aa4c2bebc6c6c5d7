// The cloud and services sections.

#include <fmt/format.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstring>

#include "config/sections.hpp"

namespace taskpoller::config::detail {
namespace {

using namespace std::chrono_literals;

bool all_of_chars(std::string_view s, std::string_view extra) {
    for (char c : s) {
        if (!std::isalnum(static_cast<unsigned char>(c)) &&
            extra.find(c) == std::string_view::npos) {
            return false;
        }
    }
    return !s.empty();
}

bool is_host_name(std::string_view s) {
    return all_of_chars(s, ".-") && s.front() != '.' && s.back() != '.' && s.front() != '-';
}

// "host:port" or "[v6]:port" into a rule; nullopt with an error message otherwise.
std::optional<connect_to_rule> parse_connect_to(std::string_view text, std::string& why) {
    const auto colon = text.rfind(':');
    if (colon == std::string_view::npos || colon == 0) {
        why = fmt::format("expected \"address:port\", got \"{}\"", text);
        return std::nullopt;
    }
    connect_to_rule rule;
    std::string_view address = text.substr(0, colon);
    if (address.front() == '[') {
        if (address.back() != ']' || address.size() < 3) {
            why = fmt::format("bad IPv6 address in \"{}\"; write it as [::1]:443", text);
            return std::nullopt;
        }
        address = address.substr(1, address.size() - 2);
    } else if (!is_host_name(address)) {
        why = fmt::format("bad address in \"{}\"", text);
        return std::nullopt;
    }
    const auto port_text = text.substr(colon + 1);
    unsigned port = 0;
    auto [p, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (ec != std::errc() || p != port_text.data() + port_text.size() || port == 0 ||
        port > 65535) {
        why = fmt::format("bad port in \"{}\": expected 1 to 65535", text);
        return std::nullopt;
    }
    rule.address = std::string(address);
    rule.port = static_cast<std::uint16_t>(port);
    return rule;
}

void read_connect_to(map_reader& m, cloud_config& out) {
    auto node = m.get("connect_to");
    if (!node) return;
    const auto path = m.child("connect_to");
    std::string why;
    if (node->IsScalar()) {
        if (auto rule = parse_connect_to(node->Scalar(), why))
            out.connect_to.push_back(*rule);
        else
            m.ctx().error(node->Mark(), path, why);
        return;
    }
    if (!node->IsMap()) {
        m.ctx().error(node->Mark(), path,
                      fmt::format("expected \"address:port\" or a mapping of host names to "
                                  "\"address:port\", got {}",
                                  describe(*node)));
        return;
    }
    map_reader hosts(m.ctx(), *node, path, node->Mark());
    for (auto& [host, value] : hosts.take_all()) {
        const auto host_path = join_path(path, host);
        if (!is_host_name(host)) {
            m.ctx().error(hosts.key_mark(host), host_path, "expected a host name");
            continue;
        }
        auto text = scalar_value(m.ctx(), value, host_path, "\"address:port\"");
        if (!text) continue;
        if (auto rule = parse_connect_to(*text, why)) {
            rule->host = host;
            out.connect_to.push_back(*rule);
        } else {
            m.ctx().error(value.Mark(), host_path, why);
        }
    }
    hosts.finish();
}

}  // namespace

void read_cloud(map_reader& root, cloud_config& out) {
    auto m = section(root, "cloud");
    if (!m.get("region") && m.is_mapping()) {
        m.ctx().error(m.mark(), m.child("region"), "required (for example ap-guangzhou)");
    } else if (std::string region; read_string(m, "region", region)) {
        if (all_of_chars(region, "-_"))
            out.region = region;
        else
            m.ctx().error(
                m.mark_of("region"), m.child("region"),
                fmt::format("\"{}\" does not look like a region, such as ap-guangzhou", region));
    }
    read_enum(m, "protocol", out.protocol, {{"v2", protocol_kind::v2}, {"v3", protocol_kind::v3}});
    read_enum(m, "endpoint", out.endpoint,
              {{"nearest", endpoint_kind::nearest},
               {"regional", endpoint_kind::regional},
               {"intl", endpoint_kind::intl}});
    if (std::string suffix; read_string(m, "host_suffix", suffix)) {
        if (is_host_name(suffix))
            out.host_suffix = suffix;
        else
            m.ctx().error(m.mark_of("host_suffix"), m.child("host_suffix"),
                          fmt::format("\"{}\" is not a host name", suffix));
    }
    read_enum(m, "scheme", out.scheme, {{"https", url_scheme::https}, {"http", url_scheme::http}});
    read_connect_to(m, out);
    if (read_string(m, "ca_file", out.ca_file, string_rule::absolute_path_or_empty) &&
        !out.ca_file.empty() && ::access(out.ca_file.c_str(), R_OK) != 0) {
        m.ctx().error(m.mark_of("ca_file"), m.child("ca_file"),
                      fmt::format("cannot read {}: {}", out.ca_file, std::strerror(errno)));
    }
    if (read_bool(m, "insecure_skip_verify", out.insecure_skip_verify) &&
        out.insecure_skip_verify) {
        m.ctx().warn(severity::warning, m.mark_of("insecure_skip_verify"),
                     m.child("insecure_skip_verify"),
                     "TLS certificate verification is OFF: anyone on the network path can read "
                     "and alter API calls. Use only against a test server");
    }
    read_enum(m, "method", out.method, {{"POST", http_method::post}, {"GET", http_method::get}});
    read_duration(m, "connect_timeout", out.connect_timeout, 1ms, 10min);
    read_duration(m, "request_timeout", out.request_timeout, 1ms, 1h);
    read_uint(m, "max_connections_per_host", out.max_connections_per_host, 1u, 1024u);
    m.finish();
}

}  // namespace taskpoller::config::detail
