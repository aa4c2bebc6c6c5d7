#pragma once
// Percent-encoding as API 2.0 needs it on the wire (docs/protocol.md "Encoding"): UTF-8 bytes,
// RFC 3986 unreserved characters (A-Z a-z 0-9 - . _ ~) kept, everything else %XX with upper-case
// hex.

#include <string>
#include <string_view>

#include "core/result.hpp"
#include "qcloud/params.hpp"

namespace taskpoller::qcloud {

/// Encodes every byte outside the RFC 3986 unreserved set; space becomes %20.
std::string percent_encode(std::string_view raw);

/// percent_encode(raw) appended to `out` (no temporary string).
void append_percent_encoded(std::string& out, std::string_view raw);

/// The length percent_encode(raw) would have.
std::size_t percent_encoded_size(std::string_view raw) noexcept;

/// Appends form_encode(params) to `out`, for any range of {name, value} (param, param_view).
template <class Params>
void append_form_encoded(std::string& out, const Params& params) {
    std::size_t size = 0;
    for (const auto& p : params)
        size += percent_encoded_size(p.name) + percent_encoded_size(p.value) + 2;
    out.reserve(out.size() + size);
    bool first = true;
    for (const auto& p : params) {
        if (!first) out.push_back('&');
        first = false;
        append_percent_encoded(out, p.name);
        out.push_back('=');
        append_percent_encoded(out, p.value);
    }
}

/// Joins `name=value` pairs with `&`, names and values percent-encoded. Used for a POST body
/// and for a GET query string alike.
std::string form_encode(const param_list& params);

/// Decodes %XX (either case) and, when `plus_as_space`, `+` as a space. Fails on a `%` not
/// followed by two hex digits.
core::result<std::string> percent_decode(std::string_view encoded, bool plus_as_space = true);

/// Splits an application/x-www-form-urlencoded string (or a query string) into decoded
/// parameters, in order. Empty pieces (`a=1&&b=2`) are skipped; a piece without `=` is a name
/// with an empty value. Fails on invalid %-sequences or an empty name, saying which.
core::result<param_list> form_decode(std::string_view encoded);

}  // namespace taskpoller::qcloud
