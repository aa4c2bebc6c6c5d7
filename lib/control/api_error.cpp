#include "control/api_error.hpp"

#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <stdexcept>

namespace taskpoller::control {

namespace json = boost::json;

void throw_exception_from_error(const api_error& e, const boost::source_location&) {
    throw std::runtime_error(e.code + ": " + e.message);
}

namespace {
api_error make(unsigned status, const char* code, std::string message) {
    return api_error{status, code, std::move(message)};
}
}  // namespace

api_error bad_request(std::string m) {
    return make(400, "bad_request", std::move(m));
}
api_error invalid_json(std::string m) {
    return make(400, "invalid_json", std::move(m));
}
api_error forbidden(std::string m) {
    return make(403, "forbidden", std::move(m));
}
api_error not_found(std::string m) {
    return make(404, "not_found", std::move(m));
}
api_error method_not_allowed(std::string m) {
    return make(405, "method_not_allowed", std::move(m));
}
api_error conflict(std::string m) {
    return make(409, "conflict", std::move(m));
}
api_error payload_too_large(std::string m) {
    return make(413, "payload_too_large", std::move(m));
}
api_error unsupported_media_type(std::string m) {
    return make(415, "unsupported_media_type", std::move(m));
}
api_error header_too_large(std::string m) {
    return make(431, "header_too_large", std::move(m));
}
api_error too_many_requests(std::string m) {
    return make(429, "too_many_requests", std::move(m));
}
api_error internal_error() {
    return make(500, "internal", "internal error; the daemon log has the details");
}
api_error unavailable(std::string m) {
    return make(503, "unavailable", std::move(m));
}
api_error shutting_down() {
    return make(503, "shutting_down", "the daemon is shutting down");
}

namespace {
// Length of the valid UTF-8 sequence at the start of `s`, or 0 when there is none.
std::size_t utf8_sequence_length(std::string_view s) {
    auto byte = [&](std::size_t i) { return static_cast<unsigned char>(s[i]); };
    const unsigned char b0 = byte(0);
    if (b0 < 0x80) return 1;
    std::size_t n = 0;
    unsigned char lo = 0x80, hi = 0xBF;  // the range of the second byte
    if (b0 >= 0xC2 && b0 <= 0xDF) {
        n = 2;
    } else if (b0 >= 0xE0 && b0 <= 0xEF) {
        n = 3;
        if (b0 == 0xE0) lo = 0xA0;  // overlong
        if (b0 == 0xED) hi = 0x9F;  // surrogates
    } else if (b0 >= 0xF0 && b0 <= 0xF4) {
        n = 4;
        if (b0 == 0xF0) lo = 0x90;  // overlong
        if (b0 == 0xF4) hi = 0x8F;  // above U+10FFFF
    } else {
        return 0;
    }
    if (s.size() < n || byte(1) < lo || byte(1) > hi) return 0;
    for (std::size_t i = 2; i < n; ++i)
        if (byte(i) < 0x80 || byte(i) > 0xBF) return 0;
    return n;
}
}  // namespace

std::string valid_utf8(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    while (!text.empty()) {
        const std::size_t n = utf8_sequence_length(text);
        if (n == 0) {
            out += "\xEF\xBF\xBD";  // U+FFFD REPLACEMENT CHARACTER
            text.remove_prefix(1);
        } else {
            out.append(text.substr(0, n));
            text.remove_prefix(n);
        }
    }
    return out;
}

std::string to_json(const api_error& e) {
    json::value v = {{"error", {{"code", valid_utf8(e.code)}, {"message", valid_utf8(e.message)}}}};
    return json::serialize(v);
}

}  // namespace taskpoller::control
