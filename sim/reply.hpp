#pragma once
// API 2.0 answer bodies as the simulator writes them (docs/protocol.md "Responses").

#include <boost/json/object.hpp>
#include <string>

namespace taskpoller::sim {

/// A non-zero API answer: `{"code":C,"message":M,"codeDesc":D}`.
struct api_error {
    int code = 0;
    std::string message;
};

/// The codeDesc the simulator sends with `code` ("Success", "InvalidParameter", ...).
const char* code_desc(int code) noexcept;

/// `{"code":code,"message":message,"codeDesc":code_desc(code)}`.
boost::json::object envelope(int code, std::string message = {});

/// envelope(e.code, e.message).
inline boost::json::object error_body(const api_error& e) {
    return envelope(e.code, e.message);
}

}  // namespace taskpoller::sim
