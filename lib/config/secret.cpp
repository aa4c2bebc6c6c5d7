#include "config/secret.hpp"

#include <openssl/crypto.h>

#include <utility>

namespace taskpoller::config {

secret_string::secret_string(secret_string&& other) noexcept : value_(std::move(other.value_)) {
    other.wipe();
}

secret_string& secret_string::operator=(const secret_string& other) {
    if (this != &other) {
        wipe();
        value_ = other.value_;
    }
    return *this;
}

secret_string& secret_string::operator=(secret_string&& other) noexcept {
    if (this != &other) {
        wipe();
        value_ = std::move(other.value_);
        other.wipe();
    }
    return *this;
}

secret_string::~secret_string() {
    wipe();
}

void secret_string::wipe() noexcept {
    // Cleanse the whole buffer, not just size(): a moved-from short string keeps its old bytes
    // in the inline buffer. Growing to capacity() never allocates.
    value_.resize(value_.capacity());
    OPENSSL_cleanse(value_.data(), value_.size());
    value_.clear();
}

bool operator==(const secret_string& a, const secret_string& b) noexcept {
    if (a.value_.size() != b.value_.size()) return false;
    unsigned char diff = 0;
    for (std::size_t i = 0; i < a.value_.size(); ++i) {
        diff |= static_cast<unsigned char>(a.value_[i] ^ b.value_[i]);
    }
    return diff == 0;
}

void secret_string::redact_in(std::string& text) const {
    constexpr std::string_view mask = "<redacted>";
    if (value_.size() < 4) return;
    for (auto at = text.find(value_); at != std::string::npos;
         at = text.find(value_, at + mask.size()))
        text.replace(at, value_.size(), mask);
}

}  // namespace taskpoller::config
