#pragma once
// The connect_to override (like curl --connect-to): connect somewhere else while the request keeps
// its real host name for the Host header, SNI and certificate verification.

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "core/result.hpp"

namespace taskpoller::http {

/// Where a TCP connection goes. In a parsed target, port 0 means "the request's port".
struct endpoint_name {
    std::string host;  ///< name or address literal, IPv6 without brackets
    std::uint16_t port = 0;
};

/// Parses "address:port", "[v6address]:port" or a bare "address". Fails on an empty host, a port
/// outside 1..65535, junk after a bracketed address, or an unbracketed IPv6 address with a port.
core::result<endpoint_name> parse_connect_target(std::string_view text);

class connect_to_table {
  public:
    connect_to_table() = default;

    /// Parses a map of key → target; keys are "host:port", "host" or "*". Fails naming the first
    /// bad entry.
    static core::result<connect_to_table> parse(const std::map<std::string, std::string>& entries);

    /// The endpoint to connect to for (host, port): the most specific match ("host:port", then
    /// "host", then "*"), or (host, port) itself when nothing matches.
    endpoint_name lookup(std::string_view host, std::uint16_t port) const;

    bool empty() const noexcept { return entries_.empty(); }

  private:
    std::map<std::string, endpoint_name, std::less<>> entries_;  // key lower-cased
};

}  // namespace taskpoller::http
