#include "http/types.hpp"

#include <strings.h>

#include <stdexcept>

namespace taskpoller::http {

std::string_view to_string(scheme s) noexcept {
    return s == scheme::https ? "https" : "http";
}

std::string_view to_string(method m) noexcept {
    switch (m) {
        case method::get:
            return "GET";
        case method::head:
            return "HEAD";
        case method::post:
            return "POST";
        case method::put:
            return "PUT";
        case method::patch:
            return "PATCH";
        case method::del:
            return "DELETE";
    }
    return "?";
}

std::string_view to_string(failure_class c) noexcept {
    return c == failure_class::not_sent ? "not_sent" : "outcome_unknown";
}

std::string_view to_string(failure_stage s) noexcept {
    switch (s) {
        case failure_stage::invalid_request:
            return "invalid_request";
        case failure_stage::pool_wait:
            return "pool_wait";
        case failure_stage::resolve:
            return "resolve";
        case failure_stage::connect:
            return "connect";
        case failure_stage::tls_handshake:
            return "tls_handshake";
        case failure_stage::write:
            return "write";
        case failure_stage::read:
            return "read";
    }
    return "?";
}

const std::string* response::header(std::string_view name) const noexcept {
    for (const auto& [n, v] : headers)
        if (n.size() == name.size() && ::strncasecmp(n.data(), name.data(), n.size()) == 0)
            return &v;
    return nullptr;
}

void throw_exception_from_error(const error& e, const boost::source_location&) {
    throw std::runtime_error(e.message);
}

}  // namespace taskpoller::http
