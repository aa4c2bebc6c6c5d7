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

std::string to_json(const api_error& e) {
    json::value v = {{"error", {{"code", e.code}, {"message", e.message}}}};
    return json::serialize(v);
}

}  // namespace taskpoller::control
