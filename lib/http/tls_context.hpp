#pragma once
// Internal to lib/http: the OpenSSL client context shared by every TLS connection of a client.

#include <memory>

#include "http/client.hpp"

namespace boost::asio::ssl {
class context;
}

namespace taskpoller::http::detail {

/// TLS 1.2+ client context trusting options.ca_file, or the system store when it is empty.
/// Throws std::invalid_argument when the CA file cannot be loaded (a start-up error).
std::unique_ptr<boost::asio::ssl::context> make_tls_context(const client_options& options);

}  // namespace taskpoller::http::detail
