#include "qcloud/signer.hpp"

#include <openssl/evp.h>
#include <openssl/core_names.h>
#include <openssl/params.h>

#include <algorithm>
#include <cstring>
#include <vector>
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

namespace {

// OpenSSL 3's one-shot HMAC() looks the algorithm up by name on every call, which dominated the
// simulator's profile. Fetch HMAC once per process and keep one keyed context per (key, digest)
// per thread; EVP_MAC_init with a null key re-initialises a context with the key it already has.
struct keyed_mac {
    std::string key;
    signature_method method;
    EVP_MAC_CTX* ctx = nullptr;
};

struct mac_cache {
    static constexpr std::size_t capacity = 8;
    std::vector<keyed_mac> entries;
    std::size_t next_victim = 0;
    ~mac_cache() {
        for (auto& e : entries) EVP_MAC_CTX_free(e.ctx);
    }
};

EVP_MAC* hmac_algorithm() {
    static EVP_MAC* mac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
    return mac;
}

EVP_MAC_CTX* new_keyed_ctx(std::string_view key, signature_method m) {
    EVP_MAC_CTX* ctx = EVP_MAC_CTX_new(hmac_algorithm());
    if (ctx == nullptr) throw std::runtime_error("EVP_MAC_CTX_new failed");
    char digest[16];
    std::strcpy(digest, m == signature_method::hmac_sha256 ? "SHA256" : "SHA1");
    OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                           OSSL_PARAM_construct_end()};
    // HMAC accepts an empty key; OpenSSL wants a non-null pointer for it.
    static const unsigned char empty = 0;
    const auto* k = key.empty() ? &empty : reinterpret_cast<const unsigned char*>(key.data());
    if (EVP_MAC_init(ctx, k, key.size(), params) != 1) {
        EVP_MAC_CTX_free(ctx);
        throw std::runtime_error("EVP_MAC_init failed");
    }
    return ctx;
}

EVP_MAC_CTX* keyed_ctx(std::string_view key, signature_method m) {
    thread_local mac_cache cache;
    for (auto& e : cache.entries) {
        if (e.method == m && e.key == key) {
            if (EVP_MAC_init(e.ctx, nullptr, 0, nullptr) != 1) throw std::runtime_error("EVP_MAC_init failed");
            return e.ctx;
        }
    }
    keyed_mac fresh{std::string(key), m, new_keyed_ctx(key, m)};
    if (cache.entries.size() < mac_cache::capacity) {
        cache.entries.push_back(std::move(fresh));
        return cache.entries.back().ctx;
    }
    auto& victim = cache.entries[cache.next_victim++ % mac_cache::capacity];
    EVP_MAC_CTX_free(victim.ctx);
    victim = std::move(fresh);
    return victim.ctx;
}

}  // namespace

std::string compute_signature(std::string_view secret_key, signature_method m,
                              std::string_view string_to_sign) {
    EVP_MAC_CTX* ctx = keyed_ctx(secret_key, m);
    unsigned char mac[EVP_MAX_MD_SIZE];
    std::size_t mac_len = 0;
    if (EVP_MAC_update(ctx, reinterpret_cast<const unsigned char*>(string_to_sign.data()),
                       string_to_sign.size()) != 1 ||
        EVP_MAC_final(ctx, mac, &mac_len, sizeof mac) != 1) {
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
