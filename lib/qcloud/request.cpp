#include "qcloud/request.hpp"

#include <array>
#include <fmt/format.h>
#include <random>

#include "qcloud/encoding.hpp"

namespace taskpoller::qcloud {
namespace {

constexpr std::array<std::string_view, 8> common_names = {
    "Action", "Region", "Timestamp", "Nonce", "SecretId", "Signature", "SignatureMethod", "Token"};

bool is_common_name(std::string_view name) noexcept {
    for (auto c : common_names) {
        if (c == name) return true;
    }
    return false;
}

}  // namespace

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
    out.host = spec.host;
    out.timestamp = clock();
    out.nonce = nonce();
    if (out.nonce == 0) return core::error{"nonce source returned 0; a Nonce must be positive"};

    param_list all;
    all.reserve(spec.params.size() + 8);
    all.push_back({"Action", spec.action});
    if (!spec.region.empty()) all.push_back({"Region", spec.region});
    all.push_back({"Timestamp", std::to_string(out.timestamp)});
    all.push_back({"Nonce", std::to_string(out.nonce)});
    all.push_back({"SecretId", creds.secret_id()});
    all.push_back({"SignatureMethod", std::string(to_string(spec.signature))});
    if (!creds.token().empty()) all.push_back({"Token", creds.token()});
    all.insert(all.end(), spec.params.begin(), spec.params.end());

    std::string to_sign = canonical_string(to_string(spec.method), spec.host, api_path, all);
    all.push_back({"Signature", compute_signature(creds.secret_key_for_signing(), spec.signature,
                                                  to_sign)});
    std::string encoded = form_encode(all);
    if (spec.method == http_method::post) {
        out.target = std::string(api_path);
        out.body = std::move(encoded);
    } else {
        out.target = fmt::format("{}?{}", api_path, encoded);
    }
    return out;
}

}  // namespace taskpoller::qcloud
