#pragma once
// The one error shape of the control API: {"error":{"code":"not_found","message":"..."}} with an
// honest HTTP status. Handlers return these as values (never throw them).

#include <boost/system/result.hpp>
#include <string>
#include <string_view>

namespace taskpoller::control {

/// An error fit to send to a client: `code` is a stable machine word, `message` a sentence for
/// humans (never a secret, never an internal exception text).
struct api_error {
    unsigned status = 500;
    std::string code;
    std::string message;
};

/// Called by expected<T>::value() when it holds an error: throws std::runtime_error(message).
[[noreturn]] void throw_exception_from_error(const api_error& e, const boost::source_location&);

/// What request-parsing helpers return: a value, or the error to answer with.
template <class T>
using expected = boost::system::result<T, api_error>;

// Constructors for each status the framework uses (status, code) — see docs/api.md "Errors".
api_error bad_request(std::string message);             // 400 bad_request
api_error invalid_json(std::string message);            // 400 invalid_json
api_error forbidden(std::string message);               // 403 forbidden
api_error not_found(std::string message);               // 404 not_found
api_error method_not_allowed(std::string message);      // 405 method_not_allowed
api_error conflict(std::string message);                // 409 conflict
api_error payload_too_large(std::string message);       // 413 payload_too_large
api_error unsupported_media_type(std::string message);  // 415 unsupported_media_type
api_error header_too_large(std::string message);        // 431 header_too_large
api_error too_many_requests(std::string message);       // 429 too_many_requests
api_error internal_error();                             // 500 internal, generic message only
api_error unavailable(std::string message);             // 503 unavailable
api_error shutting_down();                              // 503 shutting_down

/// Serialises `e` as the JSON error document (no trailing newline). Messages often echo request
/// bytes (a path, a query name), which need not be UTF-8: invalid sequences are replaced by
/// U+FFFD so the document is always valid JSON.
std::string to_json(const api_error& e);

/// `text` with each byte that does not start a valid UTF-8 sequence (RFC 3629: no overlongs, no
/// surrogates, nothing above U+10FFFF) replaced by U+FFFD; valid text is returned unchanged.
std::string valid_utf8(std::string_view text);

}  // namespace taskpoller::control
