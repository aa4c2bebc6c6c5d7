#include "qcloud/request.hpp"

#include <fmt/format.h>

#include <array>
#include <charconv>
#include <random>
#include <vector>

#include "qcloud/encoding.hpp"

namespace taskpoller::qcloud {
namespace {

constexpr std::array<std::string_view, 8> common_names = {
    "Action", "Region", "Timestamp", "Nonce", "SecretId", "Signature", "SignatureMethod", "Token"};

}  // namespace

bool is_common_name(std::string_view name) noexcept {
    for (auto c : common_names) {
        if (c == name) return true;
    }
    return false;
}

std::string_view to_string(http_method m) noexcept {
    return m == http_method::get ? "GET" : "POST";
}

nonce_fn random_nonce_source() {
    auto engine = std::make_shared<std::mt19937_64>(std::random_device{}());
    return [engine]() -> std::uint64_t {
        std::uniform_int_distribution<std::uint64_t> dist(1, 2147483647);
        return dist(*engine);
    };
}

std::int64_t system_unix_seconds() {
    return std::chrono::duration_cast<std::chrono::seconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

core::result<signed_request> build_request(const credentials& creds, const request_spec& spec,
                                           const clock_fn& clock, const nonce_fn& nonce) {
    std::vector<param_view> params;
    params.reserve(spec.params.size());
    for (const auto& p : spec.params) params.push_back({p.name, p.value});
    request_view view{spec.host, spec.method, spec.action, spec.region, params, spec.signature};
    return build_request(creds, view, clock, nonce);
}

core::result<signed_request> build_request(const credentials& creds, const request_view& spec,
                                           const clock_fn& clock, const nonce_fn& nonce) {
    if (spec.host.empty()) return core::error{"request has no host"};
    if (spec.action.empty()) return core::error{"request has no action"};
    for (const auto& p : spec.params) {
        if (is_common_name(p.name)) {
            return core::error{
                fmt::format("parameter {} is a common parameter and is set by taskpoller", p.name)};
        }
    }
    signed_request out;
    out.method = spec.method;
    out.host = std::string(spec.host);
    out.timestamp = clock();
    out.nonce = nonce();
    if (out.nonce == 0) return core::error{"nonce source returned 0; a Nonce must be positive"};

    // The parameters by reference, in the order they are sent; signing sorts a copy of the
    // views, so nothing but the string to sign and the encoded form is allocated.
    char timestamp[24], nonce_text[24];
    auto ts_end = std::to_chars(timestamp, timestamp + sizeof timestamp, out.timestamp).ptr;
    auto nonce_end = std::to_chars(nonce_text, nonce_text + sizeof nonce_text, out.nonce).ptr;
    // Per-thread scratch vectors keep their capacity from call to call (build_request does not
    // call itself; the views never outlive this call).
    thread_local std::vector<param_view> all, sorted;
    all.clear();
    all.push_back({"Action", spec.action});
    if (!spec.region.empty()) all.push_back({"Region", spec.region});
    all.push_back({"Timestamp", std::string_view(timestamp, ts_end - timestamp)});
    all.push_back({"Nonce", std::string_view(nonce_text, nonce_end - nonce_text)});
    all.push_back({"SecretId", creds.secret_id()});
    all.push_back({"SignatureMethod", to_string(spec.signature)});
    if (!creds.token().empty()) all.push_back({"Token", creds.token()});
    all.insert(all.end(), spec.params.begin(), spec.params.end());

    std::string to_sign;
    sorted.assign(all.begin(), all.end());
    append_canonical_string(to_sign, to_string(spec.method), spec.host, api_path, sorted);
    char signature[max_signature_size];
    std::size_t signature_size =
        compute_signature_into(signature, creds.secret_key_for_signing(), spec.signature, to_sign);
    all.push_back({"Signature", std::string_view(signature, signature_size)});

    std::string encoded;
    if (spec.method == http_method::get) {
        encoded.append(api_path).push_back('?');
    } else {
        out.target = std::string(api_path);
    }
    append_form_encoded(encoded, all);
    if (spec.method == http_method::post) {
        out.body = std::move(encoded);
    } else {
        out.target = std::move(encoded);
    }
    return out;
}

}  // namespace taskpoller::qcloud
