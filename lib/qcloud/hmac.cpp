#include "qcloud/hmac.hpp"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include <cstring>
#include <stdexcept>
#include <vector>

namespace taskpoller::qcloud::detail {
namespace {

// OpenSSL 3's one-shot HMAC() looks the algorithm up by name on every call, which dominated the
// simulator's profile. Fetch HMAC once per process and keep one keyed context per (key, digest)
// per thread; EVP_MAC_init with a null key re-initialises a context with the key it already has.
struct keyed_mac {
    std::string key;
    hmac_digest digest;
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

EVP_MAC_CTX* new_keyed_ctx(std::string_view key, hmac_digest d) {
    EVP_MAC_CTX* ctx = EVP_MAC_CTX_new(hmac_algorithm());
    if (ctx == nullptr) throw std::runtime_error("EVP_MAC_CTX_new failed");
    char digest[16];
    std::strcpy(digest, d == hmac_digest::sha256 ? "SHA256" : "SHA1");
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

EVP_MAC_CTX* keyed_ctx(std::string_view key, hmac_digest d) {
    thread_local mac_cache cache;
    for (auto& e : cache.entries) {
        if (e.digest == d && e.key == key) {
            if (EVP_MAC_init(e.ctx, nullptr, 0, nullptr) != 1)
                throw std::runtime_error("EVP_MAC_init failed");
            return e.ctx;
        }
    }
    keyed_mac fresh{std::string(key), d, new_keyed_ctx(key, d)};
    if (cache.entries.size() < mac_cache::capacity) {
        cache.entries.push_back(std::move(fresh));
        return cache.entries.back().ctx;
    }
    auto& victim = cache.entries[cache.next_victim++ % mac_cache::capacity];
    EVP_MAC_CTX_free(victim.ctx);
    victim = std::move(fresh);
    return victim.ctx;
}

std::size_t finish(EVP_MAC_CTX* ctx, std::string_view message, unsigned char* out) {
    std::size_t mac_len = 0;
    if (EVP_MAC_update(ctx, reinterpret_cast<const unsigned char*>(message.data()),
                       message.size()) != 1 ||
        EVP_MAC_final(ctx, out, &mac_len, max_mac_size) != 1) {
        throw std::runtime_error("HMAC computation failed in OpenSSL");  // a bug, not bad input
    }
    return mac_len;
}

}  // namespace

std::size_t hmac(hmac_digest d, std::string_view key, std::string_view message,
                 unsigned char* out) {
    return finish(keyed_ctx(key, d), message, out);
}

std::size_t hmac_once(hmac_digest d, std::string_view key, std::string_view message,
                      unsigned char* out) {
    EVP_MAC_CTX* ctx = new_keyed_ctx(key, d);
    struct freer {
        EVP_MAC_CTX* c;
        ~freer() { EVP_MAC_CTX_free(c); }
    } guard{ctx};
    return finish(ctx, message, out);
}

void append_lower_hex(std::string& out, const unsigned char* bytes, std::size_t size) {
    static constexpr char digits[] = "0123456789abcdef";
    out.reserve(out.size() + 2 * size);
    for (std::size_t i = 0; i < size; ++i) {
        out.push_back(digits[bytes[i] >> 4]);
        out.push_back(digits[bytes[i] & 0x0f]);
    }
}

}  // namespace taskpoller::qcloud::detail
