#include "qcloud/signer.hpp"

#include <openssl/evp.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "qcloud/hmac.hpp"

namespace taskpoller::qcloud {

std::string_view to_string(signature_method m) noexcept {
    return m == signature_method::hmac_sha256 ? "HmacSHA256" : "HmacSHA1";
}

signature_method signature_method_from_param(const std::string* value) noexcept {
    return value != nullptr && *value == "HmacSHA256" ? signature_method::hmac_sha256
                                                      : signature_method::hmac_sha1;
}

credentials::credentials(std::string secret_id, std::string secret_key, std::string token)
    : secret_id_(std::move(secret_id)),
      secret_key_(std::move(secret_key)),
      token_(std::move(token)) {}

namespace {

// Byte-wise (unsigned) comparison of two names as the server sees them: `_` read as `.`.
bool rewritten_less(std::string_view a, std::string_view b) noexcept {
    const std::size_t n = std::min(a.size(), b.size());
    for (std::size_t i = 0; i < n; ++i) {
        auto x = static_cast<unsigned char>(a[i] == '_' ? '.' : a[i]);
        auto y = static_cast<unsigned char>(b[i] == '_' ? '.' : b[i]);
        if (x != y) return x < y;
    }
    return a.size() < b.size();
}

}  // namespace

void append_canonical_string(std::string& out, std::string_view method, std::string_view host,
                             std::string_view path, std::span<param_view> params) {
    // Names get the `_` -> `.` rule before sorting, because the server sorts the rewritten names.
    // Stable, so repeated names keep their order. A request has a dozen parameters or so:
    // insertion sort, which allocates nothing; long lists (CVM batches) take std::stable_sort.
    auto less = [](const param_view& a, const param_view& b) {
        return rewritten_less(a.name, b.name);
    };
    if (params.size() <= 32) {
        for (std::size_t i = 1; i < params.size(); ++i) {
            param_view v = params[i];
            std::size_t j = i;
            for (; j > 0 && less(v, params[j - 1]); --j) params[j] = params[j - 1];
            params[j] = v;
        }
    } else {
        std::stable_sort(params.begin(), params.end(), less);
    }

    std::size_t size = method.size() + host.size() + path.size() + 1;
    for (const auto& p : params) size += p.name.size() + p.value.size() + 2;
    out.reserve(out.size() + size);
    for (char c : method) out.push_back(c >= 'a' && c <= 'z' ? static_cast<char>(c - 32) : c);
    out.append(host).append(path).push_back('?');
    bool first = true;
    for (const auto& [name, value] : params) {
        if (name == "Signature") continue;
        if (!first) out.push_back('&');
        first = false;
        for (char c : name) out.push_back(c == '_' ? '.' : c);
        out.push_back('=');
        out.append(value);
    }
}

std::string canonical_string(std::string_view method, std::string_view host, std::string_view path,
                             const param_list& params) {
    std::vector<param_view> views;
    views.reserve(params.size());
    for (const auto& p : params) views.push_back({p.name, p.value});
    std::string out;
    append_canonical_string(out, method, host, path, views);
    return out;
}

std::string compute_signature(std::string_view secret_key, signature_method m,
                              std::string_view string_to_sign) {
    char buf[max_signature_size + 1];
    return std::string(buf, compute_signature_into(buf, secret_key, m, string_to_sign));
}

std::size_t compute_signature_into(char* out, std::string_view secret_key, signature_method m,
                                   std::string_view string_to_sign) {
    unsigned char mac[detail::max_mac_size];
    std::size_t mac_len =
        detail::hmac(m == signature_method::hmac_sha256 ? detail::hmac_digest::sha256
                                                        : detail::hmac_digest::sha1,
                     secret_key, string_to_sign, mac);
    // EVP_EncodeBlock NUL-terminates: 44 characters plus the NUL for SHA-256's 32 bytes.
    unsigned char encoded[max_signature_size + 1];
    int n = EVP_EncodeBlock(encoded, mac, static_cast<int>(mac_len));
    std::memcpy(out, encoded, static_cast<std::size_t>(n));
    return static_cast<std::size_t>(n);
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
