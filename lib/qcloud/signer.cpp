#include "qcloud/signer.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <stdexcept>

namespace taskpoller::qcloud {

std::string_view to_string(signature_method m) noexcept {
    return m == signature_method::hmac_sha256 ? "HmacSHA256" : "HmacSHA1";
}

signature_method signature_method_from_param(const std::string* value) noexcept {
    return value != nullptr && *value == "HmacSHA256" ? signature_method::hmac_sha256
                                                      : signature_method::hmac_sha1;
}

credentials::credentials(std::string secret_id, std::string secret_key, std::string token)
    : secret_id_(std::move(secret_id)), secret_key_(std::move(secret_key)), token_(std::move(token)) {}

std::string canonical_string(std::string_view method, std::string_view host, std::string_view path,
                             const param_list& params) {
    // Names get the `_` → `.` rule before sorting, because the server sorts the rewritten names.
    std::vector<std::pair<std::string, std::string_view>> sorted;
    sorted.reserve(params.size());
    for (const auto& p : params) {
        if (p.name == "Signature") continue;
        std::string name = p.name;
        std::replace(name.begin(), name.end(), '_', '.');
        sorted.emplace_back(std::move(name), p.value);
    }
    // std::string's operator< compares char_traits<char>, which is byte-wise unsigned.
    std::stable_sort(sorted.begin(), sorted.end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });

    std::string out;
    for (char c : method) out.push_back(c >= 'a' && c <= 'z' ? static_cast<char>(c - 32) : c);
    out.append(host).append(path).push_back('?');
    bool first = true;
    for (const auto& [name, value] : sorted) {
        if (!first) out.push_back('&');
        first = false;
        out.append(name).push_back('=');
        out.append(value);
    }
    return out;
}

std::string compute_signature(std::string_view secret_key, signature_method m,
                              std::string_view string_to_sign) {
    const EVP_MD* md = m == signature_method::hmac_sha256 ? EVP_sha256() : EVP_sha1();
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int mac_len = 0;
    if (HMAC(md, secret_key.data(), static_cast<int>(secret_key.size()),
             reinterpret_cast<const unsigned char*>(string_to_sign.data()), string_to_sign.size(),
             mac, &mac_len) == nullptr) {
        throw std::runtime_error("HMAC computation failed in OpenSSL");  // a bug, not bad input
    }
    std::string out(4 * ((mac_len + 2) / 3), '\0');
    int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), mac,
                            static_cast<int>(mac_len));
    out.resize(static_cast<std::size_t>(n));
    return out;
}

bool constant_time_equal(std::string_view a, std::string_view b) noexcept {
    if (a.size() != b.size()) return false;
    unsigned char diff = 0;
    for (std::size_t i = 0; i < a.size(); ++i) {
        diff |= static_cast<unsigned char>(a[i] ^ b[i]);
    }
    return diff == 0;
}

}  // namespace taskpoller::qcloud
