#include <boost/asio/ssl/context.hpp>
#include <fstream>

#include "http/client.hpp"
#include "http/connect_to.hpp"
#include "http/tls_context.hpp"

namespace taskpoller::http {

core::result<void> validate_options(const client_options& o) {
    using namespace std::chrono_literals;
    if (o.connect_timeout <= 0ms) return core::error{"http: connect_timeout must be positive"};
    if (o.tls_handshake_timeout <= 0ms)
        return core::error{"http: tls_handshake_timeout must be positive"};
    if (o.request_timeout <= 0ms) return core::error{"http: request_timeout must be positive"};
    if (o.idle_timeout <= 0ms) return core::error{"http: idle_timeout must be positive"};
    if (o.stale_check_after < 0ms)
        return core::error{"http: stale_check_after must not be negative"};
    if (o.max_connections_per_host == 0)
        return core::error{"http: max_connections_per_host must be at least 1"};
    if (o.body_limit == 0) return core::error{"http: body_limit must be positive"};
    if (o.header_limit < 256) return core::error{"http: header_limit must be at least 256 bytes"};
    if (auto table = connect_to_table::parse(o.connect_to); !table)
        return core::error{"http: " + table.error().message};
    if (!o.ca_file.empty() && !std::ifstream(o.ca_file).good())
        return core::error{"http: ca_file '" + o.ca_file + "' cannot be read"};
    return {};
}

namespace detail {

std::unique_ptr<boost::asio::ssl::context> make_tls_context(const client_options& o) {
    namespace ssl = boost::asio::ssl;
    auto ctx = std::make_unique<ssl::context>(ssl::context::tls_client);
    ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                     ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 |
                     ssl::context::no_compression);
    boost::system::error_code ec;
    if (o.ca_file.empty())
        ctx->set_default_verify_paths(ec);
    else
        ctx->load_verify_file(o.ca_file, ec);
    if (ec && !o.ca_file.empty())
        throw std::invalid_argument("http: cannot load CA file '" + o.ca_file +
                                    "': " + ec.message());
    ctx->set_verify_mode(o.verify_peer ? ssl::verify_peer : ssl::verify_none);
    return ctx;
}

}  // namespace detail
}  // namespace taskpoller::http
