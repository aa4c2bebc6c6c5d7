#include "qcloud/tc3.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <algorithm>
#include <charconv>
#include <stdexcept>
#include <vector>

#include "qcloud/hmac.hpp"

namespace taskpoller::qcloud::tc3 {
namespace {

constexpr std::string_view scope_terminator = "tc3_request";

bool is_digit(char c) noexcept {
    return c >= '0' && c <= '9';
}

std::string_view trim(std::string_view s) noexcept {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

// Floor division, so that a (meaningless) negative timestamp still lands on the day before.
std::int64_t floor_div(std::int64_t a, std::int64_t b) noexcept {
    std::int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

struct civil {
    std::int64_t year;
    unsigned month;
    unsigned day;
};

// Howard Hinnant's civil_from_days: the proleptic Gregorian date `days` after 1970-01-01.
civil civil_from_days(std::int64_t days) noexcept {
    days += 719468;
    const std::int64_t era = floor_div(days, 146097);
    const auto doe = static_cast<unsigned>(days - era * 146097);                 // [0, 146096]
    const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;  // [0, 399]
    const std::int64_t y = static_cast<std::int64_t>(yoe) + era * 400;
    const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);  // [0, 365]
    const unsigned mp = (5 * doy + 2) / 153;                       // [0, 11], March first
    const unsigned d = doy - (153 * mp + 2) / 5 + 1;               // [1, 31]
    const unsigned m = mp < 10 ? mp + 3 : mp - 9;                  // [1, 12]
    return {m <= 2 ? y + 1 : y, m, d};
}

bool is_lower_hex(std::string_view s) noexcept {
    return std::all_of(s.begin(), s.end(),
                       [](char c) { return is_digit(c) || (c >= 'a' && c <= 'f'); });
}

bool is_date(std::string_view s) noexcept {
    if (s.size() != 10 || s[4] != '-' || s[7] != '-') return false;
    for (std::size_t i : {0, 1, 2, 3, 5, 6, 8, 9})
        if (!is_digit(s[i])) return false;
    return true;
}

// Every string below is built by appending into one buffer: a poll signs one request, and this
// runs for each (docs/performance.md, "Where a 3.0 poll's extra CPU goes").

void append_digits(std::string& out, std::uint64_t v, int width) {
    char buf[20];
    for (int i = width - 1; i >= 0; --i) {
        buf[i] = static_cast<char>('0' + v % 10);
        v /= 10;
    }
    out.append(buf, static_cast<std::size_t>(width));
}

// "YYYY-MM-DD"; a year outside 0..9999 (meaningless here) is printed modulo 10000.
void append_utc_date(std::string& out, std::int64_t unix_seconds) {
    const civil c = civil_from_days(floor_div(unix_seconds, 86400));
    const auto year = static_cast<std::uint64_t>(((c.year % 10000) + 10000) % 10000);
    append_digits(out, year, 4);
    out.push_back('-');
    append_digits(out, c.month, 2);
    out.push_back('-');
    append_digits(out, c.day, 2);
}

void append_integer(std::string& out, std::int64_t v) {
    char buf[24];
    auto r = std::to_chars(buf, buf + sizeof buf, v);
    out.append(buf, r.ptr);
}

void append_sha256_hex(std::string& out, std::string_view bytes) {
    static const EVP_MD* md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int size = 0;
    if (md == nullptr || EVP_Digest(bytes.data(), bytes.size(), digest, &size, md, nullptr) != 1)
        throw std::runtime_error("SHA-256 computation failed in OpenSSL");  // a bug, not input
    detail::append_lower_hex(out, digest, size);
}

void append_canonical_request(std::string& out, std::string_view method,
                              std::span<const header> sorted, std::string_view payload) {
    out.append(method).append("\n/\n\n");
    for (const auto& h : sorted) out.append(h.name).append(":").append(trim(h.value)).append("\n");
    out.push_back('\n');
    for (std::size_t i = 0; i < sorted.size(); ++i) {
        if (i > 0) out.push_back(';');
        out.append(sorted[i].name);
    }
    out.push_back('\n');
    append_sha256_hex(out, payload);
}

void append_string_to_sign(std::string& out, std::int64_t unix_seconds, std::string_view date,
                           std::string_view service, std::string_view canonical_request) {
    out.append(algorithm).push_back('\n');
    append_integer(out, unix_seconds);
    out.push_back('\n');
    out.append(date).append("/").append(service).append("/").append(scope_terminator);
    out.push_back('\n');
    append_sha256_hex(out, canonical_request);
}

}  // namespace

std::string utc_date(std::int64_t unix_seconds) {
    std::string out;
    append_utc_date(out, unix_seconds);
    return out;
}

std::string_view host_without_port(std::string_view host) noexcept {
    auto colon = host.rfind(':');
    if (colon == std::string_view::npos) return host;
    // "[::1]:8080" keeps its brackets, as a URL's hostname does; a bare IPv6 address (no
    // brackets, several colons) has no port to drop.
    if (host.front() != '[' && host.find(':') != colon) return host;
    if (host.front() == '[' && (colon == 0 || host[colon - 1] != ']')) return host;
    std::string_view port = host.substr(colon + 1);
    if (!std::all_of(port.begin(), port.end(), is_digit)) return host;
    return host.substr(0, colon);
}

std::string_view service_of_host(std::string_view host) noexcept {
    std::string_view h = host_without_port(host);
    return h.substr(0, h.find('.'));
}

std::string sha256_hex(std::string_view bytes) {
    std::string out;
    append_sha256_hex(out, bytes);
    return out;
}

std::string canonical_request(std::string_view method, std::span<const header> headers,
                              std::string_view payload) {
    const auto by_name = [](const header& a, const header& b) { return a.name < b.name; };
    std::string out;
    out.reserve(method.size() + 4 + 64 + 2 + headers.size() * 64);
    if (std::is_sorted(headers.begin(), headers.end(), by_name)) {  // what a client signs
        append_canonical_request(out, method, headers, payload);
        return out;
    }
    std::vector<header> sorted(headers.begin(), headers.end());
    std::stable_sort(sorted.begin(), sorted.end(), by_name);
    append_canonical_request(out, method, sorted, payload);
    return out;
}

std::string string_to_sign(std::int64_t unix_seconds, std::string_view service,
                           std::string_view canonical_request) {
    std::string date;
    append_utc_date(date, unix_seconds);
    std::string out;
    out.reserve(algorithm.size() + 24 + date.size() + service.size() + 16 + 64);
    append_string_to_sign(out, unix_seconds, date, service, canonical_request);
    return out;
}

signing_key derive_key(std::string_view secret_key, std::string_view date,
                       std::string_view service) {
    using detail::hmac_digest;
    // The intermediate keys are raw bytes, not hex, and each is used once: no cache.
    std::string first = "TC3";
    first.append(secret_key);
    unsigned char k_date[detail::max_mac_size];
    unsigned char k_service[detail::max_mac_size];
    signing_key k_signing{};
    unsigned char k_out[detail::max_mac_size];
    auto as_view = [](const unsigned char* k, std::size_t n) {
        return std::string_view(reinterpret_cast<const char*>(k), n);
    };
    std::size_t n = detail::hmac_once(hmac_digest::sha256, first, date, k_date);
    n = detail::hmac_once(hmac_digest::sha256, as_view(k_date, n), service, k_service);
    n = detail::hmac_once(hmac_digest::sha256, as_view(k_service, n), scope_terminator, k_out);
    std::copy_n(k_out, std::min(n, k_signing.size()), k_signing.begin());
    OPENSSL_cleanse(first.data(), first.size());
    OPENSSL_cleanse(k_date, sizeof k_date);
    OPENSSL_cleanse(k_service, sizeof k_service);
    OPENSSL_cleanse(k_out, sizeof k_out);
    return k_signing;
}

const signing_key& key_cache::get(std::string_view secret_key, std::int64_t unix_seconds,
                                  std::string_view service) {
    const std::int64_t day = floor_div(unix_seconds, 86400);
    auto it = keys_.find(service);
    if (it == keys_.end() || it->second.day != day) {
        const signing_key k = derive_key(secret_key, utc_date(unix_seconds), service);
        if (it == keys_.end()) it = keys_.emplace(std::string(service), entry{}).first;
        it->second = {day, k};
        ++derived_;
    }
    return it->second.key;
}

namespace {
void append_signature(std::string& out, const signing_key& key, std::string_view string_to_sign) {
    unsigned char mac[detail::max_mac_size];
    std::size_t n =
        detail::hmac(detail::hmac_digest::sha256,
                     std::string_view(reinterpret_cast<const char*>(key.data()), key.size()),
                     string_to_sign, mac);
    detail::append_lower_hex(out, mac, n);
}
}  // namespace

std::string signature(const signing_key& key, std::string_view string_to_sign) {
    std::string out;
    append_signature(out, key, string_to_sign);
    return out;
}

std::string authorization(const credentials& creds, const request& r) {
    return authorization_with_key(
        creds.secret_id(),
        derive_key(creds.secret_key_for_signing(), utc_date(r.timestamp), service_of_host(r.host)),
        r);
}

std::string authorization_with_key(std::string_view secret_id, const signing_key& key,
                                   const request& r) {
    const std::string_view service = service_of_host(r.host);
    const header headers[] = {{"content-type", r.content_type},  // sorted by name
                              {"host", host_without_port(r.host)}};
    std::string date;  // 10 characters: no allocation
    append_utc_date(date, r.timestamp);
    std::string canonical;
    canonical.reserve(32 + r.content_type.size() + r.host.size() + 64);
    append_canonical_request(canonical, "POST", headers, r.payload);
    std::string to_sign;
    to_sign.reserve(algorithm.size() + 24 + date.size() + service.size() + 16 + 64);
    append_string_to_sign(to_sign, r.timestamp, date, service, canonical);
    std::string out;
    out.reserve(algorithm.size() + secret_id.size() + date.size() + service.size() + 140);
    out.append(algorithm).append(" Credential=").append(secret_id).append("/").append(date);
    out.append("/").append(service).append("/").append(scope_terminator);
    out.append(", SignedHeaders=").append(default_signed_headers).append(", Signature=");
    append_signature(out, key, to_sign);
    return out;
}

std::optional<parsed_authorization> parse_authorization(std::string_view value) noexcept {
    if (!value.starts_with(algorithm) || value.size() <= algorithm.size() ||
        value[algorithm.size()] != ' ')
        return std::nullopt;
    value.remove_prefix(algorithm.size() + 1);

    // Three parts, "name=value", separated by commas (the SDKs put one space after each), each
    // exactly once, in any order.
    std::optional<std::string_view> credential, signed_headers, sig;
    while (true) {
        const auto comma = value.find(',');
        const std::string_view part = trim(value.substr(0, comma));
        const auto eq = part.find('=');
        if (eq == std::string_view::npos) return std::nullopt;
        const std::string_view name = part.substr(0, eq);
        std::optional<std::string_view>* slot = name == "Credential"      ? &credential
                                                : name == "SignedHeaders" ? &signed_headers
                                                : name == "Signature"     ? &sig
                                                                          : nullptr;
        if (slot == nullptr || slot->has_value()) return std::nullopt;
        *slot = part.substr(eq + 1);
        if (comma == std::string_view::npos) break;
        value.remove_prefix(comma + 1);
    }
    if (!credential || !signed_headers || !sig) return std::nullopt;

    // Credential = ID/DATE/SERVICE/tc3_request, read from the right.
    std::string_view c = *credential;
    if (!c.ends_with(scope_terminator) || c.size() == scope_terminator.size() ||
        c[c.size() - scope_terminator.size() - 1] != '/')
        return std::nullopt;
    c.remove_suffix(scope_terminator.size() + 1);
    const auto service_slash = c.rfind('/');
    if (service_slash == std::string_view::npos) return std::nullopt;
    const std::string_view service = c.substr(service_slash + 1);
    c = c.substr(0, service_slash);
    const auto date_slash = c.rfind('/');
    if (date_slash == std::string_view::npos) return std::nullopt;
    parsed_authorization out;
    out.secret_id = c.substr(0, date_slash);
    out.date = c.substr(date_slash + 1);
    out.service = service;
    out.signed_headers = *signed_headers;
    out.signature = *sig;
    if (out.secret_id.empty() || !is_date(out.date) || out.service.empty() ||
        out.signed_headers.empty() || out.signature.size() != 64 || !is_lower_hex(out.signature))
        return std::nullopt;
    return out;
}

}  // namespace taskpoller::qcloud::tc3
