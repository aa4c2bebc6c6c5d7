#include "sim/v3_verifier.hpp"

#include <algorithm>
#include <cctype>
#include <vector>

#include "qcloud/signer.hpp"
#include "qcloud/tc3.hpp"

namespace taskpoller::sim::v3 {

namespace tc3 = qcloud::tc3;

namespace {

// utc_date() is defined up to the end of year 9999.
constexpr std::int64_t last_timestamp = 253402300799;

error signature_failure(std::string message) {
    return {"AuthFailure.SignatureFailure", std::move(message)};
}

bool has_upper(std::string_view s) {
    return std::any_of(s.begin(), s.end(),
                       [](char c) { return std::isupper(static_cast<unsigned char>(c)) != 0; });
}

}  // namespace

verifier::verifier(const config& cfg)
    : expiry_check_(cfg.replay_check), window_s_(cfg.timestamp_window.count()) {
    for (const auto& a : cfg.accounts) keys_[a.secret_id] = a.secret_key;
}

std::optional<error> verifier::verify(std::span<const header_field> headers, std::string_view host,
                                      std::string_view body, std::int64_t timestamp,
                                      std::int64_t now_s) const {
    auto auth = find_header(headers, "authorization");
    if (!auth || auth->empty())
        return error{"AuthFailure.InvalidAuthorization", "the Authorization header is missing"};
    auto parsed = tc3::parse_authorization(*auth);
    if (!parsed)
        return error{"AuthFailure.InvalidAuthorization",
                     "the Authorization header is not TC3-HMAC-SHA256 Credential=..., "
                     "SignedHeaders=..., Signature=..."};
    auto key = keys_.find(std::string(parsed->secret_id));
    if (key == keys_.end()) return error{"AuthFailure.SecretIdNotFound", "SecretId not found"};
    if (timestamp > last_timestamp)
        return error{"AuthFailure.SignatureExpire", "X-TC-Timestamp is out of range"};

    const auto date = tc3::utc_date(timestamp);
    const auto service = tc3::service_of_host(host);
    if (parsed->date != date)
        return signature_failure("credential scope date " + std::string(parsed->date) +
                                 " is not the UTC date of X-TC-Timestamp (" + date + ")");
    if (parsed->service != service)
        return signature_failure("credential scope service " + std::string(parsed->service) +
                                 " does not match the host's service " + std::string(service));

    // Exactly the headers SignedHeaders names, with their values as received.
    std::vector<tc3::header> signed_headers;
    bool content_type = false, host_signed = false;
    std::string_view names = parsed->signed_headers;
    while (true) {
        auto semi = names.find(';');
        auto name = names.substr(0, semi);
        if (name.empty() || has_upper(name))
            return signature_failure("SignedHeaders must list lowercase header names");
        for (const auto& h : signed_headers)
            if (h.name == name) return signature_failure("SignedHeaders names a header twice");
        std::optional<std::string_view> value;
        if (name == "host") {
            value = tc3::host_without_port(host);
            host_signed = true;
        } else {
            value = find_header(headers, name);
            content_type = content_type || name == "content-type";
        }
        if (!value)
            return signature_failure("SignedHeaders names " + std::string(name) +
                                     ", which the request does not carry");
        signed_headers.push_back({name, *value});
        if (semi == std::string_view::npos) break;
        names.remove_prefix(semi + 1);
    }
    if (!content_type || !host_signed)
        return signature_failure("SignedHeaders must include content-type and host");

    const auto derived = tc3::derive_key(key->second, date, service);
    auto matches = [&](std::span<const tc3::header> hs) {
        auto canonical = tc3::canonical_request("POST", hs, body);
        auto expected = tc3::signature(derived, tc3::string_to_sign(timestamp, service, canonical));
        return qcloud::constant_time_equal(expected, parsed->signature);
    };
    bool ok = matches(signed_headers);
    if (!ok) {
        // The documentation lowercases header values (the official demo signs
        // "x-tc-action:describeinstances"); the SDKs sign them verbatim. Accept either.
        std::vector<std::string> lowered;
        lowered.reserve(signed_headers.size());
        bool differs = false;
        for (const auto& h : signed_headers) {
            std::string v(h.value);
            for (auto& c : v) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
            differs = differs || v != h.value;
            lowered.push_back(std::move(v));
        }
        if (differs) {
            auto lower_headers = signed_headers;
            for (std::size_t i = 0; i < lower_headers.size(); ++i)
                lower_headers[i].value = lowered[i];
            ok = matches(lower_headers);
        }
    }
    if (!ok) return signature_failure("signature verification failed");

    if (expiry_check_) {
        auto skew = timestamp - now_s;
        if (skew > window_s_ || skew < -window_s_)
            return error{"AuthFailure.SignatureExpire", "X-TC-Timestamp is more than " +
                                                            std::to_string(window_s_) +
                                                            " seconds away from the server time"};
    }
    return std::nullopt;
}

}  // namespace taskpoller::sim::v3
