#pragma once
// A string that must never be printed: a SecretId or SecretKey loaded from the configuration.

#include <string>
#include <string_view>

namespace taskpoller::config {

/// Holds a secret. Deliberately has no operator<<, no fmt formatter and no implicit conversion,
/// so it cannot reach a log line, an error message or a JSON view by accident; the only accessor
/// is named for its one legitimate use. The bytes are wiped when the value is destroyed or
/// overwritten.
class secret_string {
  public:
    secret_string() = default;
    explicit secret_string(std::string value) : value_(std::move(value)) {}
    secret_string(const secret_string&) = default;
    secret_string(secret_string&& other) noexcept;
    secret_string& operator=(const secret_string& other);
    secret_string& operator=(secret_string&& other) noexcept;
    ~secret_string();

    bool empty() const noexcept { return value_.empty(); }
    /// The secret itself, for signing requests. Never log it or return it to a client.
    std::string_view reveal_for_signing() const noexcept { return value_; }

    /// Replaces every occurrence of the secret in `text` by "<redacted>", so a diagnostic that
    /// quotes it by accident (a YAML alias, a secret written in key position) shows nothing.
    /// Secrets shorter than 4 bytes are left alone (they would garble every message).
    void redact_in(std::string& text) const;

    /// Compares in time that depends only on the lengths (reload uses it to see a rotation).
    friend bool operator==(const secret_string& a, const secret_string& b) noexcept;

  private:
    void wipe() noexcept;
    std::string value_;
};

}  // namespace taskpoller::config
